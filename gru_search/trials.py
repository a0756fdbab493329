"""One Optuna trial: sample a configuration, train, score and prune every epoch.

Kept apart from :mod:`gru_search.search` so that a worker process (or a test) can run
trials without the meta-estimator around them.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import optuna
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils import _safe_indexing

from gru_search.estimators import reusing_predictions
from gru_search.spaces import SearchSpace
from gru_search.stopping import WorkerStopped, raise_if_stop_requested, stop_requested


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite; the trial fails, the study goes on."""


def index_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows of an array, a DataFrame or a list of uneven sequences."""
    if isinstance(X, (list, tuple)):
        return [X[row] for row in rows]
    return _safe_indexing(X, rows)


@dataclass(frozen=True)
class Objective:
    """What a trial optimises: a scikit-learn scorer (greater is better) or the loss.

    Attributes
    ----------
    name : str
        The metric's name as given (``"accuracy"``, ``"loss"``, ...).
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.
    sign : float
        +1 for scores; -1 for ``"loss"`` (stored values are then the loss itself).
    """

    name: str
    scorer: Callable[[Any, Any, Any], float]
    sign: float
    loss: Callable[[Any, Any, Any], float]

    @property
    def direction(self) -> str:
        return "maximize" if self.sign > 0 else "minimize"

    @classmethod
    def create(cls, metric: str | None, estimator: Any) -> Objective:
        """The objective for ``metric`` (``None``: accuracy or r2 by task)."""
        classifier = is_classifier(estimator)
        if metric is None:
            metric = "accuracy" if classifier else "r2"
        if (kind := metric_task(metric)) and kind != (
            "classification" if classifier else "regression"
        ):
            raise ValueError(
                f"metric {metric!r} scores {kind}, but {type(estimator).__name__} does "
                f"{'classification' if classifier else 'regression'}; leave the space's "
                "training.metric out (accuracy or r2 by task) or name a "
                f"{'classification' if classifier else 'regression'} metric"
            )
        loss_name = "neg_log_loss" if classifier else "neg_mean_squared_error"
        loss = check_scoring(estimator, scoring=loss_name)
        if metric == "loss":
            return cls("loss", loss, -1.0, loss)
        return cls(metric, check_scoring(estimator, scoring=metric), 1.0, loss)

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        return self.sign * float(self.scorer(estimator, X, y))

    def validation_loss(self, estimator: Any, X: Any, y: Any) -> float:
        """Log loss (classifiers) or mean squared error (regressors): the tie-breaker."""
        return -float(self.loss(estimator, X, y))

    def score_and_loss(self, estimator: Any, X: Any, y: Any) -> tuple[float, float]:
        """The objective and the validation loss from one prediction of ``X``."""
        with reusing_predictions(estimator):
            return self(estimator, X, y), self.validation_loss(estimator, X, y)


def metric_task(metric: str) -> str | None:
    """``"classification"`` or ``"regression"``: what a scikit-learn scorer can score.

    None for ``"loss"`` (either task) and for scorers this cannot tell.
    """
    if metric == "loss":
        return None
    from sklearn.metrics import get_scorer

    scorer = get_scorer(metric)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    response = getattr(scorer, "_response_method", "predict")
    needs_scores = response != "predict"  # probabilities or decision values: classes
    if "._classification" in module or "._ranking" in module or needs_scores:
        return "classification"
    if "._regression" in module:
        return "regression"
    return None


class PruningCallback(keras.callbacks.Callback):
    """What every per-epoch trial callback shares: a worker's stop request (checked after
    every batch), divergence, and reporting each epoch's value to Optuna's pruner.

    Each stops training through ``model.stop_training`` rather than an exception inside
    Keras, so the training loop always ends cleanly; the trial then raises.
    """

    def __init__(self, trial: optuna.Trial | None) -> None:
        super().__init__()
        self.trial = trial
        self.values: list[float] = []
        self.pruned = False
        self.diverged: str | None = None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if stop_requested() is not None:
            self.model.stop_training = True

    def epoch_can_be_scored(self, epoch: int, logs: dict | None) -> bool:
        """False when a stop was requested (the trial is abandoned: no score, no report)
        or the training loss diverged (training stops, the reason kept in ``diverged``)."""
        if stop_requested() is not None:
            return False
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged = f"training loss became {float(loss)} at epoch {epoch + 1}"
            self.model.stop_training = True
            return False
        return True

    def record(self, value: float, epoch: int) -> None:
        """Keep the 0-based ``epoch``'s value; report it (step ``epoch + 1``) and prune."""
        self.values.append(value)
        if self.trial is None or not math.isfinite(value):
            return
        self.trial.report(value, step=epoch + 1)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


