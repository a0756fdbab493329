"""Finalists: the best hold-out trials cross-validated on all the data before the refit."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import optuna
import pytest

from gru_search import GRUClassifier, GRURegressor, GRUSearchCV, SearchSpace
from gru_search.finalists import (
    FINALISTS_KEY,
    FinalistScore,
    finalist_splits,
    pick,
    record,
    recorded_finalists,
    selected_trial,
)
from gru_search.search import leaderboard
from gru_search.trials import ranked_trials

from .test_search import BASE, TINY, make_sequences

FINALIST_SPACE = {
    **TINY,
    "training": {"epochs": 6, "pruning_warmup": 2, "finalists": 2, "finalist_folds": 2},
}


def score(trial: int, value: float, loss: float = 0.1) -> FinalistScore:
    return FinalistScore(trial, 1.0, value, loss, (value,), 1.0)


def test_pick_prefers_the_cross_validated_score_and_keeps_the_study_order_on_a_tie():
    results = [score(4, 0.90), score(7, 0.95, loss=0.3), score(2, 0.95, loss=0.2)]
    assert pick(results, sign=1.0).trial == 7  # 0.95 beats 0.90; the tie keeps 7 before 2
    assert pick([score(4, 0.9, loss=0.5), score(7, 0.9, loss=0.1)], sign=1.0).trial == 4
    assert pick(results, sign=-1.0).trial == 4  # a minimised loss: lowest wins


def test_finalist_splits_cover_every_row_once_and_stratify():
    y = np.array([0] * 12 + [1] * 8)
    splits = finalist_splits(y, 4, classifier=True, seed=0)
    assert len(splits) == 4
    validation = np.concatenate([val for _, val in splits])
    assert sorted(validation) == list(range(20))
    assert all(np.bincount(y[val]).tolist() == [3, 2] for _, val in splits)
    # a class of 3 sequences allows 3 stratified folds; a class of 1, none
    assert len(finalist_splits(np.array([0] * 10 + [1] * 3), 5, classifier=True, seed=0)) == 3
    singleton = finalist_splits(np.array([0] * 10 + [1]), 5, classifier=True, seed=0)
    assert len(singleton) == 5
    assert len(finalist_splits(np.arange(7.0), 5, classifier=False, seed=0)) == 5


def _study_with(values: list[float]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for number, value in enumerate(values):
        study.add_trial(
            optuna.trial.create_trial(
                value=value,
                params={"x": float(number)},
                distributions={"x": optuna.distributions.FloatDistribution(0, 10)},
                user_attrs={"validation_loss": 0.1 * (number + 1)},
            )
        )
    return study


def test_a_recorded_pick_is_used_until_another_trial_completes():
    study = _study_with([1.0, 1.0, 0.9])
    assert selected_trial(study).number == 0  # no record: the study's best
    record(study, [score(0, 0.90), score(1, 0.97)], score(1, 0.97), folds=5)
    assert study.user_attrs[FINALISTS_KEY]["picked"] == 1
    assert selected_trial(study).number == 1
    board = leaderboard(study)
    assert board["trial"].tolist()[:2] == [1, 0]  # the pick first, then the other finalist
    assert board["finalist_score"].iloc[0] == pytest.approx(0.97)

    study.add_trial(optuna.trial.create_trial(value=0.5, params={}, distributions={}))
    assert recorded_finalists(study) is None  # stale: it did not judge the new trial
    assert selected_trial(study).number == 0
    assert leaderboard(study)["finalist_score"].isna().all()


@pytest.fixture(scope="module")
def finalist_search():
    X, y = make_sequences(n=48)
    search = GRUSearchCV(
        BASE, space=SearchSpace.from_dict(FINALIST_SPACE), n_trials=3, random_state=0, verbose=1
    )
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        search.fit(X, y)
    return search, log.getvalue()


@pytest.mark.slow
def test_the_best_cross_validated_finalist_is_refit(finalist_search):
    search, _ = finalist_search
    finalists = search.finalists_
    # the two best hold-out trials, each scored on 2 folds of all 48 sequences
    top_two = [t.number for t in ranked_trials(search.study_)[:2]]
    assert sorted(finalists["trial"]) == sorted(top_two)
    stored = search.study_.user_attrs[FINALISTS_KEY]
    assert stored["folds"] == 2 and stored["picked"] == search.best_trial_.number
    assert all(len(entry["fold_scores"]) == 2 for entry in stored["trials"].values())
    results = [
        FinalistScore(int(n), 0.0, e["score"], e["loss"], tuple(e["fold_scores"]), 0.0)
        for n, e in sorted(stored["trials"].items(), key=lambda item: top_two.index(int(item[0])))
    ]
    assert pick(results, sign=1.0).trial == search.best_trial_.number
    assert finalists["picked"].tolist() == [True, False]
    assert finalists["trial"].iloc[0] == search.best_trial_.number
    # the refit is the picked trial's configuration, for its best epoch count
    picked = search.best_trial_
    assert search.best_params_ == search.space_.to_estimator_params(picked.params)
    assert search.best_estimator_.n_iter_ == picked.user_attrs["best_epoch"]
    assert search.best_score_ == picked.value
    assert search.leaderboard_["trial"].iloc[0] == picked.number
    assert search.finalist_time_ > 0


@pytest.mark.slow
def test_the_finalists_progress_is_logged(finalist_search):
    search, log = finalist_search
    assert "cross-validating the 2 best trials on all 48 sequences (2 folds each" in log
    finalists = search.finalists_
    for trial, cv_score in zip(finalists["trial"], finalists["cv_accuracy"], strict=True):
        assert f"trial {trial}: accuracy {cv_score:.4f} ± " in log
    assert f"picked trial {search.best_trial_.number} (" in log
    assert f"refitting trial {search.best_trial_.number} on all 48 sequences" in log


@pytest.mark.slow
def test_no_finalists_with_cross_validated_trials_or_one_finalist():
    X, y = make_sequences(n=30)
    space = SearchSpace.from_dict(FINALIST_SPACE)
    with_cv = GRUSearchCV(BASE, space=space, n_trials=2, cv=2, random_state=0, verbose=0)
    with_cv.fit(X, y)
    assert with_cv.finalists_.empty and FINALISTS_KEY not in with_cv.study_.user_attrs
    assert with_cv.best_trial_.number == ranked_trials(with_cv.study_)[0].number


@pytest.mark.slow
def test_a_loss_metric_regressor_gets_finalists_with_one_loss_column():
    X, _ = make_sequences(n=30)
    target = X[:, -3:].mean(axis=1)
    search = GRUSearchCV(
        GRURegressor(jit_compile=False, random_state=0),
        space=SearchSpace.from_dict(FINALIST_SPACE),
        n_trials=2,
        scoring="loss",
        pruner="none",  # both trials must complete to have two finalists
        random_state=0,
        verbose=0,
    ).fit(X, target)
    finalists = search.finalists_
    assert list(finalists.columns).count("cv_loss") == 1 and len(finalists) == 2
    # a loss is minimised: the pick has the lowest cross-validated loss
    assert finalists["trial"].iloc[0] == finalists.loc[finalists["cv_loss"].idxmin(), "trial"]


def test_a_bad_finalists_value_fails_before_any_trial():
    X, y = make_sequences(n=20)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="finalists must be a positive integer"):
            GRUSearchCV(
                GRUClassifier(), space=SearchSpace.from_dict(FINALIST_SPACE), finalists=bad
            ).fit(X, y)
