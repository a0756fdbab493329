"""GRUSearchCV: an Optuna study over a search space, as a scikit-learn meta-estimator.

The search itself is :mod:`gru_search.engine`; this class holds its settings as
scikit-learn parameters and its outcome as fitted attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.utils.validation import check_is_fitted

from gru_search.engine import SearchOutcome, SearchSettings, run_search
from gru_search.exceptions import StudyMismatchError
from gru_search.leaderboard import leaderboard
from gru_search.spaces import SearchSpace
from gru_search.trials import TrainingDivergedError


class GRUSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Search GRU sequence models with Optuna and refit the best one.

    Parameters
    ----------
    estimator : GRUClassifier, GRURegressor or GRUTextClassifier
        The base estimator; the space's parameters override its own in every trial. A
        GRUTextClassifier goes with a ``task: text`` space (``"text"``), and only with it.
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
        Estimator parameters of the best trial as refit: ``epochs`` is the trial's best
        epoch count, so ``clone(estimator).set_params(**best_params_)`` trains what
        ``best_estimator_`` is.
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

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        callbacks: Sequence[Any] | None = None,
        keras_callbacks: Any = None,
    ) -> GRUSearchCV:
        """Run the study, then refit the best configuration on all of ``X, y``.

        Parameters
        ----------
        X : sequences in any layout the estimator accepts
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
        callbacks : list of callables, optional
            Optuna callbacks ``callback(study, frozen_trial)``, called after every trial.
        keras_callbacks : list of keras.callbacks.Callback, or callable, optional
            Keras callbacks that train along in every trial (every fold of it), such as
            ``keras.callbacks.TensorBoard``; or a function of the trial number returning
            them, e.g. ``lambda n: [TensorBoard(f"logs/trial-{n}")]`` for one log folder
            per trial. Trials in child processes need them picklable (a function defined
            at module level, not a lambda). The finalists and the refit do not use them.

        Returns
        -------
        self
        """
        outcome = run_search(
            self.settings(),
            X,
            y,
            sample_weight,
            list(callbacks or []),
            keras_callbacks=keras_callbacks or (),
        )
        return self._adopt(outcome)

    def settings(self) -> SearchSettings:
        """This search's parameters as a :class:`~gru_search.engine.SearchSettings` record."""
        return SearchSettings(**self.get_params(deep=False))

    @classmethod
    def from_outcome(cls, settings: SearchSettings, outcome: SearchOutcome) -> GRUSearchCV:
        """A fitted search from a search run step by step with :mod:`gru_search.engine`.

        ``gru-search run`` does so: it opens the study, runs trials (in workers, perhaps)
        and concludes through the engine, then exports this object.
        """
        return cls(**vars(settings))._adopt(outcome)

    def _adopt(self, outcome: SearchOutcome) -> GRUSearchCV:
        self.study_ = outcome.study
        self.space_ = outcome.space
        self.scorer_ = outcome.objective
        self.n_trials_ = outcome.n_trials
        self.n_splits_ = outcome.n_splits
        self.interrupted_ = outcome.interrupted
        self.best_trial_ = outcome.best_trial
        self.leaderboard_ = outcome.leaderboard
        self.finalists_ = outcome.finalists
        self.finalist_time_ = outcome.finalist_time
        self.best_score_ = outcome.best_score
        self.best_params_ = outcome.best_params
        self.best_index_ = outcome.best_trial.number
        if outcome.best_estimator is not None:
            self.best_estimator_ = outcome.best_estimator
            self.refit_time_ = outcome.refit_time
            if hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
            if hasattr(self.best_estimator_, "n_features_in_"):  # texts have no features
                self.n_features_in_ = self.best_estimator_.n_features_in_
        return self

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


__all__ = ["GRUSearchCV", "StudyMismatchError", "TrainingDivergedError", "leaderboard"]