class EpochReporter(PruningCallback):
    """Score the validation data after every epoch; report it to Optuna and prune.

    Pruning, divergence and a worker's stop request (checked after every batch) stop
    training through ``model.stop_training`` rather than an exception inside Keras, so the
    training loop always ends cleanly; the trial then raises :class:`optuna.TrialPruned`,
    :class:`TrainingDivergedError` or :class:`~gru_search.stopping.WorkerStopped`.
    """

    def __init__(
        self,
        estimator: Any,
        objective: Objective,
        X_val: Any,
        y_val: Any,
        trial: optuna.Trial | None,
    ) -> None:
        super().__init__(trial)
        self.estimator = estimator
        self.objective = objective
        self.X_val = X_val
        self.y_val = y_val
        self.losses: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.epoch_can_be_scored(epoch, logs):
            return
        value, loss = self.objective.score_and_loss(self.estimator, self.X_val, self.y_val)
        self.losses.append(loss)
        self.record(value, epoch)

    def best(self) -> tuple[float, float, int]:
        """Best value, its validation loss and its 1-based epoch.

        On a validation set of a dozen sequences many epochs tie on accuracy; among them
        the one with the lowest validation loss wins (a finer, less noisy measure).
        """
        order = sorted(
            range(len(self.values)),
            key=lambda i: (-self.objective.sign * self.values[i], self.losses[i], -i),
        )
        best = order[0]
        return float(self.values[best]), float(self.losses[best]), best + 1


def release_keras_memory() -> None:
    """Clear the Keras session and collect: TensorFlow keeps every graph alive otherwise."""
    keras.backend.clear_session()
    gc.collect()


#: Keras callbacks for every trial: a list, or a function of the trial number that
#: returns one (e.g. a TensorBoard callback writing to ``logs/trial-N``).
KerasCallbacks = Sequence[keras.callbacks.Callback] | Callable[[int], Sequence[Any]]


def trial_keras_callbacks(callbacks: KerasCallbacks, trial_number: int) -> list[Any]:
    """The user's Keras callbacks for trial ``trial_number``, checked."""
    chosen = callbacks(trial_number) if callable(callbacks) else callbacks
    chosen = list(chosen or [])
    for callback in chosen:
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(
                "keras_callbacks must be keras.callbacks.Callback instances (or a function "
                f"of the trial number returning them), got {type(callback).__name__}; Optuna "
                "callbacks go to callbacks="
            )
    return chosen


def run_trial(
    trial: optuna.Trial,
    *,
    space: SearchSpace,
    estimator: Any,
    X: Any,
    y: Any,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    objective: Objective,
    sample_weight: Any = None,
    random_state: int | None = None,
    clear_session: bool = True,
    keras_callbacks: KerasCallbacks = (),
) -> float:
    """Train the trial's configuration on every split and return its mean best score.

    The first split's per-epoch scores are reported to Optuna for pruning. The trial's
    user attributes record its estimator parameters, parameter count, fused-kernel flag,
    per-epoch seconds, best epoch and training seconds (optuna-dashboard shows them).
    ``keras_callbacks`` (see :func:`trial_keras_callbacks`) train along in every fold.
    """
    start = time.perf_counter()
    with _recording_failure(trial, start):
        params = space.sample(trial)
        candidate = clone(estimator).set_params(**params)
        if random_state is not None and estimator.get_params().get("random_state") is None:
            candidate.set_params(random_state=(random_state + trial.number) % (2**31 - 1))
        config = candidate.model_config()
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        trial.set_user_attr("estimator_params", _jsonable(params))
        trial.set_user_attr("cell", config.cell)
        trial.set_user_attr("fused_kernel", config.uses_fused_kernel)
        fold_values, fold_losses, best_epochs, epoch_seconds = [], [], [], []
        try:
            for fold, (train_rows, val_rows) in enumerate(splits):
                reporter = EpochReporter(
                    candidate,
                    objective,
                    index_rows(X, val_rows),
                    _safe_indexing(y, val_rows),
                    trial if fold == 0 else None,
                )
                weights = (
                    None if sample_weight is None else _safe_indexing(sample_weight, train_rows)
                )
                raise_if_stop_requested()
                candidate.fit(
                    index_rows(X, train_rows),
                    _safe_indexing(y, train_rows),
                    sample_weight=weights,
                    callbacks=[reporter, *trial_keras_callbacks(keras_callbacks, trial.number)],
                )
                raise_if_stop_requested()  # between storage calls: safe to unwind here
                if fold == 0:
                    trial.set_user_attr("n_params", int(candidate.model_.count_params()))
                    trial.set_user_attr("device", candidate.device_)
                    if visible := os.environ.get("CUDA_VISIBLE_DEVICES"):
                        trial.set_user_attr("cuda_visible_devices", visible)
                    epoch_seconds = [round(s, 4) for s in candidate.epoch_seconds_]
                    trial.set_user_attr("epoch_seconds", epoch_seconds)
                    trial.set_user_attr("mean_epoch_seconds", steady_epoch_seconds(epoch_seconds))
                    trial.set_user_attr("first_epoch_seconds", epoch_seconds[0])
                if reporter.diverged:
                    trial.set_user_attr("fail_reason", reporter.diverged)
                    raise TrainingDivergedError(reporter.diverged)
                if reporter.pruned:
                    trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
                    raise optuna.TrialPruned(f"pruned at epoch {len(reporter.values)}")
                value, loss, epoch = reporter.best()
                fold_values.append(value)
                fold_losses.append(loss)
                best_epochs.append(epoch)
        finally:
            if clear_session:
                del candidate
                release_keras_memory()
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("fold_values", fold_values)
        trial.set_user_attr("validation_loss", float(np.mean(fold_losses)))
        trial.set_user_attr("best_epoch", round(float(np.median(best_epochs))))
        return float(np.mean(fold_values))


