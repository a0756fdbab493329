"""The search engine: stateless steps from data and settings to a refit estimator.

:class:`~gru_search.search.GRUSearchCV`, every command of the ``gru-search`` CLI and the
trial processes all run a search through these functions, so there is one way to do each
step::

    settings = SearchSettings(GRUClassifier(), space="quick", n_trials=10)
    setup = prepare(settings, X, y)                 # space, objective, splits, seeds
    study = open_search_study(settings, setup)      # create, or resume a matching study
    interrupted = optimize(settings, study, setup, X, y)   # or optimize_in_children
    outcome = conclude(settings, study, setup, X, y, interrupted=interrupted)

:func:`run_search` chains them as ``GRUSearchCV.fit`` does, including the temporary
storage that trial processes share when the study is kept in memory. Nothing here keeps
state between calls: what a step needs comes in as arguments, what it finds goes out as a
value (:class:`SearchSetup`, :class:`SearchOutcome`).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils import check_random_state

from gru_search.accelerators import warn_if_gpu_unused
from gru_search.dashboard_records import record_selection
from gru_search.data import check_sequences
from gru_search.estimators import check_targets, checked_sample_weight
from gru_search.exceptions import SearchFailedError, SpaceError
from gru_search.finalists import (
    FinalistScore,
    cross_validate_trial,
    finalist_splits,
    run_finalists,
)
from gru_search.leaderboard import finalists_frame, leaderboard
from gru_search.progress import StudyProgress
from gru_search.recycling import (
    ChildShare,
    ChildTask,
    copy_to_memory,
    main_module_problem,
    temporary_storage_url,
)
from gru_search.recycling import optimize_in_children as run_in_children
from gru_search.seeding import MAX_SEED
from gru_search.spaces import SearchSpace, load_space
from gru_search.storage import make_storage, release_connections
from gru_search.studies import (
    REFIT_SEED_KEY,
    describe_validation_scheme,
    finished_trial_count,
    make_pruner,
    make_sampler,
    open_study,
    quiet_optuna,
    session_seed,
    start_or_resume,
    study_spec,
)
from gru_search.text import GRUTextClassifier, check_texts
from gru_search.trials import (
    KerasCallbacks,
    Objective,
    StopWhenHopeless,
    all_failed_message,
    best_trial,
    describe_finished_trial,
    hopeless_reason,
    refit_params,
    run_trial,
    trial_keras_callbacks,
)

#: Trials per child process when ``trials_per_process="auto"`` chooses child processes.
AUTO_TRIALS_PER_PROCESS = 20
#: Trials of a search given neither ``n_trials`` nor ``timeout``.
DEFAULT_TRIALS = 20

Log = Callable[[str], None]


@dataclass(frozen=True)
class SearchSettings:
    """How to search: the parameters of :class:`~gru_search.search.GRUSearchCV`, as a record.

    The fields and their meaning are those of ``GRUSearchCV``'s constructor (see its
    docstring); ``GRUSearchCV(**vars(settings))`` and
    ``SearchSettings(**search.get_params(deep=False))`` convert between the two.
    """

    estimator: BaseEstimator
    space: str | Path | SearchSpace = "default"
    n_trials: int | None = None
    timeout: float | None = None
    cv: Any = None
    validation_fraction: float = 0.2
    scoring: str | None = None
    sampler: Any = "tpe"
    pruner: Any = "hyperband"
    storage: Any = None
    study_name: str | None = None
    refit: bool = True
    finalists: int | None = None
    random_state: Any = None
    n_jobs: int = 1
    progress_bar: bool = False
    trials_per_process: int | str | None = "auto"
    verbose: int = 1

    def replace(self, **changes: Any) -> SearchSettings:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SearchSetup:
    """What every trial of one search shares: space, objective, data splits and seeds."""

    space: SearchSpace
    objective: Objective
    splits: list[tuple[np.ndarray, np.ndarray]]
    task: str
    sampler_seed: int
    trial_seed: int | None
    finalist_seed: int | None = None


@dataclass
class SearchOutcome:
    """What a finished search found (``GRUSearchCV`` exposes the same as fitted attributes)."""

    study: optuna.Study
    space: SearchSpace
    objective: Objective
    best_trial: optuna.trial.FrozenTrial
    best_params: dict[str, Any]
    leaderboard: pd.DataFrame
    finalists: pd.DataFrame
    finalist_time: float
    n_splits: int
    n_trials: int
    interrupted: bool
    best_estimator: BaseEstimator | None = None
    refit_time: float | None = None

    @property
    def best_score(self) -> float:
        return float(self.best_trial.value)


# -- logging -------------------------------------------------------------------------------
def make_log(settings: SearchSettings) -> Log:
    """Where the search's ``[gru-search]`` lines go: standard error, above a progress bar."""

    def log(message: str) -> None:
        if not settings.verbose:
            return
        if settings.progress_bar:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)  # above the bar, not through it
        else:
            print(message, file=sys.stderr, flush=True)

    return log


