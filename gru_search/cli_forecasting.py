"""The forecasting side of the ``gru-search`` command line.

``gru-search run --task forecasting --horizon H`` searches the ``forecasting`` space on a
long CSV/Parquet table or aeon's shipped series (:mod:`gru_search.forecast_data`) with
:class:`~gru_search.forecast_search.GRUForecastSearch`, exports the refit forecaster and
writes, beside the study, the forecast of the next ``H`` steps (``forecast.csv``), the
chosen trial's forecast of its validation window (``validation_forecast.csv``), a plot of
both against the actual values (``forecast.png``), the leaderboard and Optuna's plots.
``gru-search predict`` and ``gru-search export`` hand exported forecasters and
forecasting studies here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from gru_search.exceptions import CommandError
from gru_search.run_folder import (
    check_run_folder,
    export_origin,
    keep_previous_export,
    prepare_run_folder,
    print_leaderboard,
    redact,
    run_provenance,
    sqlite_url,
)

#: Column names of a forecasting table when the command line names none (Nixtla's).
FORECAST_COLUMNS = ("unique_id", "ds", "y")
#: ``--data`` of ``run --task forecasting`` when none is given: ships inside aeon.
DEFAULT_FORECAST_DATA = "aeon:airline"


def columns(args: argparse.Namespace, defaults: tuple[str, str, str]) -> tuple[str, str, str]:
    """``--series``, ``--time`` and ``--target``, each falling back to ``defaults``."""
    given = (args.series, args.time, args.target)
    return tuple(g if g is not None else d for g, d in zip(given, defaults, strict=True))


def _data_source(spec: str) -> str:
    """``--data`` as recorded in a study: aeon names as they are, files by absolute path."""
    return spec if spec.startswith("aeon:") else str(Path(spec).resolve())


def check_run_arguments(args: argparse.Namespace) -> None:
    """Refuse ``run --task forecasting`` options that have no meaning for it."""
    if args.horizon is None:
        raise CommandError(
            "--task forecasting needs --horizon H: the number of steps to forecast past "
            "each series' end"
        )
    in_process = "forecasting trials run in this process on rolling-origin windows"
    refused = {
        "--workers": (args.workers != 1, in_process),
        "--class-weight": (args.class_weight is not None, "a forecast has no classes"),
        "--cv": (args.cv is not None, f"{in_process} (see --windows and --step-size)"),
        "--split": (args.split is not None, f"{in_process} (see --windows and --step-size)"),
    }
    for option, (given, why) in refused.items():
        if given:
            raise CommandError(f"{option} is not supported with --task forecasting: {why}")


def run_forecasting(args: argparse.Namespace) -> int:
    """``gru-search run --task forecasting``: search, export, forecast, report."""
    from gru_search import GRUForecastSearch, load_space, save
    from gru_search.dashboard_records import attach_artifacts
    from gru_search.forecast_covariates import CovariateColumns
    from gru_search.forecast_data import load_future, load_series
    from gru_search.forecasting import check_series
    from gru_search.report import plot_forecasts, write_report
    from gru_search.storage import release_connections
    from gru_search.studies import quiet_optuna

    check_run_arguments(args)
    space = load_space(args.space or "forecasting")  # a bad space fails before the data
    if space.task != "forecasting":
        raise CommandError(
            f"--space {args.space} is a space for labelled sequences; --task forecasting "
            "needs one with `task: forecasting` (e.g. --space forecasting)"
        )
    id_col, time_col, target_col = columns(args, FORECAST_COLUMNS)
    covariates = covariate_columns(args)
    if covariates["future"] and args.future is None:
        raise CommandError(
            f"--future-exog {','.join(covariates['future'])} needs --future FILE: their "
            f"values at the next {args.horizon} time stamps of every series, to forecast "
            "past the data's end"
        )
    if args.future is not None and not covariates["future"]:
        raise CommandError("--future holds future covariates: name them with --future-exog")
    source = args.data or DEFAULT_FORECAST_DATA
    frame, name = load_series(source, id_col=id_col, time_col=time_col, target_col=target_col)
    series = check_series(
        frame,
        id_col=id_col,
        time_col=time_col,
        target_col=target_col,
        covariates=CovariateColumns.of(**covariates),
    )
    future = None
    if covariates["future"]:
        future = load_future(
            args.future, id_col=id_col, time_col=time_col, columns=covariates["future"]
        )
        # a future table that misses a series fails now, not after the search
        future = aligned_future(
            args.future,
            future,
            covariates["future"],
            series,
            args.horizon,
            id_col=id_col,
            time_col=time_col,
        )
    print(describe_series(name, series), flush=True)
    horizon = args.horizon
    study_name = args.study_name or f"{name}-{space.name}-h{horizon}"
    out = Path(args.out or Path("runs") / study_name)
    check_run_folder(out, study_name)  # a wrong --out fails before the search is prepared
    storage = args.storage or sqlite_url(out / "study.db")
    search = GRUForecastSearch(
        horizon,
        space=space,
        n_trials=args.trials,
        timeout=args.timeout,
        n_windows=args.windows,
        step_size=args.step_size,
        finalists=args.finalists,
        season_length=args.season_length,
        id_col=id_col,
        time_col=time_col,
        target_col=target_col,
        past_exog=covariates["past"],
        future_exog=covariates["future"],
        static_exog=covariates["static"],
        storage=storage,
        study_name=study_name,
        refit_models=args.models,
        random_state=args.random_state,
        verbose=1,
    )
    setup = search.prepare(frame)  # too-short series fail before the run folder exists
    prepare_run_folder(out, study_name)
    print(f"study {study_name!r} in {redact(storage)}; results in {out}/", flush=True)
    extra = {
        "data": {
            "spec": _data_source(source),
            "id_col": id_col,
            "time_col": time_col,
            "target_col": target_col,
            **{f"{kind}_exog": names for kind, names in covariates.items() if names},
        },
        "forecast": {
            "horizon": horizon,
            "season_length": args.season_length,
            "models": args.models,
            "random_state": args.random_state,
        },
    }
    start = time.perf_counter()
    with quiet_optuna(1):
        search.search(setup, extra_spec=extra)
    print(f"\nsearch finished in {time.perf_counter() - start:.0f} s; leaderboard:")
    print_leaderboard(search.leaderboard())
    keep_previous_export(out / "model", search.best_trial_.number)
    origin = export_origin(
        study_name, search.best_trial_.number, search.best_score_, search.metric_, space.name
    )
    model_dir = save(search.best_estimator_, out / "model", origin=origin, overwrite=True)
    forecast = search.predict(X_future=future)
    forecast.to_csv(out / "forecast.csv", index=False)
    written = ["forecast.csv"]
    if search.validation_forecast_ is not None:
        search.validation_forecast_.to_csv(out / "validation_forecast.csv", index=False)
        written.append("validation_forecast.csv")
    plot_forecasts(
        frame,
        forecast,
        out / "forecast.png",
        validation=search.validation_forecast_,
        columns=(id_col, time_col, target_col),
    )
    written.append("forecast.png")
    files = write_report(search.study_, out, search.metric_)
    release_connections(search.study_)
    summary = {
        "study": study_name,
        "storage": redact(storage),
        "space": space.name,
        "data": extra["data"]["spec"],
        "series": len(series),
        "horizon": horizon,
        "season_length": search.best_estimator_.season_length_,
        "validation_windows": len(search.windows_),
        "best_trial": search.best_trial_.number,
        "best_params": {
            k: list(v) if isinstance(v, tuple) else v for k, v in search.best_params_.items()
        },
        f"validation_{search.metric_}": search.best_score_,
        "finalists": search.finalists_.to_dict(orient="records"),
        "refit": {
            "models": search.best_estimator_.n_models,
            "epochs": search.best_estimator_.epochs,
            "random_state": search.best_estimator_.random_state,
            "device": search.best_estimator_.device_,
        },
        "space_spec": space.to_dict(),
        "trials": search.n_trials_,
        "interrupted": search.interrupted_,
        **run_provenance(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    attach_artifacts(
        search.study_,
        [*files, out / "forecast.png", out / "summary.json"],
        store_dir=out / "artifacts",
        model_dir=model_dir,
        trial_number=search.best_trial_.number,
    )
    release_connections(search.study_)
    windows = "" if search.finalists_.empty else f" (mean over {len(search.windows_)} windows: "
    if windows:
        windows += f"{search.finalists_.iloc[0][f'mean_{search.metric_}']:.4f})"
    print(
        f"\nbest trial {search.best_trial_.number}: validation {search.metric_} "
        f"{search.best_score_:.4f}{windows}; exported to {model_dir}/"
    )
    print(f"next {horizon} steps of {len(series)} series -> {out / 'forecast.csv'}")
    print(f"report: {', '.join([*written, *(f.name for f in files)])}, summary.json")
    print(f"watch or revisit it: gru-search dashboard --storage {redact(storage)}")
    return 130 if search.interrupted_ else 0


def describe_series(name: str, series: Any) -> str:
    """One line about a set of series: count, lengths, step."""
    lengths = [len(v) for v in series.values]
    steps = {str(getattr(s, "freqstr", s)) for s in series.steps}
    return (
        f"{name}: {len(series)} series of {min(lengths)}-{max(lengths)} values, "
        f"step {', '.join(sorted(steps))}"
    )


def covariate_columns(args: argparse.Namespace) -> dict[str, list[str] | None]:
    """``--past-exog``, ``--future-exog`` and ``--static-exog``, by kind."""
    return {"past": args.past_exog, "future": args.future_exog, "static": args.static_exog}


def aligned_future(
    path: str,
    future: Any,
    columns: list[str],
    series: Any,
    horizon: int,
    *,
    id_col: str,
    time_col: str,
) -> tuple[Any, ...]:
    """``--future``'s covariates at every series' next ``horizon`` time stamps, in series
    order (what ``GRUForecaster.predict`` takes as ``X_future``); errors name the file."""
    from gru_search.forecast_covariates import future_rows

    return future_rows(
        future,
        columns,
        series.ids,
        [series.future_times(i, horizon) for i in range(len(series))],
        id_col=id_col,
        time_col=time_col,
        source=f"--future {path}",
    )


def predict_forecasts(args: argparse.Namespace, model: Any, output: Path) -> int:
    """``gru-search predict`` with an exported forecaster: the next ``horizon`` steps of
    the series stored in the export, or of the histories in ``--data`` (with ``--future``
    covariates when the forecaster reads them)."""
    from gru_search.forecast_covariates import CovariateColumns
    from gru_search.forecast_data import load_future, load_series
    from gru_search.forecasting import check_series

    if args.split is not None:
        raise CommandError("--split has no meaning for a forecaster")
    id_col, time_col, target_col = columns(args, (model.id_col, model.time_col, model.target_col))
    if args.data is None:
        frame, what = None, "the series it was trained on"
    else:
        frame, name = load_series(
            args.data, id_col=id_col, time_col=time_col, target_col=target_col
        )
        what = f"{frame[id_col].nunique()} series of {name}"
    future = None
    if args.future is not None:
        if not model.future_exog:
            raise CommandError(f"--future: {args.model} reads no future covariates")
        future = load_future(
            args.future, id_col=id_col, time_col=time_col, columns=model.future_exog
        )
    elif model.future_exog:
        raise CommandError(
            f"{args.model} reads future covariates {list(model.future_exog)}: pass --future "
            f"FILE with them at the next {model.horizon} time stamps of every series"
        )
    # the user's column names in, the model's names inside, the user's names out
    to_model = {id_col: model.id_col, time_col: model.time_col, target_col: model.target_col}
    series = model.series_
    if frame is not None:
        series = check_series(
            frame.rename(columns=to_model),
            id_col=model.id_col,
            time_col=model.time_col,
            target_col=model.target_col,
            covariates=CovariateColumns.of(model.past_exog, model.future_exog, model.static_exog),
        )
    if future is not None:
        future = aligned_future(
            args.future,
            future,
            model.future_exog,
            series,
            model.horizon,
            id_col=id_col,
            time_col=time_col,
        )
    # no --data: predict() itself, so the stored series keep the training scaler
    histories = None if frame is None else series
    forecast = model.predict(histories, future).rename(columns={v: k for k, v in to_model.items()})
    forecast.to_csv(output, index=False)
    print(f"next {model.horizon} steps of {what} -> {output} ({len(forecast)} rows)")
    return 0


def export_forecaster(
    args: argparse.Namespace, spec: dict[str, Any], trial: Any, space: Any
) -> int:
    """``gru-search export`` of a forecasting study: refit ``trial`` on the series the
    study recorded (or ``--data``) and save it."""
    from gru_search import save
    from gru_search.forecast_data import load_series
    from gru_search.forecasting import GRUForecaster
    from gru_search.trials import refit_params

    recorded = spec.get("data") or {}
    forecast = spec.get("forecast")
    if forecast is None:
        raise CommandError(
            f"study {args.study!r} was started from Python: it records no horizon or data; "
            "export its forecaster from Python (GRUForecastSearch.best_estimator_)"
        )
    source = args.data or recorded.get("spec")
    id_col, time_col, target_col = columns(
        args,
        (
            recorded.get("id_col", "unique_id"),
            recorded.get("time_col", "ds"),
            recorded.get("target_col", "y"),
        ),
    )
    frame, name = load_series(source, id_col=id_col, time_col=time_col, target_col=target_col)
    params = refit_params(space, trial)
    if forecast.get("models"):
        params["n_models"] = forecast["models"]
    # the seed `run` refit this trial with, so that the export is the same model
    seed = trial.user_attrs.get("seed", 0) if args.random_state is None else args.random_state
    estimator = GRUForecaster(
        forecast["horizon"],
        season_length=forecast.get("season_length", "auto"),
        id_col=id_col,
        time_col=time_col,
        target_col=target_col,
        past_exog=recorded.get("past_exog"),
        future_exog=recorded.get("future_exog"),
        static_exog=recorded.get("static_exog"),
        random_state=seed,
        **params,
    )
    print(f"refitting trial {trial.number} ({params}) on {name}", flush=True)
    estimator.fit(frame)
    origin = export_origin(args.study, trial.number, trial.value, spec.get("metric"), space.name)
    folder = save(estimator, args.out, origin=origin, overwrite=args.force)
    print(f"exported to {folder}/")
    return 0


__all__ = [
    "DEFAULT_FORECAST_DATA",
    "FORECAST_COLUMNS",
    "check_run_arguments",
    "columns",
    "covariate_columns",
    "describe_series",
    "export_forecaster",
    "predict_forecasts",
    "run_forecasting",
]
