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


def plot_variants(board: pd.DataFrame, metric: str, path: Path) -> Path | None:
    """Best value and mean seconds per epoch of each gate variant, side by side."""
    completed = board[board["state"] == "COMPLETE"]
    if completed.empty:
        return None
    plt = _pyplot()
    by_cell = completed.groupby("cell").agg(
        value=("value", "max"), seconds=("mean_epoch_seconds", "mean")
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
    if not board.empty and (variants := plot_variants(board, metric, folder / "variants.png")):
        written.append(variants)
    return written