def trial_logger(
    settings: SearchSettings, objective: Objective, log: Log
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """An Optuna callback printing one line per finished trial (and why it failed)."""

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if settings.verbose:
            log(f"[gru-search] {describe_finished_trial(study, trial, objective.name)}")

    return report


# -- settings resolved ---------------------------------------------------------------------
def trials_to_run(settings: SearchSettings) -> int | None:
    """Trials for this call: ``n_trials``, or 20 when neither it nor a timeout is set."""
    if settings.n_trials is None and settings.timeout is None:
        return DEFAULT_TRIALS
    return settings.n_trials


def n_finalists(settings: SearchSettings, space: SearchSpace) -> int:
    """Finalists to cross-validate: the setting, or the space's when it is None."""
    value = space.training.finalists if settings.finalists is None else settings.finalists
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"finalists must be a positive integer or None, got {value!r}")
    return value


def trials_per_process(settings: SearchSettings, log: Log | None = None) -> int | None:
    """Trials per child process, or None to run the trials in this process.

    ``"auto"`` chooses child processes for a long study (more than 20 trials, or a
    timeout without ``n_trials``) with one job, a storage children can open and a main
    module they can re-import; ``log`` is told why when the last one rules them out.
    """
    value = settings.trials_per_process
    if value != "auto":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(
                f"trials_per_process must be a positive integer, 'auto' or None, got {value!r}"
            )
        return value
    long_study = (settings.n_trials is None and settings.timeout is not None) or (
        settings.n_trials is not None and settings.n_trials > AUTO_TRIALS_PER_PROCESS
    )
    in_memory_or_url = settings.storage is None or isinstance(settings.storage, str)
    if not (long_study and settings.n_jobs == 1 and in_memory_or_url):
        return None
    if problem := main_module_problem():
        if log is not None:
            log(f"[gru-search] trials run in this process: {problem}")
        return None
    return AUTO_TRIALS_PER_PROCESS


