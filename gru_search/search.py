"""GRUSearchCV: an Optuna study over a search space, as a scikit-learn meta-estimator."""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gru_search.data import check_sequences
from gru_search.estimators import check_targets, checked_sample_weight
from gru_search.exceptions import SearchFailedError, StudyMismatchError
from gru_search.finalists import (
    FinalistScore,
    cross_validate_trial,
    finalist_splits,
    recorded_finalists,
    run_finalists,
)
from gru_search.recycling import (
    ChildTask,
    copy_to_memory,
    main_module_problem,
    optimize_in_children,
    temporary_storage_url,
)
from gru_search.spaces import SearchSpace, load_space
from gru_search.storage import make_storage, release_connections
from gru_search.trials import (
    Objective,
    StopWhenHopeless,
    TrainingDivergedError,
    all_failed_message,
    best_trial,
    hopeless_reason,
    refit_params,
    run_trial,
)

_MAX_SEED = 2**31 - 1
SAMPLERS = ("tpe", "random")
PRUNERS = ("hyperband", "median", "successive_halving", "none")
#: Study user attribute holding the space and task a study was created with.
STUDY_SPEC_KEY = "gru_search_spec"


def make_sampler(sampler: str | optuna.samplers.BaseSampler, seed: int | None, parallel: bool):
    """Optuna sampler by name, with every TPE argument explicit (Optuna 5 changed defaults)."""
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        with warnings.catch_warnings():  # `group` is flagged experimental since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                n_startup_trials=6,
                n_ei_candidates=24,
                multivariate=True,
                group=True,  # conditional parameters (per-layer units, `when:`) form groups
                constant_liar=parallel,
                seed=seed,
            )
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")


def make_pruner(pruner: str | optuna.pruners.BasePruner | None, warmup: int, epochs: int):
    """Optuna pruner by name; every one waits ``warmup`` epochs before it cuts."""
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner in (None, "none"):
        return optuna.pruners.NopPruner()
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=warmup, max_resource=epochs, reduction_factor=3
        )
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    if pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup, reduction_factor=3)
    raise ValueError(f"unknown pruner {pruner!r}; expected one of {', '.join(PRUNERS)}")


def study_spec(
    space: SearchSpace, task: str, objective: Objective, validation: str | None = None
) -> dict[str, Any]:
    """What must agree between a study and whoever adds trials to it."""
    spec = {"space": space.to_dict(), "task": task, "metric": objective.name}
    if validation is not None:
        spec["validation"] = validation
    return spec


def describe_validation_scheme(cv: Any, validation_fraction: float) -> str:
    """How trials are validated, as stored with a study: ``holdout-0.2``, ``5-fold``, ..."""
    if cv is None:
        return f"holdout-{validation_fraction:g}"
    if isinstance(cv, int) and not isinstance(cv, bool):
        return f"{cv}-fold"
    return repr(cv)


def finished_trial_count(study: optuna.Study) -> int:
    """Trials that ran to an end (complete, pruned or failed); queued ones do not count."""
    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    )
    return len(study.get_trials(deepcopy=False, states=states))


def session_seed(seed: int, study: optuna.Study) -> int:
    """The sampler seed of this session: ``seed`` for a new study, another on resume.

    A resumed study reseeded with the same value would propose its first trials again;
    offsetting by the number of finished trials keeps a rerun reproducible and every
    session's proposals new.
    """
    finished = finished_trial_count(study)
    return seed if finished == 0 else (seed + 1_000_003 * finished) % _MAX_SEED


