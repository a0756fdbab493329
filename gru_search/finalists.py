"""Re-judge a study's best trials by cross-validation before the refit.

A hold-out of a dozen sequences cannot separate near-equal configurations: on aeon's
ItalyPowerDemand six trials of one study scored 1.000 on its 14 validation series and the
validation-loss tie-break picked the one that generalised worst (benchmarks/RESULTS.md).
So the few best trials of a hold-out study (the *finalists*) are trained again on K folds
of all the data, each for its best epoch count (exactly what the refit will do), and the
one with the best mean fold score becomes the refit, the study's order breaking ties
(docs/design.md §5: pick the winner on a less noisy estimate before refitting). The outcome
is stored on the study, so that ``gru-search export`` and the dashboard see the same
choice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils import _safe_indexing

from gru_search.spaces import SearchSpace
from gru_search.trials import (
    Objective,
    index_rows,
    ranked_trials,
    refit_params,
    release_keras_memory,
)

#: Study user attribute holding the finalists' scores and the trial they picked.
FINALISTS_KEY = "gru_search_finalists"


@dataclass(frozen=True)
class FinalistScore:
    """One finalist's cross-validated result.

    Attributes
    ----------
    trial : int
        Trial number in the study.
    study_value : float
        The trial's value in the study (hold-out score).
    score : float
        Mean objective over the folds (a loss when the study minimises one).
    loss : float
        Mean validation loss over the folds (log loss or mean squared error).
    fold_scores : tuple of float
    seconds : float
        Wall-clock seconds of its folds.
    """

    trial: int
    study_value: float
    score: float
    loss: float
    fold_scores: tuple[float, ...]
    seconds: float


def finalist_splits(
    y: Any, folds: int, *, classifier: bool, seed: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled K-fold splits of all rows, stratified for classes that allow it.

    A class with fewer members than ``folds`` lowers the number of folds to its size
    (at least 2); a class of one sequence makes the folds unstratified.
    """
    y = np.asarray(y)
    n_splits = min(folds, len(y))
    placeholder = np.zeros((len(y), 1))
    if classifier and y.ndim == 1:
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest >= 2:
            splitter = StratifiedKFold(min(n_splits, smallest), shuffle=True, random_state=seed)
            return list(splitter.split(placeholder, y))
    return list(KFold(n_splits, shuffle=True, random_state=seed).split(placeholder))


def cross_validate_trial(
    trial: optuna.trial.FrozenTrial,
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
) -> FinalistScore:
    """Train ``trial``'s configuration for its best epoch count on every split and score it.

    Raises
    ------
    FloatingPointError
        When a fold's training diverges (its score or loss is not finite).
    """
    params = refit_params(space, trial)
    own_seed = estimator.get_params().get("random_state")
    scores, losses = [], []
    start = time.perf_counter()
    for fold, (train_rows, val_rows) in enumerate(splits):
        candidate = clone(estimator).set_params(**params)
        if _xla_not_worth_it(candidate, len(train_rows)):
            candidate.set_params(jit_compile=False)
        if own_seed is None and random_state is not None:
            candidate.set_params(random_state=(random_state + fold) % (2**31 - 1))
        weights = None if sample_weight is None else _safe_indexing(sample_weight, train_rows)
        try:
            candidate.fit(
                index_rows(X, train_rows), _safe_indexing(y, train_rows), sample_weight=weights
            )
            X_val, y_val = index_rows(X, val_rows), _safe_indexing(y, val_rows)
            score, loss = objective.score_and_loss(candidate, X_val, y_val)
            scores.append(score)
            losses.append(loss)
        finally:
            if clear_session:
                del candidate
                release_keras_memory()
        if not (math.isfinite(scores[-1]) and math.isfinite(losses[-1])):
            raise FloatingPointError(f"fold {fold + 1} scored {scores[-1]} (loss {losses[-1]})")
    return FinalistScore(
        trial=trial.number,
        study_value=float(trial.value),
        score=float(np.mean(scores)),
        loss=float(np.mean(losses)),
        fold_scores=tuple(float(s) for s in scores),
        seconds=round(time.perf_counter() - start, 3),
    )