def steady_epoch_seconds(epoch_seconds: Sequence[float]) -> float:
    """Mean seconds of an epoch once the model is compiled: the first epoch left out.

    The first epoch also traces and compiles the training step (XLA: often longer than
    the training), which would make the per-variant timings mostly compile time.
    """
    steady = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    return float(np.mean(steady))


@contextlib.contextmanager
def _recording_failure(trial: optuna.Trial, start: float) -> Iterator[None]:
    """Store why a trial failed on the trial (the dashboard shows it; the log prints it)."""
    try:
        yield
    except (optuna.TrialPruned, WorkerStopped):
        raise  # not failures of the trial: the worker records a stop itself
    except Exception as error:
        if "fail_reason" not in trial.user_attrs:
            trial.set_user_attr("fail_reason", describe_error(error))
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        raise


def describe_error(error: BaseException) -> str:
    """One line: the exception's type and the first line of its message."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


#: Failed trials, all for the same reason and with nothing finished, that stop a search.
HOPELESS_AFTER = 3


def failure_reasons(study: optuna.Study) -> collections.Counter[str]:
    """How often each ``fail_reason`` occurs among the study's failed trials."""
    failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
    return collections.Counter(
        t.user_attrs.get("fail_reason", "no reason recorded (the process may have died)")
        for t in failed
    )


def hopeless_reason(study: optuna.Study) -> str | None:
    """The reason, when the study's first trials all failed alike and none finished.

    :data:`HOPELESS_AFTER` failed trials with one and the same reason, and no completed or
    pruned trial, mean every trial will fail the same way (a bad target, a parameter the
    estimator rejects); running the rest would only repeat the error.
    """
    finished = study.get_trials(
        deepcopy=False,
        states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED),
    )
    if finished:
        return None
    reasons = failure_reasons(study)
    if sum(reasons.values()) >= HOPELESS_AFTER and len(reasons) == 1:
        return next(iter(reasons))
    return None


class StopWhenHopeless:
    """Optuna callback: stop the study once :func:`hopeless_reason` finds a reason."""

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.FAIL and hopeless_reason(study):
            study.stop()


def all_failed_message(study: optuna.Study) -> str:
    """One line for a study in which no trial completed: counts and the commonest reason."""
    reasons = failure_reasons(study)
    total = len(study.trials)
    if not reasons:
        return (
            f"no trial of study {study.study_name!r} completed ({total} trials, none failed: "
            "all were pruned or stopped); give the search more time or a gentler pruner"
        )
    reason, count = reasons.most_common(1)[0]
    return (
        f"every trial of study {study.study_name!r} failed ({sum(reasons.values())} of "
        f"{total}); the most common reason ({count}): {reason}"
    )


def refit_params(space: SearchSpace, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """Estimator parameters that retrain ``trial``: its configuration, for the epoch count
    at which it scored best (at least one).

    The refit after a search, ``gru-search export`` and the finalists' folds all train
    this way, so that they train what the trial's score measured.
    """
    params = space.to_estimator_params(trial.params)
    params["epochs"] = max(1, int(trial.user_attrs.get("best_epoch", params["epochs"])))
    return params


def ranked_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's completed trials, best first; ties on the value go to the lower
    validation loss, then to the earlier trial.

    Accuracy on a small validation set ties often (many configurations score 1.0 on a dozen
    sequences); the validation loss separates them.
    """
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return sorted(
        completed,
        key=lambda t: (
            sign * t.value,
            t.user_attrs.get("validation_loss", float("inf")),
            t.number,
        ),
    )


def describe_finished_trial(
    study: optuna.Study, trial: optuna.trial.FrozenTrial, metric: str
) -> str:
    """One line about a finished trial: state, score (or why it failed), training time,
    the study's best so far and the trial's parameters."""
    params = trial.user_attrs.get("estimator_params", trial.params)
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "epochs")
    seconds = trial.user_attrs.get("train_seconds")
    took = "" if seconds is None else f" in {seconds:.1f}s"
    value = "" if trial.value is None else f" {metric}={trial.value:.4f}"
    if trial.state == optuna.trial.TrialState.FAIL:
        value = f" ({trial.user_attrs.get('fail_reason', 'no reason recorded')})"
    try:
        leader = best_trial(study)
        best = f" (best {leader.value:.4f} #{leader.number})"
    except ValueError:
        best = ""
    return f"trial {trial.number} {trial.state.name.lower()}{value}{took}{best}: {shown}"


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The study's best completed trial (the first of :func:`ranked_trials`)."""
    ranked = ranked_trials(study)
    if not ranked:
        raise ValueError(f"study {study.study_name!r} has no completed trial")
    return ranked[0]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