def open_study(
    *,
    storage: str | optuna.storages.BaseStorage | None,
    study_name: str | None,
    spec: dict[str, Any],
    direction: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Create the study, or resume one of the same name after checking it matches ``spec``."""
    study = optuna.create_study(
        storage=make_storage(storage),
        study_name=study_name,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    stored = study.user_attrs.get(STUDY_SPEC_KEY)
    if stored is None:
        if study.direction.name.lower() != direction:
            raise StudyMismatchError(
                f"study {study.study_name!r} {study.direction.name.lower()}s its objective, "
                f"but this search would {direction} it"
            )
        study.set_user_attr(STUDY_SPEC_KEY, spec)
    elif differing := spec_conflicts(stored, spec):
        raise StudyMismatchError(
            f"study {study.study_name!r} already exists with a different "
            f"{' and '.join(differing)}; use another study name, or the same space, task, "
            "metric and data to resume it"
        )
    return study


def spec_conflicts(stored: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Keys of a study spec (space, task, metric, data) on which two specs disagree.

    ``data`` is compared only when both name it: a search started from Python holds its
    data in memory and records none. ``validation`` (hold-out or K folds) is compared when
    both record it (studies created before it was recorded do not): scores of a hold-out
    and of a cross-validation do not rank against each other.
    """
    stored, given = json.loads(json.dumps(stored)), json.loads(json.dumps(given))
    differing = []
    for key in ("space", "task", "metric", "data", "validation"):
        if key in ("data", "validation") and (stored.get(key) is None or given.get(key) is None):
            continue
        if stored.get(key) != given.get(key):
            differing.append(key)
    return differing


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


def _describe_validation(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    if len(splits) == 1:
        return f"hold-out of {len(splits[0][1])}"
    return f"{len(splits)}-fold CV"


@contextlib.contextmanager
def quiet_optuna(verbose: int) -> Iterator[None]:
    """Optuna's own per-trial INFO lines duplicate ours: keep them for verbose > 1 only."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING if verbose > 1 else logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


class GRUSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Search GRU sequence models with Optuna and refit the best one.

    Parameters
    ----------
    estimator : GRUClassifier or GRURegressor
        The base estimator; the space's parameters override its own in every trial.
    space : str, path or SearchSpace, default="default"
        A shipped space name (``"default"``, ``"quick"``, ``"gate_variants"``), a YAML
        file, or a :class:`~gru_search.spaces.SearchSpace`.
    n_trials : int or None, default=None
        Trials to run in this call (None: until ``timeout``; both None: 20 trials).
    timeout : float or None, default=None
        Wall-clock seconds for the study; the trial running at the limit finishes.
    cv : None, int or cross-validation splitter, default=None
        None: one stratified hold-out of ``validation_fraction``. An int or a splitter:
        every trial trains on every fold (its first fold is the one pruned on).
    validation_fraction : float, default=0.2
        Size of the hold-out when ``cv`` is None.
    scoring : str or None, default=None
        A scikit-learn scorer name or ``"loss"``; None takes the space's ``metric``
        (accuracy for classifiers, r2 for regressors when the space names none).
    sampler : {"tpe", "random"} or optuna sampler, default="tpe"
        TPE is created with explicit arguments (multivariate, grouped, 6 random start-up
        trials after the space's ``start_from`` trials).
    pruner : {"hyperband", "median", "successive_halving", "none"} or optuna pruner, \
default="hyperband"
        Pruning starts after the space's ``pruning_warmup`` epochs.
    storage : str, optuna storage or None, default=None
        None keeps the study in memory; any Optuna storage URL (``sqlite:///study.db``,
        ``postgresql://...``) persists it for optuna-dashboard and for resuming.
    study_name : str or None, default=None
        A study of this name in ``storage`` resumes if its space, task and metric match.
    refit : bool, default=True
        Refit the best configuration on all the data, for its best epoch count.
    finalists : int or None, default=None
        When trials are validated on one split (``cv=None``, or a splitter with one
        split), this many of the best trials are then cross-validated on all the data
        (the space's ``finalist_folds`` folds, each trained for the trial's best epoch
        count, as the refit will be) and the best mean fold score is refit: a dozen
        validation sequences often tie several configurations. None takes the space's
        ``finalists`` (3 in the default space); 1 refits the best trial as it is. This
        runs after the study, so it adds to ``timeout``; Ctrl-C during it refits the best
        trial instead.
    random_state : int, RandomState or None, default=None
        Seeds the sampler, the hold-out split and (when the estimator has none) every
        trial's training. With ``n_jobs=1`` on a CPU the same value gives the same
        sequence of trial parameters.
    n_jobs : int, default=1
        Trials run at once in this process (threads). For several processes or machines,
        use a shared storage and ``gru-search worker``.
    progress_bar : bool, default=False
        Optuna's progress bar (trials or seconds done, best value so far).
    trials_per_process : int, "auto" or None, default="auto"
        Run the trials in child processes that exit after this many trials, giving back
        the memory TensorFlow keeps from every model it built (a long search in one
        process grows without bound; see ``benchmarks/memory.py``). None runs them all in
        this process. ``"auto"``: 20 per process when the study may run more than 20
        trials (``n_trials`` > 20, or a ``timeout`` without ``n_trials``) and ``n_jobs``
        is 1, otherwise in this process. With child processes the estimator, data and
        callbacks must be picklable, an in-memory study lives in a temporary SQLite
        file during the search, and (the processes being spawned, so re-importing the
        main module) a script must run the search under ``if __name__ == "__main__":``.
    verbose : int, default=1
        0 silent, 1 one line per trial, 2 also Keras' per-epoch lines.

    Attributes
    ----------
    best_estimator_ : estimator
        The best configuration refit on all the data (when ``refit``).
    best_params_ : dict
        Estimator parameters of the best trial.
    best_score_ : float
        Its validation score (mean over folds).
    best_trial_ : optuna.trial.FrozenTrial
        The trial refit: the finalists' pick, or the best hold-out trial.
    finalists_ : pandas.DataFrame
        The finalists' cross-validated scores, picked one first (empty without finalists).
    finalist_time_ : float
        Seconds the finalists' cross-validation took.
    study_ : optuna.Study
    space_ : SearchSpace
    leaderboard_ : pandas.DataFrame
        Finished trials, the refit one first (see :meth:`leaderboard`).
    n_trials_ : int
        Trials in the study (all states).
    n_splits_ : int
        Validation splits every trial trained on (1 for the hold-out).
    refit_time_ : float
        Seconds the refit took.
    interrupted_ : bool
        Whether Ctrl-C ended the study early (finished trials are kept).
    """

    def __init__(
        self,
        estimator: BaseEstimator,
        *,
        space: str | SearchSpace = "default",
        n_trials: int | None = None,
        timeout: float | None = None,
        cv: Any = None,
        validation_fraction: float = 0.2,
        scoring: str | None = None,
        sampler: Any = "tpe",
        pruner: Any = "hyperband",
        storage: Any = None,
        study_name: str | None = None,
        refit: bool = True,
        finalists: int | None = None,
        random_state: Any = None,
        n_jobs: int = 1,
        progress_bar: bool = False,
        trials_per_process: int | str | None = "auto",
        verbose: int = 1,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.validation_fraction = validation_fraction
        self.scoring = scoring
        self.sampler = sampler
        self.pruner = pruner
        self.storage = storage
        self.study_name = study_name
        self.refit = refit
        self.finalists = finalists
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress_bar = progress_bar
        self.trials_per_process = trials_per_process
        self.verbose = verbose

    # -- steps -------------------------------------------------------------------------
    def _splits(self, X: Any, y: Any, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        n_samples = len(X)
        classifier = is_classifier(self.estimator)
        if self.cv is None:
            if not 0 < self.validation_fraction < 1:
                raise ValueError(
                    f"validation_fraction must lie in (0, 1), got {self.validation_fraction!r}"
                )
            rows = np.arange(n_samples)
            try:
                train, val = train_test_split(
                    rows,
                    test_size=self.validation_fraction,
                    random_state=seed,
                    stratify=np.asarray(y) if classifier else None,
                )
            except ValueError:  # a class too small to stratify
                train, val = train_test_split(
                    rows, test_size=self.validation_fraction, random_state=seed
                )
            return [(train, val)]
        splitter = check_cv(self.cv, np.asarray(y), classifier=classifier)
        placeholder = np.zeros((n_samples, 1))
        return [(train, val) for train, val in splitter.split(placeholder, np.asarray(y))]

    def _log(self, message: str) -> None:
        if not self.verbose:
            return
        if self.progress_bar:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)  # above the bar, not through it
        else:
            print(message, file=sys.stderr, flush=True)

    def _trial_logger(self, space: SearchSpace, objective: Objective):
        def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if not self.verbose:
                return
            params = trial.user_attrs.get("estimator_params", trial.params)
            shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "epochs")
            seconds = trial.user_attrs.get("train_seconds")
            took = "" if seconds is None else f" in {seconds:.1f}s"
            value = "" if trial.value is None else f" {objective.name}={trial.value:.4f}"
            if trial.state == optuna.trial.TrialState.FAIL:
                reason = trial.user_attrs.get("fail_reason", "no reason recorded")
                value = f" ({reason})"
            try:
                leader = best_trial(study)
                best = f" (best {leader.value:.4f} #{leader.number})"
            except ValueError:
                best = ""
            self._log(
                f"[gru-search] trial {trial.number} {trial.state.name.lower()}{value}"
                f"{took}{best}: {shown}"
            )

        return report

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        callbacks: Sequence[Any] | None = None,
    ) -> GRUSearchCV:
        """Run the study, then refit the best configuration on all of ``X, y``.

        Parameters
        ----------
        X : sequences in any layout the estimator accepts
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
        callbacks : list of callables, optional
            Optuna callbacks ``callback(study, frozen_trial)``, called after every trial.

        Returns
        -------
        self
        """
        setup = self._setup(X, y)
        if sample_weight is not None:
            checked_sample_weight(sample_weight, len(X))
        callbacks = list(callbacks or [])
        with quiet_optuna(self.verbose):
            if not self._resolved_trials_per_process():
                study = self._open_study(setup)
                try:
                    self._optimize(study, setup, X, y, sample_weight, callbacks)
                    return self._conclude(study, setup, X, y, sample_weight)
                finally:
                    release_connections(study)
            if self.storage is not None and not isinstance(self.storage, str):
                raise ValueError(
                    "trials_per_process needs storage=None or a storage URL that child "
                    f"processes can open, got a {type(self.storage).__name__} object"
                )
            with tempfile.TemporaryDirectory(prefix="gru-search-") as folder:
                url = self.storage or temporary_storage_url(folder)
                stored = self._open_study(setup, storage=url)
                try:
                    self._optimize_in_children(stored, url, setup, X, y, sample_weight, callbacks)
                    study = stored if self.storage else copy_to_memory(stored)
                finally:
                    release_connections(stored)  # before the temporary folder goes
            try:
                return self._conclude(study, setup, X, y, sample_weight)
            finally:
                release_connections(study)

    # -- the steps of fit, shared with the multi-process workers -------------------------
    def _setup(self, X: Any, y: Any) -> SearchSetup:
        """Validate the inputs and fix the space, objective, splits and seeds."""
        space = load_space(self.space)
        self._n_finalists(space)  # fail on a bad value before any trial
        # fail here, once and with the reason, on what every trial would fail on
        check_sequences(X, estimator_name=type(self).__name__)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        check_targets(self.estimator, y)
        scoring = self.scoring if self.scoring is not None else space.training.metric
        objective = Objective.create(scoring, self.estimator)
        rng = check_random_state(self.random_state)
        sampler_seed = int(rng.randint(_MAX_SEED))
        split_seed = int(rng.randint(_MAX_SEED))
        trial_seed = int(rng.randint(_MAX_SEED)) if self.random_state is not None else None
        finalist_seed = int(rng.randint(_MAX_SEED))
        return SearchSetup(
            space=space,
            objective=objective,
            splits=self._splits(X, y, split_seed),
            task=getattr(self.estimator, "_task", "classification"),
            sampler_seed=sampler_seed,
            trial_seed=trial_seed,
            finalist_seed=finalist_seed,
        )

    def _open_study(
        self,
        setup: SearchSetup,
        extra_spec: dict[str, Any] | None = None,
        *,
        storage: Any = None,
        **storage_options: Any,
    ) -> optuna.Study:
        space = setup.space
        validation = describe_validation_scheme(self.cv, self.validation_fraction)
        study = open_study(
            storage=make_storage(storage or self.storage, **storage_options),
            study_name=self.study_name,
            spec={
                **study_spec(space, setup.task, setup.objective, validation),
                **(extra_spec or {}),
            },
            direction=setup.objective.direction,
            sampler=make_sampler(self.sampler, setup.sampler_seed, parallel=self.n_jobs != 1),
            pruner=make_pruner(self.pruner, space.training.pruning_warmup, space.training.epochs),
        )
        if not study.trials:
            for point in space.start_points:
                study.enqueue_trial(point, skip_if_exists=True)
        elif finished := finished_trial_count(study):
            counts = collections.Counter(t.state.name.lower() for t in study.trials)
            self._log(
                f"[gru-search] resuming study {study.study_name!r} with {finished} finished "
                "trials ("
                + ", ".join(f"{counts[s]} {s}" for s in ("complete", "pruned", "fail") if counts[s])
                + "); new trials are sampled with a new seed"
            )
            seed = session_seed(setup.sampler_seed, study)
            study.sampler = make_sampler(self.sampler, seed, parallel=self.n_jobs != 1)
        return study

    def _trial_function(
        self, setup: SearchSetup, X: Any, y: Any, sample_weight: Any = None
    ) -> Callable[[optuna.Trial], float]:
        """The objective of one trial (what ``study.optimize`` or a worker calls)."""

        def trial_function(trial: optuna.Trial) -> float:
            return run_trial(
                trial,
                space=setup.space,
                estimator=self.estimator,
                X=X,
                y=y,
                splits=setup.splits,
                objective=setup.objective,
                sample_weight=sample_weight,
                random_state=setup.trial_seed,
                clear_session=self.n_jobs == 1,
            )

        return trial_function

    def _n_trials(self) -> int | None:
        """Trials for this call: ``n_trials``, or 20 when neither it nor a timeout is set."""
        if self.n_trials is None and self.timeout is None:
            return 20
        return self.n_trials

    def _log_start(self, study: optuna.Study, setup: SearchSetup, n_trials: int | None) -> None:
        recycled = self._resolved_trials_per_process()
        self._log(
            f"[gru-search] study {study.study_name!r}: space {setup.space.name!r}, "
            f"{n_trials if n_trials is not None else 'as many'} trials"
            + (f" within {self.timeout:.0f}s" if self.timeout else "")
            + f", {setup.objective.direction} validation {setup.objective.name} "
            f"({_describe_validation(setup.splits)})"
            + (f", {recycled} per process" if recycled else "")
        )

    def _optimize(
        self,
        study: optuna.Study,
        setup: SearchSetup,
        X: Any,
        y: Any,
        sample_weight: Any,
        callbacks: list[Any],
    ) -> None:
        n_trials = self._n_trials()
        self._log_start(study, setup, n_trials)
        self.interrupted_ = False
        try:
            study.optimize(
                self._trial_function(setup, X, y, sample_weight),
                n_trials=n_trials,
                timeout=self.timeout,
                n_jobs=self.n_jobs,
                catch=(Exception,),  # one broken trial fails alone; the study goes on
                callbacks=[
                    self._trial_logger(setup.space, setup.objective),
                    StopWhenHopeless(),
                    *callbacks,
                ],
                gc_after_trial=False,  # run_trial clears the Keras session and collects
                show_progress_bar=self.progress_bar,
            )
            self._log_if_hopeless(study)
        except KeyboardInterrupt:
            self.interrupted_ = True
            self._log(
                "[gru-search] interrupted: the running trial is marked failed, "
                "finished trials are kept"
            )

    def _resolved_trials_per_process(self) -> int | None:
        value = self.trials_per_process
        if value != "auto":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(
                    f"trials_per_process must be a positive integer, 'auto' or None, got {value!r}"
                )
            return value
        long_study = (self.n_trials is None and self.timeout is not None) or (
            self.n_trials is not None and self.n_trials > 20
        )
        in_memory_or_url = self.storage is None or isinstance(self.storage, str)
        if not (long_study and self.n_jobs == 1 and in_memory_or_url):
            return None
        if problem := main_module_problem():
            self._log(f"[gru-search] trials run in this process: {problem}")
            return None
        return 20

    def _optimize_in_children(
        self,
        study: optuna.Study,
        storage_url: str,
        setup: SearchSetup,
        X: Any,
        y: Any,
        sample_weight: Any,
        callbacks: list[Any],
    ) -> None:
        n_trials = self._n_trials()
        self._log_start(study, setup, n_trials)
        child_params = {
            **self.get_params(deep=False),
            "trials_per_process": None,
            "progress_bar": False,
            "n_jobs": 1,
            "storage": storage_url,
        }
        task = ChildTask(
            child_params, storage_url, study.study_name, setup, X, y, sample_weight, callbacks
        )
        self.interrupted_ = optimize_in_children(
            study,
            task,
            n_trials=n_trials,
            timeout=self.timeout,
            trials_per_process=self._resolved_trials_per_process() or 20,
            base_seed=session_seed(setup.sampler_seed, study),
            log=self._log,
            hopeless=hopeless_reason,
        )
        self._log_if_hopeless(study)

    def _log_if_hopeless(self, study: optuna.Study) -> None:
        if reason := hopeless_reason(study):
            self._log(
                f"[gru-search] stopped: the first {finished_trial_count(study)} trials all "
                f"failed with: {reason}"
            )

    def _conclude(
        self, study: optuna.Study, setup: SearchSetup, X: Any, y: Any, sample_weight: Any = None
    ) -> GRUSearchCV:
        """Pick the best trial of ``study`` and (with ``refit``) refit it on all the data."""
        space = setup.space
        self.study_ = study
        self.space_ = space
        self.scorer_ = setup.objective
        self.n_trials_ = len(study.trials)
        self.n_splits_ = len(setup.splits)
        if not hasattr(self, "interrupted_"):
            self.interrupted_ = False
        completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not completed and self.interrupted_:
            raise SearchFailedError(
                f"the search was interrupted before any trial of study {study.study_name!r} "
                "completed; nothing to refit"
            )
        if not completed:
            raise SearchFailedError(all_failed_message(study))
        self.best_trial_ = self._select(study, setup, X, y, sample_weight)
        self.leaderboard_ = leaderboard(study)
        self.best_score_ = float(self.best_trial_.value)
        self.best_params_ = space.to_estimator_params(self.best_trial_.params)
        self.best_index_ = self.best_trial_.number
        if self.refit:
            params = refit_params(space, self.best_trial_)
            if (
                self.estimator.get_params().get("random_state") is None
                and setup.trial_seed is not None
            ):
                params["random_state"] = setup.trial_seed
            self._log(
                f"[gru-search] refitting trial {self.best_trial_.number} on all "
                f"{len(X)} sequences for {params['epochs']} epochs"
            )
            start = time.perf_counter()
            self.best_estimator_ = clone(self.estimator).set_params(**params)
            self.best_estimator_.fit(X, y, sample_weight=sample_weight)
            self.refit_time_ = time.perf_counter() - start
            if hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
            self.n_features_in_ = self.best_estimator_.n_features_in_
        return self

    def _n_finalists(self, space: SearchSpace) -> int:
        value = space.training.finalists if self.finalists is None else self.finalists
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"finalists must be a positive integer or None, got {value!r}")
        return value

    def _select(
        self, study: optuna.Study, setup: SearchSetup, X: Any, y: Any, sample_weight: Any
    ) -> optuna.trial.FrozenTrial:
        """The trial to refit: cross-validate the finalists of a hold-out study, or the best."""
        n_finalists = self._n_finalists(setup.space)
        self.finalists_ = finalists_frame([], None, setup.objective.name)
        self.finalist_time_ = 0.0
        completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if len(setup.splits) > 1 or n_finalists < 2 or len(completed) < 2 or self.interrupted_:
            # with cv, every trial is already judged on all the data
            return best_trial(study)
        splits = finalist_splits(
            y,
            setup.space.training.finalist_folds,
            classifier=is_classifier(self.estimator),
            seed=setup.finalist_seed,
        )
        n_finalists = min(n_finalists, len(completed))
        self._log(
            f"[gru-search] cross-validating the {n_finalists} best trials on all {len(X)} "
            f"sequences ({len(splits)} folds each, their best epoch count) to pick the refit"
        )
        start = time.perf_counter()
        try:
            score_trial = functools.partial(
                cross_validate_trial,
                space=setup.space,
                estimator=self.estimator,
                X=X,
                y=y,
                splits=splits,
                objective=setup.objective,
                sample_weight=sample_weight,
                random_state=setup.trial_seed,
                clear_session=self.n_jobs == 1,
            )
            results, chosen = run_finalists(
                study, n_finalists, score_trial, objective=setup.objective, log=self._log
            )
        except KeyboardInterrupt:
            self.interrupted_ = True
            self._log("[gru-search] interrupted: refitting the best hold-out trial instead")
            return best_trial(study)
        self.finalist_time_ = time.perf_counter() - start
        self.finalists_ = finalists_frame(results, chosen.number, setup.objective.name)
        self._log(
            f"[gru-search] picked trial {chosen.number} "
            f"({self.finalist_time_:.0f}s of cross-validation)"
        )
        return chosen

    # -- delegation --------------------------------------------------------------------
    def _check_refit(self, method: str) -> None:
        check_is_fitted(self, "best_trial_")
        if not self.refit:
            raise AttributeError(f"{method} is available only with refit=True")

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of ``best_estimator_``."""
        self._check_refit("predict")
        return self.best_estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of ``best_estimator_`` (classifiers)."""
        self._check_refit("predict_proba")
        return self.best_estimator_.predict_proba(X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """``best_estimator_``'s own score (accuracy or R²)."""
        self._check_refit("score")
        return self.best_estimator_.score(X, y, sample_weight=sample_weight)

    def leaderboard(self, top: int | None = None) -> pd.DataFrame:
        """Finished trials, best first: value, parameters, size, epochs and seconds."""
        check_is_fitted(self, "study_")
        frame = leaderboard(self.study_)
        return frame if top is None else frame.head(top)


def finalists_frame(
    results: Sequence[FinalistScore], picked: int | None, metric: str
) -> pd.DataFrame:
    """The finalists as a table: the picked trial first, then the others in study order.

    With ``metric="loss"`` the cross-validated score is the loss: one ``cv_loss`` column.
    """
    rows = [
        {
            "trial": r.trial,
            "picked": r.trial == picked,
            f"cv_{metric}": r.score,
            "cv_std": float(np.std(r.fold_scores)),
            "cv_loss": r.loss,
            f"holdout_{metric}": r.study_value,
            "seconds": r.seconds,
        }
        for r in results
    ]
    columns = ["trial", "picked", f"cv_{metric}", "cv_std", "cv_loss", f"holdout_{metric}"]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys([*columns, "seconds"])))
    return frame.sort_values("picked", ascending=False, kind="stable").reset_index(drop=True)