#: Below this many optimiser steps, XLA's compilation costs more than it saves. Measured
#: on 2 CPU cores (ItalyPowerDemand, 54 series, 1 x 64 GRU, 36 epochs of 4 steps): 16-17 s
#: with XLA, 6-7 s without; at 100 epochs of 3-4 steps both take about as long.
XLA_MIN_STEPS = 1000


def _xla_not_worth_it(estimator: Any, n_train: int) -> bool:
    """Whether a fold's fit is too short for ``jit_compile="auto"`` to pay off."""
    params = estimator.get_params()
    if params.get("jit_compile") != "auto":
        return False  # the user chose
    steps = params["epochs"] * math.ceil(n_train / (params.get("batch_size") or 16))
    return steps < XLA_MIN_STEPS


def pick(results: Sequence[FinalistScore], sign: float) -> FinalistScore:
    """The best mean fold score; a tie keeps the study's order.

    Only the objective itself may overturn the study's ranking: the log loss favours
    over-confident models (on GunPoint the finalists' loss broke a tie towards a trial
    whose refit scored 0.867 against the study's pick's 0.987; benchmarks/RESULTS.md).
    """
    order = {result.trial: rank for rank, result in enumerate(results)}
    return min(results, key=lambda r: (-sign * r.score, order[r.trial]))


def run_finalists(
    study: optuna.Study,
    n_finalists: int,
    score_trial: Callable[[optuna.trial.FrozenTrial], FinalistScore],
    *,
    objective: Objective,
    log: Callable[[str], None] = print,
) -> tuple[list[FinalistScore], optuna.trial.FrozenTrial]:
    """Score the ``n_finalists`` best trials of ``study`` and pick one.

    ``score_trial`` is :func:`cross_validate_trial` with everything but the trial bound.
    Returns the finalists' results (in the study's order; a finalist whose training
    diverged or failed is left out, with a log line) and the picked trial (the study's
    best when no finalist could be scored). The outcome is stored as the study's
    ``gru_search_finalists`` user attribute.
    """
    ranked = ranked_trials(study)
    finalists = ranked[:n_finalists]
    results = []
    for trial in finalists:
        try:
            result = score_trial(trial)
        except Exception as error:  # one broken finalist must not end the search
            log(f"[gru-search]   trial {trial.number}: left out ({type(error).__name__}: {error})")
            continue
        results.append(result)
        spread = float(np.std(result.fold_scores))
        log(
            f"[gru-search]   trial {trial.number}: {objective.name} {result.score:.4f} "
            f"± {spread:.4f} over {len(result.fold_scores)} folds "
            f"(hold-out {result.study_value:.4f}), "
            f"{result.seconds:.0f}s"
        )
    if not results:
        return [], ranked[0]
    chosen = pick(results, objective.sign)
    record(study, results, chosen, folds=len(chosen.fold_scores))
    return results, next(t for t in finalists if t.number == chosen.trial)


def record(
    study: optuna.Study, results: Sequence[FinalistScore], chosen: FinalistScore, folds: int
) -> None:
    """Store the finalists' scores and the pick on the study (dashboard, CLI export)."""
    completed = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    study.set_user_attr(
        FINALISTS_KEY,
        {
            "picked": chosen.trial,
            "folds": folds,
            "completed_trials": completed,
            "trials": {
                str(r.trial): {"score": r.score, "loss": r.loss, "fold_scores": list(r.fold_scores)}
                for r in results
            },
        },
    )


def recorded_finalists(study: optuna.Study) -> dict[str, Any] | None:
    """The finalists stored on ``study``, or None when there are none or they are stale.

    A record is stale when trials completed after it was written (a resumed study): its
    pick no longer covers the study's best trials.
    """
    stored = study.user_attrs.get(FINALISTS_KEY)
    if not stored:
        return None
    completed = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    return stored if stored.get("completed_trials") == completed else None


def selected_trial(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The trial a search refits: the finalists' pick when current, else the best trial."""
    ranked = ranked_trials(study)
    if not ranked:
        raise ValueError(f"study {study.study_name!r} has no completed trial")
    stored = recorded_finalists(study)
    if stored is not None:
        for trial in ranked:
            if trial.number == stored["picked"]:
                return trial
    return ranked[0]