# -- the steps -----------------------------------------------------------------------------
def validation_splits(
    settings: SearchSettings, X: Any, y: Any, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The trials' splits: a stratified hold-out (``cv=None``) or the ``cv`` folds."""
    n_samples = len(X)
    classifier = is_classifier(settings.estimator)
    if settings.cv is None:
        fraction = settings.validation_fraction
        if not 0 < fraction < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {fraction!r}")
        rows = np.arange(n_samples)
        try:
            train, val = train_test_split(
                rows,
                test_size=fraction,
                random_state=seed,
                stratify=np.asarray(y) if classifier else None,
            )
        except ValueError:  # a class too small to stratify
            train, val = train_test_split(rows, test_size=fraction, random_state=seed)
        return [(train, val)]
    splitter = check_cv(settings.cv, np.asarray(y), classifier=classifier)
    placeholder = np.zeros((n_samples, 1))
    return [(train, val) for train, val in splitter.split(placeholder, np.asarray(y))]


def prepare(settings: SearchSettings, X: Any, y: Any) -> SearchSetup:
    """Validate the inputs and fix the space, objective, splits and seeds.

    It fails here, once and with the reason, on what every trial would fail on. The same
    settings and data give the same setup in every process (workers rely on it).
    """
    space = load_space(settings.space)
    if space.task == "forecasting":
        raise SpaceError(
            f"space {space.name!r} is a {space.task} space ({space.source}); GRUSearchCV "
            "searches labelled sequences: use GRUForecastSearch (or `gru-search run --task "
            "forecasting`) for it, or a space without `task: forecasting`"
        )
    reads_text = isinstance(settings.estimator, GRUTextClassifier)
    if reads_text != (space.task == "text"):
        raise SpaceError(
            f"space {space.name!r} ({space.source}) is a {space.task} space and the estimator "
            f"a {type(settings.estimator).__name__}: a `task: text` space (e.g. 'text') goes "
            "with GRUTextClassifier, and only with it"
        )
    n_finalists(settings, space)  # a bad value fails before any trial
    if reads_text:
        check_texts(X, estimator_name="GRUSearchCV")
    else:
        check_sequences(X, estimator_name="GRUSearchCV")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    check_targets(settings.estimator, y)
    scoring = settings.scoring if settings.scoring is not None else space.training.metric
    objective = Objective.create(scoring, settings.estimator)
    rng = check_random_state(settings.random_state)
    sampler_seed = int(rng.randint(MAX_SEED))
    split_seed = int(rng.randint(MAX_SEED))
    trial_seed = int(rng.randint(MAX_SEED)) if settings.random_state is not None else None
    finalist_seed = int(rng.randint(MAX_SEED))
    return SearchSetup(
        space=space,
        objective=objective,
        splits=validation_splits(settings, X, y, split_seed),
        task=(
            "text"
            if reads_text
            else "classification"
            if is_classifier(settings.estimator)
            else "regression"
        ),
        sampler_seed=sampler_seed,
        trial_seed=trial_seed,
        finalist_seed=finalist_seed,
    )


def open_search_study(
    settings: SearchSettings,
    setup: SearchSetup,
    *,
    extra_spec: dict[str, Any] | None = None,
    storage: Any = None,
    log: Log | None = None,
    **storage_options: Any,
) -> optuna.Study:
    """Create the study (with the space's start points queued) or resume a matching one.

    ``storage`` overrides ``settings.storage`` (the temporary file of trial processes);
    ``storage_options`` go to :func:`~gru_search.storage.make_storage` (heartbeats).
    A resumed study is told so through ``log`` and samples with a new seed.
    """
    space = setup.space
    validation = describe_validation_scheme(settings.cv, settings.validation_fraction)
    parallel = settings.n_jobs != 1
    study = open_study(
        storage=make_storage(storage or settings.storage, **storage_options),
        study_name=settings.study_name,
        spec={**study_spec(space, setup.task, setup.objective, validation), **(extra_spec or {})},
        direction=setup.objective.direction,
        sampler=make_sampler(settings.sampler, setup.sampler_seed, parallel=parallel),
        pruner=make_pruner(settings.pruner, space.training.pruning_warmup, space.training.epochs),
    )
    finished = start_or_resume(
        study, space, settings.sampler, setup.sampler_seed, parallel=parallel
    )
    if finished and log is not None:
        counts = collections.Counter(t.state.name.lower() for t in study.trials)
        log(
            f"[gru-search] resuming study {study.study_name!r} with {finished} finished "
            "trials ("
            + ", ".join(f"{counts[s]} {s}" for s in ("complete", "pruned", "fail") if counts[s])
            + "); new trials are sampled with a new seed"
        )
    return study


def trial_function(
    settings: SearchSettings,
    setup: SearchSetup,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    keras_callbacks: KerasCallbacks = (),
) -> Callable[[optuna.Trial], float]:
    """The objective of one trial (what ``study.optimize`` or a worker calls)."""
    return functools.partial(
        run_trial,
        space=setup.space,
        estimator=settings.estimator,
        X=X,
        y=y,
        splits=setup.splits,
        objective=setup.objective,
        sample_weight=sample_weight,
        random_state=setup.trial_seed,
        clear_session=settings.n_jobs == 1,
        keras_callbacks=keras_callbacks,
    )


def _describe_splits(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    if len(splits) == 1:
        return f"hold-out of {len(splits[0][1])}"
    return f"{len(splits)}-fold CV"


def _log_start(
    settings: SearchSettings,
    study: optuna.Study,
    setup: SearchSetup,
    per_process: int | None,
    log: Log,
) -> None:
    n_trials = trials_to_run(settings)
    log(
        f"[gru-search] study {study.study_name!r}: space {setup.space.name!r}, "
        f"{n_trials if n_trials is not None else 'as many'} trials"
        + (f" within {settings.timeout:.0f}s" if settings.timeout else "")
        + f", {setup.objective.direction} validation {setup.objective.name} "
        f"({_describe_splits(setup.splits)})"
        + (f", {per_process} per process" if per_process else "")
    )


def log_if_hopeless(study: optuna.Study, log: Log) -> None:
    """Say so when the search stopped because its first trials all failed alike."""
    if reason := hopeless_reason(study):
        log(
            f"[gru-search] stopped: the first {finished_trial_count(study)} trials all "
            f"failed with: {reason}"
        )


def optimize(
    settings: SearchSettings,
    study: optuna.Study,
    setup: SearchSetup,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    callbacks: Sequence[Any] = (),
    *,
    log: Log,
    keras_callbacks: KerasCallbacks = (),
) -> bool:
    """Run the study's trials in this process; return whether Ctrl-C ended it early."""
    _log_start(settings, study, setup, None, log)
    try:
        study.optimize(
            trial_function(settings, setup, X, y, sample_weight, keras_callbacks),
            n_trials=trials_to_run(settings),
            timeout=settings.timeout,
            n_jobs=settings.n_jobs,
            catch=(Exception,),  # one broken trial fails alone; the study goes on
            callbacks=[
                trial_logger(settings, setup.objective, log),
                StopWhenHopeless(),
                *callbacks,
            ],
            gc_after_trial=False,  # run_trial clears the Keras session and collects
            show_progress_bar=settings.progress_bar,
        )
    except KeyboardInterrupt:
        log(
            "[gru-search] interrupted: the running trial is marked failed, finished trials are kept"
        )
        return True
    log_if_hopeless(study, log)
    return False


@dataclass(frozen=True)
class _ChildSearch:
    """What a trial process needs to rebuild the search's trial function."""

    settings: SearchSettings
    setup: SearchSetup
    X: Any
    y: Any
    sample_weight: Any
    callbacks: list[Any]
    keras_callbacks: KerasCallbacks = ()


def run_child_share(task: ChildTask, share: ChildShare) -> None:
    """Run one trial process's share of the study (the entry point the children call)."""
    search: _ChildSearch = task.payload
    settings, setup = search.settings, search.setup
    training = setup.space.training
    with quiet_optuna(settings.verbose):
        study = optuna.load_study(
            study_name=task.study_name,
            storage=make_storage(task.storage_url),
            sampler=make_sampler(settings.sampler, share.sampler_seed, parallel=False),
            pruner=make_pruner(settings.pruner, training.pruning_warmup, training.epochs),
        )
        # on Ctrl-C Optuna marks the running trial FAIL; the parent decides what is next
        with contextlib.suppress(KeyboardInterrupt):
            study.optimize(
                trial_function(
                    settings,
                    setup,
                    search.X,
                    search.y,
                    search.sample_weight,
                    search.keras_callbacks,
                ),
                n_trials=share.n_trials,
                timeout=share.timeout,
                catch=(Exception,),
                callbacks=[
                    # the parent prints the lines (in a notebook, above a progress bar)
                    trial_logger(settings, setup.objective, share.messages.put),
                    StopWhenHopeless(),
                    *search.callbacks,
                ],
                gc_after_trial=False,
            )


def optimize_in_children(
    settings: SearchSettings,
    study: optuna.Study,
    storage_url: str,
    setup: SearchSetup,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    callbacks: Sequence[Any] = (),
    *,
    log: Log,
    keras_callbacks: KerasCallbacks = (),
) -> bool:
    """Run the study's trials in child processes (see :mod:`gru_search.recycling`).

    ``storage_url`` is where the children open the study. Returns whether Ctrl-C or
    SIGTERM ended it early.
    """
    per_process = trials_per_process(settings, log) or AUTO_TRIALS_PER_PROCESS
    _log_start(settings, study, setup, per_process, log)
    child_settings = settings.replace(
        trials_per_process=None, progress_bar=False, n_jobs=1, storage=storage_url
    )
    task = ChildTask(
        run_share=run_child_share,
        storage_url=storage_url,
        study_name=study.study_name,
        payload=_ChildSearch(
            child_settings, setup, X, y, sample_weight, list(callbacks), keras_callbacks
        ),
    )
    progress = (
        StudyProgress(study, trials_to_run(settings), settings.timeout, setup.objective.name)
        if settings.progress_bar
        else None
    )
    try:
        interrupted = run_in_children(
            study,
            task,
            n_trials=trials_to_run(settings),
            timeout=settings.timeout,
            trials_per_process=per_process,
            base_seed=session_seed(setup.sampler_seed, study),
            log=log,  # above the bar: make_log writes through tqdm when there is one
            hopeless=hopeless_reason,
            while_waiting=None if progress is None else progress.refresh,
        )
    finally:
        if progress is not None:
            progress.close()
    log_if_hopeless(study, log)
    return interrupted


def select(
    settings: SearchSettings,
    study: optuna.Study,
    setup: SearchSetup,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    interrupted: bool = False,
    log: Log,
) -> tuple[optuna.trial.FrozenTrial, list[FinalistScore], int, float, bool]:
    """The trial to refit: cross-validate the finalists of a hold-out study, or the best.

    Returns the trial, the finalists' results (empty when none were cross-validated),
    their fold count, the seconds their cross-validation took and whether Ctrl-C
    interrupted the search (before or during the finalists).
    """
    wanted = n_finalists(settings, setup.space)
    no_finalists: list[FinalistScore] = []
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(setup.splits) > 1 or wanted < 2 or len(completed) < 2 or interrupted:
        # with cv, every trial is already judged on all the data
        return best_trial(study), no_finalists, 0, 0.0, interrupted
    splits = finalist_splits(
        y,
        setup.space.training.finalist_folds,
        classifier=is_classifier(settings.estimator),
        seed=setup.finalist_seed,
    )
    wanted = min(wanted, len(completed))
    log(
        f"[gru-search] cross-validating the {wanted} best trials on all {len(X)} "
        f"sequences ({len(splits)} folds each, their best epoch count) to pick the refit"
    )
    start = time.perf_counter()
    score_trial = functools.partial(
        cross_validate_trial,
        space=setup.space,
        estimator=settings.estimator,
        X=X,
        y=y,
        splits=splits,
        objective=setup.objective,
        sample_weight=sample_weight,
        random_state=setup.trial_seed,
        clear_session=settings.n_jobs == 1,
    )
    try:
        results, chosen = run_finalists(
            study, wanted, score_trial, objective=setup.objective, log=log
        )
    except KeyboardInterrupt:
        log("[gru-search] interrupted: refitting the best hold-out trial instead")
        return best_trial(study), no_finalists, 0, 0.0, True
    seconds = time.perf_counter() - start
    log(f"[gru-search] picked trial {chosen.number} ({seconds:.0f}s of cross-validation)")
    return chosen, results, len(splits), seconds, False


def refit_seed(settings: SearchSettings, setup: SearchSetup) -> int | None:
    """The seed the refit trains with: the search's trial seed, unless the estimator has
    its own ``random_state`` (None when neither is set: the refit is not repeatable)."""
    if settings.estimator.get_params().get("random_state") is None:
        return setup.trial_seed
    return None


def refit(
    settings: SearchSettings,
    setup: SearchSetup,
    trial: optuna.trial.FrozenTrial,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    log: Log,
) -> tuple[BaseEstimator, float]:
    """Fit ``trial``'s configuration on all the data for its best epoch count.

    Returns the estimator and the seconds it took.
    """
    params = refit_params(setup.space, trial)
    if (seed := refit_seed(settings, setup)) is not None:
        params["random_state"] = seed
    log(
        f"[gru-search] refitting trial {trial.number} on all {len(X)} sequences for "
        f"{params['epochs']} epochs"
    )
    start = time.perf_counter()
    estimator = clone(settings.estimator).set_params(**params)
    estimator.fit(X, y, sample_weight=sample_weight)
    return estimator, time.perf_counter() - start


def conclude(
    settings: SearchSettings,
    study: optuna.Study,
    setup: SearchSetup,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    interrupted: bool = False,
    log: Log,
) -> SearchOutcome:
    """Pick the trial to refit (finalists included) and, with ``settings.refit``, refit it."""
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed and interrupted:
        raise SearchFailedError(
            f"the search was interrupted before any trial of study {study.study_name!r} "
            "completed; nothing to refit"
        )
    if not completed:
        raise SearchFailedError(all_failed_message(study))
    chosen, finalists, folds, finalist_time, interrupted = select(
        settings, study, setup, X, y, sample_weight, interrupted=interrupted, log=log
    )
    record_selection(
        study,
        chosen,
        setup.objective.name,
        finalists,
        folds=folds,
        direction=setup.objective.direction,
    )
    outcome = SearchOutcome(
        study=study,
        space=setup.space,
        objective=setup.objective,
        best_trial=chosen,
        best_params=refit_params(setup.space, chosen),  # what best_estimator_ was fit with
        leaderboard=leaderboard(study),
        finalists=finalists_frame(finalists, chosen.number, setup.objective.name),
        finalist_time=finalist_time,
        n_splits=len(setup.splits),
        n_trials=len(study.trials),
        interrupted=interrupted,
    )
    if settings.refit:
        seed = refit_seed(settings, setup)
        if seed is not None:  # `gru-search export` refits with it: the same model
            study.set_user_attr(REFIT_SEED_KEY, seed)
        outcome.best_estimator, outcome.refit_time = refit(
            settings, setup, chosen, X, y, sample_weight, log=log
        )
    return outcome


def run_search(
    settings: SearchSettings,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    callbacks: Sequence[Any] = (),
    *,
    log: Log | None = None,
    keras_callbacks: KerasCallbacks = (),
) -> SearchOutcome:
    """The whole search: prepare, open the study, run its trials, conclude.

    Trials run in this process, or in child processes (see ``trials_per_process``); a
    study kept in memory lives in a temporary SQLite file while children share it, and
    comes back into memory before the end.
    """
    log = log or make_log(settings)
    warn_if_gpu_unused()
    if not callable(keras_callbacks):
        trial_keras_callbacks(keras_callbacks, 0)  # a wrong type fails here, not per trial
    setup = prepare(settings, X, y)
    if sample_weight is not None:
        checked_sample_weight(sample_weight, len(X))
    with quiet_optuna(settings.verbose):
        if not trials_per_process(settings, log):
            study = open_search_study(settings, setup, log=log)
            try:
                interrupted = optimize(
                    settings,
                    study,
                    setup,
                    X,
                    y,
                    sample_weight,
                    callbacks,
                    log=log,
                    keras_callbacks=keras_callbacks,
                )
                return conclude(
                    settings, study, setup, X, y, sample_weight, interrupted=interrupted, log=log
                )
            finally:
                release_connections(study)
        if settings.storage is not None and not isinstance(settings.storage, str):
            raise ValueError(
                "trials_per_process needs storage=None or a storage URL that child "
                f"processes can open, got a {type(settings.storage).__name__} object"
            )
        with tempfile.TemporaryDirectory(prefix="gru-search-") as folder:
            url = settings.storage or temporary_storage_url(folder)
            stored = open_search_study(settings, setup, storage=url, log=log)
            try:
                interrupted = optimize_in_children(
                    settings,
                    stored,
                    url,
                    setup,
                    X,
                    y,
                    sample_weight,
                    callbacks,
                    log=log,
                    keras_callbacks=keras_callbacks,
                )
                study = stored if settings.storage else copy_to_memory(stored)
            finally:
                release_connections(stored)  # before the temporary folder goes
        try:
            return conclude(
                settings, study, setup, X, y, sample_weight, interrupted=interrupted, log=log
            )
        finally:
            release_connections(study)


__all__ = [
    "SearchOutcome",
    "SearchSettings",
    "SearchSetup",
    "conclude",
    "make_log",
    "open_search_study",
    "optimize",
    "optimize_in_children",
    "prepare",
    "refit",
    "run_search",
    "select",
    "trial_function",
    "trial_logger",
    "trials_per_process",
    "trials_to_run",
]