LEADERBOARD_COLUMNS = (
    "trial",
    "state",
    "value",
    "finalist_score",
    "validation_loss",
    "cell",
    "units",
    "n_params",
    "fused_kernel",
    "best_epoch",
    "epochs_run",
    "mean_epoch_seconds",
    "train_seconds",
)


def leaderboard(
    study: optuna.Study, states: Sequence[str] = ("COMPLETE", "PRUNED")
) -> pd.DataFrame:
    """A study's trials as a table, completed trials best first, then pruned ones.

    When finalists were cross-validated (and no trial completed since), they come first,
    ordered by that score (``finalist_score``), so the first row is the trial refit.
    """
    record = recorded_finalists(study) or {}
    finalist_scores = record.get("trials", {})
    rows = []
    for trial in study.trials:
        if trial.state.name not in states:
            continue
        params = trial.user_attrs.get("estimator_params", {})
        row = {
            "trial": trial.number,
            "state": trial.state.name,
            "value": trial.value,
            "finalist_score": finalist_scores.get(str(trial.number), {}).get("score"),
            "validation_loss": trial.user_attrs.get("validation_loss"),
            "cell": params.get("cell", trial.user_attrs.get("cell")),
            "units": tuple(params.get("units", ())),
            "n_params": trial.user_attrs.get("n_params"),
            "fused_kernel": trial.user_attrs.get("fused_kernel"),
            "best_epoch": trial.user_attrs.get("best_epoch"),
            "epochs_run": len(trial.intermediate_values),
            "mean_epoch_seconds": trial.user_attrs.get("mean_epoch_seconds"),
            "train_seconds": trial.user_attrs.get("train_seconds"),
        }
        row.update({k: v for k, v in params.items() if k not in ("cell", "units", "epochs")})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else list(LEADERBOARD_COLUMNS))
    if frame.empty:
        return frame
    ascending = study.direction == optuna.study.StudyDirection.MINIMIZE
    frame["_complete"] = frame["state"] == "COMPLETE"
    # the refit trial first, then the other finalists, then the rest
    frame["_group"] = np.where(
        frame["trial"] == record.get("picked"), 0, np.where(frame["finalist_score"].notna(), 1, 2)
    )
    frame = frame.sort_values(
        ["_complete", "_group", "finalist_score", "value", "validation_loss", "trial"],
        ascending=[False, True, ascending, ascending, True, True],
        na_position="last",
    )
    return frame.drop(columns=["_complete", "_group"]).reset_index(drop=True)


__all__ = ["GRUSearchCV", "StudyMismatchError", "TrainingDivergedError", "leaderboard"]
