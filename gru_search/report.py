"""The output folder of a run: leaderboard CSV and PNG plots a person can open."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import pandas as pd

from gru_search.leaderboard import leaderboard


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; works without a display
    import matplotlib.pyplot as plt

    return plt


def plot_variants(
    board: pd.DataFrame, metric: str, path: Path, *, lower_is_better: bool = False
) -> Path | None:
    """Best value and mean seconds per epoch of each gate variant, side by side."""
    completed = board[board["state"] == "COMPLETE"]
    if completed.empty:
        return None
    plt = _pyplot()
    by_cell = completed.groupby("cell").agg(
        value=("value", "min" if lower_is_better else "max"),
        seconds=("mean_epoch_seconds", "mean"),
    )
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(by_cell.index, by_cell["value"], color="tab:blue")
    left.set_title(f"best validation {metric} by gate variant")
    right.bar(by_cell.index, by_cell["seconds"], color="tab:orange")
    right.set_title("mean seconds per epoch by gate variant")
    for axis in (left, right):
        axis.tick_params(axis="x", rotation=45)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_report(study: optuna.Study, folder: Path, metric: str) -> list[Path]:
    """Write ``leaderboard.csv`` and the plots into ``folder``; return the files written.

    Plots that need more finished trials than the study has (parameter importances need
    two completed trials with differing parameters) are skipped, not faked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    board = leaderboard(study)
    board.to_csv(folder / "leaderboard.csv", index=False)
    written.append(folder / "leaderboard.csv")
    plt = _pyplot()
    from optuna.visualization import matplotlib as optuna_plots

    plots = {
        "optimization_history.png": optuna_plots.plot_optimization_history,
        "param_importances.png": optuna_plots.plot_param_importances,
        "intermediate_values.png": optuna_plots.plot_intermediate_values,
    }
    for name, plot in plots.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # experimental-feature warnings
                axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue  # too few trials for this plot
        axes.figure.set_size_inches(8, 5)
        axes.figure.tight_layout()
        axes.figure.savefig(folder / name, dpi=100)
        plt.close(axes.figure)
        written.append(folder / name)
    lower = study.direction == optuna.study.StudyDirection.MINIMIZE
    if not board.empty and (
        variants := plot_variants(board, metric, folder / "variants.png", lower_is_better=lower)
    ):
        written.append(variants)
    return written


def plot_forecasts(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    path: Path,
    *,
    validation: pd.DataFrame | None = None,
    columns: tuple[str, str, str] = ("unique_id", "ds", "y"),
    max_series: int = 6,
) -> Path:
    """Forecast against actuals for the first ``max_series`` series, one panel each.

    Each panel shows the end of the series' history, the forecast past its end (with the
    outermost quantile band when ``forecast`` has ``y_hat_qNN`` columns) and, given
    ``validation`` (a search's forecasts of its latest validation window, with the
    actual values), that window's forecast over the values it did not see.
    """
    id_col, time_col, target_col = columns
    plt = _pyplot()
    names = list(dict.fromkeys(forecast[id_col]))[:max_series]
    figure, axes = plt.subplots(
        len(names), 1, figsize=(9, 2.4 * len(names)), squeeze=False, sharex=False
    )
    bands = sorted(c for c in forecast.columns if c.startswith("y_hat_q"))
    for axis, name in zip(axes[:, 0], names, strict=True):
        future = forecast[forecast[id_col] == name]
        past = history[history[id_col] == name].sort_values(time_col)
        past = past.tail(max(4 * len(future), 24))
        axis.plot(past[time_col], past[target_col], color="black", lw=1, label="actual")
        axis.plot(future[time_col], future["y_hat"], color="tab:blue", label="forecast")
        if len(bands) >= 2:
            axis.fill_between(
                future[time_col],
                future[bands[0]],
                future[bands[-1]],
                color="tab:blue",
                alpha=0.2,
                label=f"{bands[0][7:]}-{bands[-1][7:]} % quantiles",
            )
        if validation is not None:
            held = validation[validation[id_col] == name]
            axis.plot(
                held[time_col],
                held["y_hat"],
                color="tab:orange",
                ls="--",
                label="validation forecast",
            )
        axis.set_title(str(name), fontsize=9, loc="left")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
