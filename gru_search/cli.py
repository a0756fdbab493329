"""The ``gru-search`` command line.

Subcommands: ``run`` (search, export, report), ``export`` (refit a stored study's trial),
``predict``, ``dashboard``, ``spaces list|show|validate``, ``fit`` (one model),
``variants``. User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gru_search.accelerators import warn_if_gpu_unused
from gru_search.exceptions import CommandError, GRUSearchError
from gru_search.lifeline import PARENT_PID_VARIABLE, terminate_as_interrupt
from gru_search.run_folder import (
    export_origin,
    keep_previous_export,
    prepare_run_folder,
    print_leaderboard,
    redact,
    run_provenance,
    sqlite_url,
)


def load_aeon(name: str) -> tuple:
    """Train and test split of a UCR/UEA dataset shipped inside aeon, channels last."""
    from gru_search.datasets import load_aeon as load

    data = load(name)
    return data.X_train, data.y_train, data.X_test, data.y_test


#: --series, --time and --target of labelled long tables when none are given.
SEQUENCE_COLUMNS = ("series", "time", "target")
#: run's --data when none is given (labelled sequences; forecasting has its own).
DEFAULT_DATA = "aeon:GunPoint"
#: --text and --target of text tables when none are given (--task text).
TEXT_COLUMNS = ("text", "label")


def _sequence_defaults(args: argparse.Namespace, task: str | None = None) -> None:
    """Fill the table options a labelled-sequence (or, for ``task="text"``, a text)
    command left unset."""
    from gru_search.cli_forecasting import columns

    if task == "text":
        if args.series is not None or args.time is not None:
            raise CommandError("--series and --time describe sequences; texts take --text")
        args.text = args.text or TEXT_COLUMNS[0]
        args.target = args.target or TEXT_COLUMNS[1]
        if getattr(args, "data", None) is None:
            raise CommandError(
                "--task text needs --data: a .csv/.parquet table with a text column (--text, "
                "default text) and a label column (--target, default label)"
            )
        return
    if getattr(args, "text", None) is not None:
        raise CommandError("--text belongs to --task text")
    args.series, args.time, args.target = columns(args, SEQUENCE_COLUMNS)
    if getattr(args, "data", None) is None and args.command in ("run", "fit"):
        args.data = DEFAULT_DATA


def _dataset(args: argparse.Namespace, *, require_target: bool = True):
    from gru_search.datasets import load_data

    return load_data(
        args.data,
        series=args.series,
        time=args.time,
        target=args.target,
        split=args.split,
        require_target=require_target,
        text=getattr(args, "text", None),
    )


def _estimator(task: str, random_state: int | None = None, class_weight: Any = None):
    from gru_search import GRUClassifier, GRURegressor, GRUTextClassifier

    if task in ("classification", "text"):
        classes = {"classification": GRUClassifier, "text": GRUTextClassifier}
        return classes[task](random_state=random_state, class_weight=class_weight)
    return GRURegressor(random_state=random_state)


def parse_class_weight(text: str | None, y: Any, task: str) -> dict[Any, float] | str | None:
    """``--class-weight``: ``balanced``, or ``LABEL=WEIGHT,...`` matched to the labels of ``y``.

    Labels are written as text; each is matched to the class whose text it is, so
    ``1=4`` names the integer class 1 of a ``.npz`` and the string class "1" of a CSV.
    """
    if text is None:
        return None
    if task not in ("classification", "text"):
        raise CommandError(f"--class-weight is for classification and text, not --task {task}")
    if text == "balanced":
        return text
    import numpy as np

    classes = {str(label): label for label in np.unique(np.asarray(y, dtype=object))}
    weights: dict[Any, float] = {}
    for part in text.split(","):
        label, _, weight = part.partition("=")
        label = label.strip()
        if label not in classes:
            raise CommandError(
                f"--class-weight names class {label!r}, which the labels do not hold; "
                f"expected 'balanced' or LABEL=WEIGHT pairs of {sorted(classes)}"
            )
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise CommandError(
                f"--class-weight {part!r}: the weight must be a positive number "
                "(e.g. --class-weight 0=1,1=4)"
            )
        weights[classes[label]] = value
    return weights


# -- run -----------------------------------------------------------------------------------
def _data_spec(args: argparse.Namespace) -> dict[str, Any]:
    """How workers (any process, any machine) load the same data: stored in the study."""
    spec = args.data
    if not spec.startswith("aeon:"):
        spec = str(Path(spec).resolve())
    data = {
        "spec": spec,
        "series": args.series,
        "time": args.time,
        "target": args.target,
        "split": args.split,
    }
    if getattr(args, "text", None) is not None:
        data["text"] = args.text
    return data


def _gpu_ids(value: str | None) -> list[str]:
    if value is None:
        return []
    if value != "auto":
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids or not all(part.isdigit() for part in ids):
            raise CommandError(f"--gpus must be 'auto' or GPU numbers like 0,1; got {value!r}")
        return ids
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise CommandError("--gpus auto: no NVIDIA GPU found (nvidia-smi -L failed)") from None
    ids = [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU")]
    if not ids:
        raise CommandError("--gpus auto: nvidia-smi lists no GPU")
    return ids


#: Environment that keeps one process from reserving a whole card at start (TensorFlow
#: and JAX both pre-allocate most of its memory by default), so K processes can share it.
GPU_SHARING_ENVIRONMENT = {
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
}


def gpu_assignments(gpus: list[str], trials_per_gpu: int) -> list[str]:
    """The card of each worker: ``trials_per_gpu`` workers per card, cards taken in turn."""
    return [gpu for _ in range(trials_per_gpu) for gpu in gpus]


def gpu_environment(gpu: str, environ: dict[str, str]) -> dict[str, str]:
    """The variables that put a process (and its children) on card ``gpu``, sharing it.

    ``CUDA_VISIBLE_DEVICES`` is read when CUDA starts, later than TensorFlow's import; the
    sharing variables keep a value the user set.
    """
    return {
        "CUDA_VISIBLE_DEVICES": gpu,
        **{name: environ.get(name, value) for name, value in GPU_SHARING_ENVIRONMENT.items()},
    }


def _spawn_workers(
    args: argparse.Namespace, study_name: str, storage: str, count: int, gpus: list[str]
) -> list[int]:
    """Start ``count`` local ``gru-search worker`` processes; wait; return their exit codes.

    ``gpus`` (one entry per worker, from :func:`gpu_assignments`) sets each worker's
    ``CUDA_VISIBLE_DEVICES``.
    """
    threads = max(1, (os.cpu_count() or 1) // count)
    processes = []
    for index in range(count):
        env = dict(
            os.environ,
            TF_NUM_INTRAOP_THREADS=str(threads),
            OMP_NUM_THREADS=str(threads),
            TF_NUM_INTEROP_THREADS="1",
        )
        env[PARENT_PID_VARIABLE] = str(os.getpid())
        if gpus:
            env.update(gpu_environment(gpus[index], env))
        command = [
            sys.executable,
            "-m",
            "gru_search.cli",
            "worker",
            "--study",
            study_name,
            "--storage",
            storage,
            "--threads",
            str(threads),
            "--heartbeat",
            str(args.heartbeat),
        ]
        if args.grace:
            command += ["--grace", str(args.grace)]
        if args.timeout:
            command += ["--timeout", str(args.timeout)]
        processes.append(subprocess.Popen(command, env=env))
    print(
        f"started {count} workers ({threads} CPU threads each"
        + (f", on GPUs {','.join(gpus)}" if gpus else "")
        + ")",
        flush=True,
    )
    codes = []
    try:
        for process in processes:
            codes.append(process.wait())
    except KeyboardInterrupt:
        for process in processes:  # each fails its running trial cleanly and exits 0
            process.send_signal(signal.SIGINT)
        codes = [_wait_or_kill(process) for process in processes]
    return codes


def _wait_or_kill(process: subprocess.Popen) -> int:
    """Wait for a worker told to stop; one that does not within the grace period is killed."""
    from gru_search.lifeline import EXIT_GRACE_SECONDS

    try:
        return process.wait(EXIT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _run(args: argparse.Namespace) -> int:
    from gru_search import GRUSearchCV, engine, load, load_space
    from gru_search.dashboard_records import attach_artifacts
    from gru_search.engine import SearchSettings
    from gru_search.export import save_search
    from gru_search.report import write_report
    from gru_search.storage import is_sqlite, release_connections
    from gru_search.studies import quiet_optuna

    if args.trials_per_gpu > 1 and not args.gpus:
        raise CommandError("--trials-per-gpu needs --gpus (e.g. --gpus auto)")
    gpus = gpu_assignments(_gpu_ids(args.gpus), args.trials_per_gpu)
    if args.task == "forecasting" and len(gpus) > 1:
        raise CommandError(
            "--task forecasting runs its trials in this process: give it one GPU "
            f"(--gpus {gpus[0]}), not {len(gpus)} workers"
        )
    if len(gpus) == 1:
        os.environ.update(gpu_environment(gpus[0], os.environ))  # and its trial processes
    warn_if_gpu_unused()  # the workers inherit that it was checked
    if args.task == "forecasting":
        from gru_search.cli_forecasting import run_forecasting

        return run_forecasting(args)
    for option, value in _forecasting_options(args).items():
        if value is not None:
            raise CommandError(f"{option} belongs to --task forecasting (got --task {args.task})")
    _sequence_defaults(args, args.task)
    text = args.task == "text"
    # fail on a bad space before loading data
    space = load_space(args.space or ("text" if text else "default"))
    if space.task == "forecasting":
        raise CommandError(
            f"--space {args.space} is a forecasting space; use it with --task forecasting "
            "--horizon H"
        )
    if (space.task == "text") != text:
        kind = "texts" if space.task == "text" else "sequences"
        needed = "a `task: text` space (e.g. --space text)" if text else "a space for sequences"
        raise CommandError(
            f"--space {args.space} is a space for {kind}; --task {args.task} needs {needed}"
        )
    workers = len(gpus) if gpus else args.workers
    uses_sqlite = args.storage is None or is_sqlite(args.storage)
    if workers > 1 and uses_sqlite:
        raise CommandError(
            f"{workers} workers need a storage that several processes can write at once: "
            "SQLite serialises writers ('database is locked'). Use PostgreSQL "
            "(--storage postgresql://user@host/db, see README 'Scaling out'), or run "
            "one worker"
        )
    data = _dataset(args)
    class_weight = parse_class_weight(args.class_weight, data.y_train, args.task)
    print(data.describe(), flush=True)
    study_name = args.study_name or f"{data.name}-{space.name}"
    out = Path(args.out or Path("runs") / study_name)
    prepare_run_folder(out, study_name)
    storage = args.storage or sqlite_url(out / "study.db")
    trials, timeout = args.trials, args.timeout
    if trials is None and timeout is None:
        trials = 20
    print(f"study {study_name!r} in {redact(storage)}; results in {out}/", flush=True)
    settings = SearchSettings(
        _estimator(args.task, class_weight=class_weight),
        space=space,
        n_trials=trials,
        timeout=timeout,
        cv=args.cv,
        finalists=args.finalists,
        storage=storage,
        study_name=study_name,
        random_state=args.random_state,
        progress_bar=not args.no_progress and workers == 1,
        trials_per_process=args.trials_per_process if workers == 1 else None,
        verbose=1,
    )
    log = engine.make_log(settings)
    start = time.perf_counter()
    setup = engine.prepare(settings, data.X_train, data.y_train)
    X, y = data.X_train, data.y_train
    # the study records how to load the data and judge trials, so that `gru-search
    # worker` processes on any machine can join it
    extra = {
        "data": _data_spec(args),
        "search": {
            "cv": args.cv,
            "validation_fraction": settings.validation_fraction,
            "random_state": args.random_state,
            "sampler": settings.sampler,
            "pruner": settings.pruner,
        },
        "target": trials if workers > 1 else None,
        # how every worker and `export` builds the estimator
        "estimator": {"class_weight": args.class_weight},
    }
    with quiet_optuna(1):
        study = engine.open_search_study(
            settings,
            setup,
            extra_spec=extra,
            log=log,
            heartbeat_interval=args.heartbeat,
            grace_period=args.grace,
        )
        interrupted = False
        if workers == 1 and settings.trials_per_process:
            interrupted = engine.optimize_in_children(
                settings, study, storage, setup, X, y, log=log
            )
        elif workers == 1:
            interrupted = engine.optimize(settings, study, setup, X, y, log=log)
        else:
            codes = _spawn_workers(args, study_name, storage, workers, gpus)
            for index, code in enumerate(codes):
                if code != 0:
                    how = f"was killed by signal {-code}" if code < 0 else f"exited with {code}"
                    print(
                        f"worker {index} {how}; a trial it was running is retried by the others",
                        file=sys.stderr,
                    )
        outcome = engine.conclude(settings, study, setup, X, y, interrupted=interrupted, log=log)
    search = GRUSearchCV.from_outcome(settings, outcome)
    print(f"\nsearch finished in {time.perf_counter() - start:.0f} s; leaderboard:")
    print_leaderboard(search.leaderboard())
    keep_previous_export(out / "model", search.best_trial_.number)
    model_dir = save_search(search, out / "model", overwrite=True)
    files = write_report(search.study_, out, search.scorer_.name)
    release_connections(study)  # until the artifacts, the rest reads files
    refit_model = search.best_estimator_
    summary = {
        "study": study_name,
        "storage": redact(storage),
        "workers": workers,
        "data": {"description": data.describe(), **_data_spec(args)},
        "space": search.space_.name,
        "space_spec": search.space_.to_dict(),
        "best_trial": search.best_trial_.number,
        "best_params": {
            k: list(v) if isinstance(v, tuple) else v for k, v in search.best_params_.items()
        },
        "validation_" + search.scorer_.name: search.best_score_,
        "validation_splits": search.n_splits_,
        "finalists": search.finalists_.to_dict(orient="records"),
        # what the exported model is: the trial's configuration trained this long, so
        "refit": {
            "epochs": refit_model.n_iter_,
            "random_state": refit_model.random_state,
            "seconds": round(search.refit_time_, 3),
            "device": refit_model.device_,
        },
        "trials": search.n_trials_,
        "interrupted": search.interrupted_,
        **run_provenance(),
    }
    cross_validated = ""
    if not search.finalists_.empty:
        picked = search.finalists_.iloc[0]
        cross_validated = (
            f" ({len(search.finalists_)}-finalist cross-validation: "
            f"{picked[f'cv_{search.scorer_.name}']:.4f})"
        )
    print(
        f"\nbest trial {search.best_trial_.number}: validation {search.scorer_.name} "
        f"{search.best_score_:.4f}{cross_validated}; exported to {model_dir}/"
    )
    if data.X_test is not None:
        exported = load(model_dir)  # score what the user gets, after the round trip
        score = exported.score(data.X_test, data.y_test)
        label = "R^2" if args.task == "regression" else "accuracy"
        summary["test_" + label] = score
        print(f"test {label} of the exported model: {score:.4f}")
        if text:  # classes of texts are often unbalanced: macro-F1 too
            from sklearn.metrics import f1_score

            macro_f1 = f1_score(data.y_test, exported.predict(data.X_test), average="macro")
            summary["test_f1_macro"] = macro_f1
            print(f"test macro-F1 of the exported model: {macro_f1:.4f}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    attach_artifacts(
        search.study_,
        [*files, out / "summary.json"],
        store_dir=out / "artifacts",
        model_dir=model_dir,
        trial_number=search.best_trial_.number,
    )
    release_connections(search.study_)
    print(f"report: {', '.join(f.name for f in files)}, summary.json")
    print(f"watch or revisit it: gru-search dashboard --storage {redact(storage)}")
    return 130 if search.interrupted_ else 0


def _forecasting_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "--horizon": args.horizon,
        "--windows": args.windows,
        "--step-size": args.step_size,
        "--models": args.models,
        "--season-length": None if args.season_length == "auto" else args.season_length,
        "--past-exog": args.past_exog,
        "--future-exog": args.future_exog,
        "--static-exog": args.static_exog,
        "--future": args.future,
    }


# -- worker --------------------------------------------------------------------------------
def _worker(args: argparse.Namespace) -> int:
    from gru_search.lifeline import exit_with_parent_from_environment
    from gru_search.storage import make_storage, release_connections

    exit_with_parent_from_environment()  # a local worker of `run` never outlives it

    storage = make_storage(
        args.storage,
        heartbeat_interval=args.heartbeat,
        grace_period=args.grace,
        create_tables=False,
    )
    try:
        return _work(args, storage)
    finally:
        release_connections(storage)  # also when the study does not match


def _work(args: argparse.Namespace, storage: Any) -> int:
    """Join the study in ``storage`` named by ``args`` and run trials until told to stop."""
    import optuna

    from gru_search import engine, load_space
    from gru_search.datasets import load_data
    from gru_search.spaces import SearchSpace
    from gru_search.studies import (
        make_pruner,
        make_sampler,
        quiet_optuna,
        spec_conflicts,
        stored_spec,
    )
    from gru_search.workers import run_worker_loop, worker_id

    try:
        with quiet_optuna(1):
            study = optuna.load_study(study_name=args.study, storage=storage)
    except KeyError:
        raise CommandError(
            f"no study {args.study!r} in {redact(args.storage)}; create it with "
            "gru-search run ... --storage URL --study-name NAME"
        ) from None
    spec = stored_spec(study)
    if spec is None:
        raise CommandError(f"study {args.study!r} was not created by gru-search")
    if spec["task"] == "forecasting":
        raise CommandError(
            f"study {args.study!r} is a forecasting study; its trials run in the "
            "`gru-search run --task forecasting` process, not in workers"
        )
    if args.task and args.task != spec["task"]:
        raise CommandError(
            f"study {args.study!r} is a {spec['task']} study; this worker was given "
            f"--task {args.task}"
        )
    if args.space and spec_conflicts(spec, {"space": load_space(args.space).to_dict()}):
        raise CommandError(
            f"study {args.study!r} searches space {spec['space']['name']!r} as stored in the "
            f"study, which differs from --space {args.space}"
        )
    if not spec.get("data"):
        raise CommandError(
            f"study {args.study!r} was started from Python with in-memory data; workers can "
            "join studies created by `gru-search run`, which records how to load the data"
        )
    data = load_data(**spec["data"])
    settings = spec.get("search", {})
    space = SearchSpace.from_dict(spec["space"], source=f"study {args.study}")
    class_weight = spec.get("estimator", {}).get("class_weight")
    search = engine.SearchSettings(
        _estimator(
            spec["task"], class_weight=parse_class_weight(class_weight, data.y_train, spec["task"])
        ),
        space=space,
        cv=settings.get("cv"),
        validation_fraction=settings.get("validation_fraction", 0.2),
        scoring=spec.get("metric"),
        random_state=settings.get("random_state"),
        verbose=1,
    )
    setup = engine.prepare(search, data.X_train, data.y_train)  # one split in every worker
    # every worker its own sampler seed, or all would propose the same trials
    seed = abs(hash(worker_id())) % (2**31 - 1)
    with quiet_optuna(1):
        study = optuna.load_study(
            study_name=args.study,
            storage=storage,
            sampler=make_sampler(settings.get("sampler", "tpe"), seed, parallel=True),
            pruner=make_pruner(
                settings.get("pruner", "hyperband"),
                space.training.pruning_warmup,
                space.training.epochs,
            ),
        )
        target = spec.get("target")
        print(
            f"[gru-search] worker {worker_id()} joined study {args.study!r}"
            + (f" (target {target} finished trials)" if target else ""),
            flush=True,
        )
        report = run_worker_loop(
            study,
            engine.trial_function(search, setup, data.X_train, data.y_train),
            target=target,
            max_trials=args.n_trials,
            timeout=args.timeout,
            log=lambda line: print(line, flush=True),
        )
    print(
        f"[gru-search] worker {worker_id()} done: {report.finished} finished, "
        f"{report.failed} failed"
        + (f", stopped by {report.stopped_by_signal}" if report.stopped_by_signal else ""),
        flush=True,
    )
    return 0


# -- export --------------------------------------------------------------------------------
def _export(args: argparse.Namespace) -> int:
    import optuna

    from gru_search import save
    from gru_search.finalists import selected_trial
    from gru_search.spaces import SearchSpace
    from gru_search.storage import make_storage
    from gru_search.studies import REFIT_SEED_KEY, stored_spec
    from gru_search.trials import refit_params

    try:
        study = optuna.load_study(study_name=args.study, storage=make_storage(args.storage))
    except KeyError:
        raise CommandError(f"no study {args.study!r} in {redact(args.storage)}") from None
    spec = stored_spec(study)
    if spec is None:
        raise CommandError(f"study {args.study!r} was not created by gru-search")
    if args.trial is None:
        try:
            trial = selected_trial(study)  # the finalists' pick when the run made one
        except ValueError as error:
            raise CommandError(str(error)) from None
    else:
        matches = [t for t in study.trials if t.number == args.trial]
        if not matches or matches[0].state.name != "COMPLETE":
            raise CommandError(f"study {args.study!r} has no completed trial {args.trial}")
        trial = matches[0]
    space = SearchSpace.from_dict(spec["space"], source=f"study {args.study}")
    if spec["task"] == "forecasting":
        from gru_search.cli_forecasting import export_forecaster

        return export_forecaster(args, spec, trial, space)
    if args.data is None:
        raise CommandError(
            f"study {args.study!r} is a {spec['task']} study: --data is required (the data "
            "to refit on, e.g. the one `gru-search run` searched)"
        )
    _sequence_defaults(args, spec["task"])
    params = refit_params(space, trial)
    data = _dataset(args)
    # the seed `run` refit with, so that the export is the same model
    seed = (
        study.user_attrs.get(REFIT_SEED_KEY, 0) if args.random_state is None else args.random_state
    )
    class_weight = spec.get("estimator", {}).get("class_weight")
    estimator = _estimator(
        spec["task"], seed, parse_class_weight(class_weight, data.y_train, spec["task"])
    ).set_params(**params)
    print(f"refitting trial {trial.number} ({params}) on {data.describe()}", flush=True)
    estimator.fit(data.X_train, data.y_train)
    origin = export_origin(args.study, trial.number, trial.value, spec.get("metric"), space.name)
    folder = save(estimator, args.out, origin=origin, overwrite=args.force)
    print(f"exported to {folder}/")
    if data.X_test is not None:
        print(f"test score: {estimator.score(data.X_test, data.y_test):.4f}")
    return 0


# -- predict -------------------------------------------------------------------------------
def _predict(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from gru_search import GRUClassifier, GRUForecaster, GRUTextClassifier, load

    output = Path(args.output)
    _check_output(output, args, force=args.force)
    model = load(args.model)
    if isinstance(model, GRUForecaster):
        from gru_search.cli_forecasting import predict_forecasts

        return predict_forecasts(args, model, output)
    if args.future is not None:
        raise CommandError(f"--future belongs to forecasters; {args.model} holds a sequence model")
    if args.data is None:
        raise CommandError(
            f"--data is required: the sequences for {type(model).__name__} to predict"
        )
    _sequence_defaults(args, "text" if isinstance(model, GRUTextClassifier) else None)
    data = _dataset(args, require_target=False)
    use_test = data.X_test is not None
    X = data.X_test if use_test else data.X_train
    y = data.y_test if use_test else data.y_train
    ids = data.ids_test if use_test else data.ids_train
    predictions = model.predict(X)
    frame = pd.DataFrame(
        {"prediction": predictions}
        if predictions.ndim == 1
        else {f"prediction_{i}": column for i, column in enumerate(predictions.T)}
    )
    # which sequence each row is about: the series id of a long table, else its position
    frame.insert(
        0,
        args.series if ids is not None else "row",
        ids if ids is not None else np.arange(len(frame)),
    )
    if isinstance(model, GRUClassifier):
        for label, column in zip(model.classes_, model.predict_proba(X).T, strict=True):
            frame[f"proba_{label}"] = column
    frame.to_csv(output, index=False)
    split = "test" if use_test else ("training" if y is not None else "given")
    print(f"{len(frame)} predictions ({split} sequences) -> {output}")
    if y is not None and np.size(y):
        print(f"score: {model.score(X, y):.4f}")
    return 0


def _check_output(output: Path, args: argparse.Namespace, *, force: bool) -> None:
    """Refuse an output that is one of the inputs, a folder, or (without --force) a file."""
    inputs = [Path(args.model), Path(args.model) / "model.keras"]
    if args.data is not None and not args.data.startswith("aeon:"):
        inputs.append(Path(args.data))
    resolved = output.resolve()
    if any(resolved == path.resolve() for path in inputs):
        raise CommandError(f"--output {output} is one of the inputs; refusing to overwrite it")
    if output.is_dir():
        raise CommandError(f"--output {output} is a folder; give a CSV file name")
    if output.exists() and not force:
        raise CommandError(f"--output {output} exists; pass --force to replace it")
    if not output.parent.resolve().is_dir():
        raise CommandError(f"--output {output}: folder {output.parent} does not exist")


# -- dashboard -----------------------------------------------------------------------------
def _dashboard(args: argparse.Namespace) -> int:
    try:
        import optuna_dashboard
    except ImportError:
        raise CommandError(
            "optuna-dashboard is not installed: pip install optuna-dashboard"
        ) from None
    from gru_search.dashboard_records import ArtifactFolders, artifact_folders
    from gru_search.storage import make_storage, redact, sqlite_path

    storage = args.storage
    if storage is None:
        database = Path(args.out) / "study.db"
        if not database.is_file():
            raise CommandError(f"no study database at {database}; give --storage URL")
        storage = sqlite_url(database)
    database = sqlite_path(storage)
    if database is not None and not database.is_file():
        raise CommandError(f"no SQLite file at {database}")
    if not _is_loopback(args.host):
        print(
            f"gru-search: WARNING: serving on {args.host}: anyone who can reach this machine "
            "can read AND CHANGE the studies in this storage (optuna-dashboard has no "
            "login). Use the default 127.0.0.1 with an SSH tunnel unless this network is "
            "trusted.",
            file=sys.stderr,
            flush=True,
        )
    opened = make_storage(storage)
    folders = artifact_folders(opened)
    print(
        f"optuna-dashboard on http://{args.host}:{args.port}/ for {redact(storage)} (Ctrl-C stops)"
        + (f"; artifacts from {', '.join(map(str, folders))}" if folders else ""),
        flush=True,
    )
    optuna_dashboard.run_server(
        opened,
        host=args.host,
        port=args.port,
        artifact_store=ArtifactFolders(folders) if folders else None,
    )
    return 0


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- spaces --------------------------------------------------------------------------------
def _spaces(args: argparse.Namespace) -> int:
    import yaml

    from gru_search.spaces import SpaceError, available_spaces, load_space

    if args.action == "list":
        for name, path in available_spaces().items():
            space = load_space(path)
            print(f"{name:14s} {space.description.splitlines()[0] if space.description else ''}")
        return 0
    if not args.names:
        raise CommandError(f"spaces {args.action} needs at least one NAME or PATH")
    if args.action == "show":
        for name in args.names:
            print(yaml.safe_dump(load_space(name).to_dict(), sort_keys=False), end="")
        return 0
    failed = 0
    for name in args.names:
        try:
            space = load_space(name)
        except SpaceError as error:
            failed += 1
            print(f"invalid: {error}", file=sys.stderr)
        else:
            print(f"valid: {name} ({space.name}: {len(space.params) + 2} parameters)")
    return 2 if failed else 0


# -- fit and variants ----------------------------------------------------------------------
def _fit(args: argparse.Namespace) -> int:
    from gru_search import GRUClassifier

    _sequence_defaults(args)
    data = _dataset(args)
    print(data.describe(), flush=True)
    try:
        units = tuple(int(u) for u in args.units.split(","))
    except ValueError:
        raise CommandError(
            f"--units must be comma-separated integers, got {args.units!r}"
        ) from None
    model = GRUClassifier(
        units=units,
        cell=args.cell,
        epochs=args.epochs,
        class_weight=parse_class_weight(args.class_weight, data.y_train, "classification"),
        random_state=args.random_state,
        verbose=2 if args.verbose else 0,
    )
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    print(f"trained {args.cell} {units} for {model.n_iter_} epochs in {seconds:.1f} s")
    if data.X_test is not None:
        print(f"test accuracy: {model.score(data.X_test, data.y_test):.4f}")
    return 0


def _variants(args: argparse.Namespace) -> int:
    from gru_search.cells import VARIANTS, variant_info

    for name in VARIANTS:
        info = variant_info(name)
        fused = "fused" if info.fused_kernel else "     "
        print(f"{name:8s} {fused}  params {info.parameter_formula:16s} {info.reference}")
    return 0


# -- parser --------------------------------------------------------------------------------
def _add_data_arguments(
    parser: argparse.ArgumentParser, default: str | None, *, required: bool | None = None
) -> None:
    parser.add_argument(
        "--data",
        default=None,
        required=default is None if required is None else required,
        help="aeon:NAME (shipped with aeon, e.g. aeon:GunPoint or, to forecast, "
        "aeon:airline), FILE.npz with X_train/y_train [X_test/y_test], or a long-format "
        "FILE.csv/.parquet" + (f" (default {default})" if default else ""),
    )
    table = parser.add_argument_group("long-format tables (.csv/.parquet)")
    table.add_argument(
        "--series", default=None, help="series id column (default series; forecasting unique_id)"
    )
    table.add_argument(
        "--time", default=None, help="time column to sort by (default time; forecasting ds)"
    )
    table.add_argument(
        "--target",
        default=None,
        help="label/target column (default target; forecasting y; text label)",
    )
    table.add_argument("--split", default=None, help="column holding train/test per series")
    table.add_argument(
        "--text", default=None, help="--task text: the column of texts (default text)"
    )


def _add_class_weight_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--class-weight",
        default=None,
        metavar="balanced|LABEL=WEIGHT,...",
        help="weights of the classes in the loss, for unbalanced labels: 'balanced' "
        "(n_samples / (n_classes x count)) or pairs such as 0=1,1=4",
    )


def _add_future_argument(parser: Any) -> None:
    parser.add_argument(
        "--future",
        default=None,
        metavar="FILE",
        help="forecasters with future covariates: a CSV/Parquet table of id, time and the "
        "--future-exog columns at the next --horizon time stamps of every series",
    )


def _column_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {value!r}")
    return names


def _add_heartbeat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--heartbeat",
        type=_positive_int,
        default=20,
        help="seconds between heartbeats of a running trial (default 20)",
    )
    parser.add_argument(
        "--grace",
        type=_positive_int,
        default=None,
        help="seconds without heartbeat before a trial counts as dead and is "
        "retried (default 3 heartbeats)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return value


def _cv_choice(text: str) -> int | None:
    """``--cv``: "holdout" (None in Python) or a number of folds >= 2."""
    if text == "holdout":
        return None
    try:
        folds = int(text)
    except ValueError:
        folds = 0
    if folds < 2:
        raise argparse.ArgumentTypeError(
            f"expected 'holdout' or a number of folds >= 2, got {text!r}"
        )
    return folds


def _season_length(text: str) -> int | str:
    return text if text == "auto" else _positive_int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gru-search",
        description="Search GRU sequence models and export the winner as an sklearn estimator.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="search a space, export the best model and write a report",
        description="Run an Optuna study over a search space (stored in a SQLite file by "
        "default), refit and export the best model, and write the leaderboard and plots.",
    )
    _add_data_arguments(run, "aeon:GunPoint; aeon:airline with --task forecasting")
    run.add_argument(
        "--task",
        choices=("classification", "regression", "forecasting", "text"),
        default="classification",
    )
    run.add_argument(
        "--space",
        default=None,
        help="shipped space name or YAML path (see `gru-search spaces list`; default "
        "'default', 'forecasting' with --task forecasting)",
    )
    run.add_argument(
        "--trials",
        type=_positive_int,
        default=None,
        help="trials to run (default 20 when no --timeout)",
    )
    run.add_argument("--timeout", type=_positive_float, default=None, help="seconds for the study")
    run.add_argument(
        "--cv",
        type=_cv_choice,
        default=None,
        help="validation of every trial: K-fold cross-validation, or 'holdout' (default: one "
        "stratified 20%% hold-out)",
    )
    run.add_argument(
        "--finalists",
        type=_positive_int,
        default=None,
        help="with the hold-out: cross-validate this many best trials on all the data and "
        "refit the best of them (default: the space's, 3 in 'default'; 1: no cross-validation)",
    )
    run.add_argument(
        "--storage", default=None, help="Optuna storage URL (default sqlite:///OUT/study.db)"
    )
    run.add_argument(
        "--study-name", default=None, help="default DATASET-SPACE; resumes if it exists"
    )
    run.add_argument("--out", default=None, help="output folder (default runs/STUDY_NAME)")
    _add_class_weight_argument(run)
    run.add_argument("--random-state", type=int, default=0)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--trials-per-process",
        type=int,
        default=20,
        help="with one worker: run trials in child processes recycled after this many, so "
        "a long search does not grow in memory (0: all in this process; default 20)",
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="local worker processes on one study (more than 1 needs PostgreSQL)",
    )
    run.add_argument(
        "--gpus",
        default=None,
        help="'auto' or 0,1,...: train on these NVIDIA GPUs, one worker each "
        "(CUDA_VISIBLE_DEVICES; memory grows as needed instead of being reserved)",
    )
    run.add_argument(
        "--trials-per-gpu",
        type=_positive_int,
        default=1,
        help="with --gpus: this many concurrent trial workers per card (small GRUs leave a "
        "card mostly idle; more than one worker in all needs PostgreSQL)",
    )
    _add_heartbeat_arguments(run)
    forecasting = run.add_argument_group("forecasting (--task forecasting)")
    forecasting.add_argument(
        "--horizon", type=_positive_int, default=None, help="steps to forecast (required)"
    )
    forecasting.add_argument(
        "--windows",
        type=_positive_int,
        default=None,
        help="rolling-origin validation windows (default: the space's, 2 in 'forecasting')",
    )
    forecasting.add_argument(
        "--step-size",
        type=_positive_int,
        default=None,
        help="steps between window origins (default: the horizon)",
    )
    forecasting.add_argument(
        "--models",
        type=_positive_int,
        default=None,
        help="networks averaged in the exported forecaster (an ensemble; default 1)",
    )
    forecasting.add_argument(
        "--season-length",
        type=_season_length,
        default="auto",
        help="season of MASE's naive forecast (default: from the time stamps, e.g. 12 for monthly)",
    )
    for kind, meaning in (
        ("past", "known up to each series' end only"),
        ("future", "known over the horizon too (needs --future)"),
        ("static", "one value per series"),
    ):
        forecasting.add_argument(
            f"--{kind}-exog",
            type=_column_list,
            default=None,
            metavar="COLUMNS",
            help=f"comma-separated covariate columns of --data, {meaning}",
        )
    _add_future_argument(forecasting)
    run.set_defaults(handler=_run)

    worker = commands.add_parser(
        "worker",
        help="join an existing study and run its trials (any machine)",
        description="Join a study created by `gru-search run` on a shared storage and run "
        "trials until the study's target, --n-trials or --timeout.",
    )
    worker.add_argument("--study", required=True, help="study name")
    worker.add_argument("--storage", required=True, help="Optuna storage URL (PostgreSQL)")
    worker.add_argument(
        "--n-trials",
        type=_positive_int,
        default=None,
        help="trials this worker may start (default: until the study's target)",
    )
    worker.add_argument(
        "--timeout",
        type=_positive_float,
        default=None,
        help="seconds after which this worker starts no new trial",
    )
    worker.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for TensorFlow (default: all cores)",
    )
    worker.add_argument(
        "--space", default=None, help="refuse to join unless the study searches this space"
    )
    worker.add_argument(
        "--task",
        choices=("classification", "regression", "text"),
        default=None,
        help="refuse to join unless the study has this task",
    )
    _add_heartbeat_arguments(worker)
    worker.set_defaults(handler=_worker)

    export = commands.add_parser(
        "export",
        help="refit a stored study's best (or given) trial and export it",
    )
    export.add_argument("--study", required=True, help="study name")
    export.add_argument("--storage", required=True, help="Optuna storage URL")
    export.add_argument(
        "--trial", type=int, default=None, help="trial number (default: the one `run` refit)"
    )
    export.add_argument("--out", required=True, help="folder to write")
    export.add_argument("--force", action="store_true", help="replace an existing export")
    export.add_argument(
        "--random-state",
        type=int,
        default=None,
        help="seed of the refit (default: the one `run` refit with, so the same model)",
    )
    _add_data_arguments(export, None, required=False)
    export.set_defaults(handler=_export)

    predict = commands.add_parser("predict", help="predict with an exported model")
    predict.add_argument("--model", required=True, help="folder written by run/export")
    predict.add_argument("--output", default="predictions.csv", help="CSV to write")
    predict.add_argument("--force", action="store_true", help="replace an existing --output")
    _add_data_arguments(predict, None, required=False)
    _add_future_argument(predict)
    predict.set_defaults(handler=_predict)

    dashboard = commands.add_parser(
        "dashboard", help="serve optuna-dashboard for a study storage (127.0.0.1 by default)"
    )
    dashboard.add_argument("--storage", default=None, help="Optuna storage URL")
    dashboard.add_argument("--out", default=".", help="a run folder holding study.db")
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    dashboard.add_argument("--port", type=_port, default=8080, help="default 8080")
    dashboard.set_defaults(handler=_dashboard)

    spaces = commands.add_parser("spaces", help="list, show or validate search spaces")
    spaces.add_argument("action", choices=("list", "show", "validate"))
    spaces.add_argument("names", nargs="*", metavar="NAME_OR_PATH")
    spaces.set_defaults(handler=_spaces)

    fit = commands.add_parser(
        "fit", help="train one GRUClassifier on a dataset and report its test accuracy"
    )
    _add_data_arguments(fit, "aeon:GunPoint")
    fit.add_argument("--cell", default="gru", help="gate variant (see `gru-search variants`)")
    fit.add_argument("--units", default="64", help="comma-separated layer widths, e.g. 64,32")
    fit.add_argument("--epochs", type=_positive_int, default=100)
    _add_class_weight_argument(fit)
    fit.add_argument("--random-state", type=int, default=0)
    fit.add_argument("--verbose", action="store_true", help="one line per epoch")
    fit.set_defaults(handler=_fit)

    variants = commands.add_parser("variants", help="list the gate variants")
    variants.set_defaults(handler=_variants)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gru-search`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "threads", None):
        # before TensorFlow starts: N workers on N cores must not each start N threads
        for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(args.threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    # SIGTERM stops a search as Ctrl-C does (trial processes stopped, trials failed
    # cleanly); a worker has its own handlers, a dashboard server just ends
    stops_cleanly = args.command in ("run", "export", "fit", "predict")
    if args.command in ("worker", "export", "fit"):
        warn_if_gpu_unused()  # `run` checks once it has chosen its cards
    try:
        with terminate_as_interrupt() if stops_cleanly else contextlib.nullcontext():
            return args.handler(args)
    except (GRUSearchError, ValueError, OSError) as error:
        # our own errors say what to fix; ValueError: the estimators' checks of the data;
        # OSError: a file or folder the system refused (its message names it)
        print(f"gru-search: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gru-search: interrupted", file=sys.stderr)
        return 130


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)


if __name__ == "__main__":
    sys.exit(main())
