"""GRUClassifier / GRURegressor: scikit-learn's estimator checks, the scikit-learn tool
chain, input layouts, determinism and errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from gru_search import GRUClassifier, GRURegressor, load, save, sequences_from_long

# Small but real models: the checks train dozens of times.
# No XLA: on data this small its compile time dominates the fit.
FAST = {
    "units": (8,),
    "epochs": 30,
    "batch_size": 32,
    "learning_rate": 1e-2,
    "jit_compile": False,
    "random_state": 0,
}

# Checks that cannot hold for a mini-batch gradient-descent model, each with its reason.
EXPECTED_FAILED_CHECKS = {
    # Keras averages the weighted loss per mini-batch and shuffles; zero-weight samples
    # still change batch composition and order, so weights are not equivalent to
    # removing or repeating samples (scikit-learn marks SGDClassifier and MLP alike).
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch SGD: sample weights are not equivalent to removing/repeating samples"
    ),
}


def expected_failures(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    # the regression check asks for R² > 0.5 on tabular data read as a sequence: a bit wider
    [GRUClassifier(**FAST), GRURegressor(**{**FAST, "units": (16,), "epochs": 60})],
    expected_failed_checks=expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def make_sequences(n: int = 60, steps: int = 12, features: int = 1, seed: int = 0):
    """Two classes that differ in the sign of a trend: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    trend = np.linspace(-1, 1, steps)[None, :, None] * (2 * y[:, None, None] - 1)
    X = trend + 0.3 * rng.normal(size=(n, steps, features))
    return X.astype("float32"), y


def test_learns_a_simple_sequence_task():
    X, y = make_sequences()
    clf = GRUClassifier(**FAST).fit(X[:40], y[:40])
    assert clf.score(X[40:], y[40:]) >= 0.9
    assert clf.input_shape_ == (12, 1)
    assert clf.n_features_in_ == 1
    assert len(clf.history_["loss"]) == clf.n_iter_ == FAST["epochs"]
    assert 1 <= clf.best_epoch_ <= clf.n_iter_
    assert len(clf.epoch_seconds_) == clf.n_iter_


def test_string_labels_and_multiclass():
    X, y = make_sequences(90)
    X[:30] = 0.3 * np.random.default_rng(5).normal(size=X[:30].shape)  # a third, flat class
    labels = np.array(["down", "up", "flat"])[np.where(np.arange(90) < 30, 2, y)]
    clf = GRUClassifier(**FAST).fit(X, labels)
    assert list(clf.classes_) == sorted(set(labels))
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(clf.predict(X)) <= set(labels)


@pytest.mark.parametrize("variant", ["gru", "mgu", "mingru", "lngru"])
def test_variants_and_options_train_through_the_estimator(variant):
    X, y = make_sequences()
    clf = GRUClassifier(
        **{**FAST, "units": (6, 4)},
        cell=variant,
        bidirectional=True,
        layer_norm=True,
        pooling="mean",
        head_units=(4,),
        dropout=0.1,
    ).fit(X, y)
    assert clf.predict(X).shape == (60,)


def test_uneven_length_sequences_are_padded_and_masked():
    X, y = make_sequences(40, steps=16)
    rng = np.random.default_rng(1)
    uneven = [x[: rng.integers(8, 17)] for x in X]
    clf = GRUClassifier(**FAST).fit(uneven, y)
    assert clf.input_shape_ == (None, 1)
    # a sequence gives the same prediction alone and inside a padded batch
    alone = clf.predict_proba([uneven[0]])
    together = clf.predict_proba(uneven)[:1]
    np.testing.assert_allclose(alone, together, atol=1e-5)
    # any length is accepted later, 1-D sequences too
    assert clf.predict([X[0, :5, 0], X[1, :30, 0] if X.shape[1] >= 30 else X[1, :, 0]]).shape == (
        2,
    )


def test_dataframe_input_records_feature_names():
    X, y = make_sequences(40)
    frame = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(12)])
    clf = GRUClassifier(**FAST).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert clf.n_features_in_ == 12
    np.testing.assert_array_equal(clf.predict(frame), clf.predict(X[:, :, 0]))


def test_long_format_helper_round_trip():
    X, y = make_sequences(10, steps=5, features=2)
    rows = [
        {"id": i, "t": t, "a": X[i, t, 0], "b": X[i, t, 1], "label": y[i]}
        for i in range(10)
        for t in reversed(range(5))
    ]
    sequences, labels = sequences_from_long(
        pd.DataFrame(rows), series="id", time="t", values=["a", "b"], target="label"
    )
    np.testing.assert_allclose(np.stack(sequences), X, rtol=1e-6)
    np.testing.assert_array_equal(labels, y)
    with pytest.raises(ValueError, match="not found"):
        sequences_from_long(pd.DataFrame(rows), series="missing")


def test_sample_weight_changes_the_fit():
    X, y = make_sequences()
    weights = np.where(y == 1, 5.0, 0.2)
    plain = GRUClassifier(**FAST).fit(X, y)
    weighted = GRUClassifier(**FAST).fit(X, y, sample_weight=weights)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))


def test_class_weight_weighs_the_loss_and_survives_an_export(tmp_path):
    X, y = make_sequences()
    ignoring_ones = GRUClassifier(**FAST, class_weight={0: 1.0, 1: 0.0}).fit(X, y)
    assert set(ignoring_ones.predict(X)) == {0}
    # as sample weights of the same classes: the same model
    by_class = GRUClassifier(**FAST, class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    by_sample = GRUClassifier(**FAST).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), atol=1e-6)
    # integer labels stay integers through the JSON of an export, so a refit still works
    loaded = load(save(by_class, tmp_path / "model"))
    assert loaded.get_params()["class_weight"] == {0: 1.0, 1: 3.0}
    clone(loaded).set_params(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="class_weight names 2, which is not a class of y"):
        GRUClassifier(**FAST, class_weight={2: 1.0}).fit(X, y)


def test_same_random_state_gives_identical_predictions():
    X, y = make_sequences()
    first = GRUClassifier(**FAST, dropout=0.2).fit(X, y).predict_proba(X)
    second = GRUClassifier(**FAST, dropout=0.2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = GRUClassifier(**{**FAST, "random_state": 1}, dropout=0.2).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, other)


def test_fit_leaves_the_callers_random_state_as_it_was():
    import random

    import keras
    import tensorflow as tf

    X, y = make_sequences()
    random.seed(7)
    np.random.seed(7)
    tf.random.set_seed(7)
    expected = (random.random(), np.random.rand())
    random.seed(7)
    np.random.seed(7)
    try:
        GRUClassifier(**{**FAST, "epochs": 2}).fit(X, y)
        assert (random.random(), np.random.rand()) == expected
        assert tf.compat.v1.get_seed(None)[0] == 7
        assert keras.src.utils.rng_utils.get_random_seed() is None
    finally:
        tf.random.set_seed(None)


def test_early_stopping_restores_best_epoch():
    X, y = make_sequences(80)
    clf = GRUClassifier(**{**FAST, "epochs": 60}, early_stopping=True, patience=5).fit(X, y)
    assert "val_loss" in clf.history_
    assert clf.best_epoch_ == int(np.argmin(clf.history_["val_loss"])) + 1
    assert clf.n_iter_ <= 60


def test_regressor_multi_output_and_target_scale():
    X, _ = make_sequences(60, features=2)
    targets = np.column_stack([X[:, -1, 0] * 1000.0 + 5000.0, X[:, :, 1].mean(axis=1)])
    reg = GRURegressor(**{**FAST, "epochs": 80}).fit(X, targets)
    predictions = reg.predict(X)
    assert predictions.shape == (60, 2)
    assert reg.n_outputs_ == 2
    # the large-scale target is learnt in its own units
    assert np.corrcoef(predictions[:, 0], targets[:, 0])[0, 1] > 0.8


@pytest.mark.slow
def test_clone_pipeline_grid_search_and_cross_validation():
    X, y = make_sequences(45)
    flatten = FunctionTransformer(lambda a: a[:, :, 0])  # 3-D -> 2-D univariate
    pipeline = make_pipeline(flatten, GRUClassifier(**{**FAST, "epochs": 15}))
    assert pipeline.fit(X, y).score(X, y) > 0.5
    search = GridSearchCV(
        GRUClassifier(**{**FAST, "epochs": 10}),
        {"units": [(4,), (8,)], "cell": ["gru", "mgu"]},
        cv=2,
    ).fit(X[:, :, 0], y)
    assert search.best_params_["cell"] in {"gru", "mgu"}
    assert len(search.cv_results_["params"]) == 4
    scores = cross_val_score(GRUClassifier(**{**FAST, "epochs": 10}), X, y, cv=3)
    assert scores.shape == (3,)
    fitted = GRUClassifier(**FAST).fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")


def test_pickle_round_trip_keeps_predictions():
    X, y = make_sequences()
    clf = GRUClassifier(**FAST, cell="mgu").fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    reg = GRURegressor(**FAST).fit(X, X[:, -1, 0])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


X_OK, Y_OK = make_sequences(20)

BAD_INPUT = [
    ("NaN in X", lambda c: c.fit(np.where(X_OK[0, 0, 0] == X_OK, np.nan, X_OK), Y_OK), "NaN"),
    ("inf in X", lambda c: c.fit(np.where(X_OK[0, 0, 0] == X_OK, np.inf, X_OK), Y_OK), "inf"),
    ("1-D X", lambda c: c.fit(X_OK[:, 0, 0], Y_OK), "Expected 2D array|1-D"),
    ("4-D X", lambda c: c.fit(X_OK[..., None], Y_OK), "got a 4-D array"),
    ("zero samples", lambda c: c.fit(np.zeros((0, 12)), np.zeros(0)), "0 sample"),
    ("zero time steps", lambda c: c.fit(np.zeros((20, 0, 1)), Y_OK), "0 time steps"),
    ("X/y length mismatch", lambda c: c.fit(X_OK, Y_OK[:-1]), "inconsistent numbers"),
    ("one class only", lambda c: c.fit(X_OK, np.zeros(20)), "at least 2 classes"),
    ("unknown cell", lambda c: c.set_params(cell="lstm").fit(X_OK, Y_OK), "cell"),
    ("dropout >= 1", lambda c: c.set_params(dropout=1.0).fit(X_OK, Y_OK), "dropout"),
    ("dropout < 0", lambda c: c.set_params(dropout=-0.1).fit(X_OK, Y_OK), "dropout"),
    ("empty units", lambda c: c.set_params(units=()).fit(X_OK, Y_OK), "at least one layer"),
    ("zero units", lambda c: c.set_params(units=(8, 0)).fit(X_OK, Y_OK), "positive integers"),
    ("predict before fit", lambda c: c.predict(X_OK), "not fitted yet"),
]


@pytest.mark.parametrize(("case", "call", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_a_clear_error(case, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(GRUClassifier(**{**FAST, "epochs": 1}))


@pytest.fixture(scope="module")
def fitted_2d_and_3d():
    X, y = make_sequences(20, features=2)
    return (
        GRUClassifier(**{**FAST, "epochs": 1}).fit(X[:, :, 0], y),
        GRUClassifier(**{**FAST, "epochs": 1}).fit(X, y),
    )


def test_different_shape_at_predict_time_is_rejected(fitted_2d_and_3d):
    on_2d, on_3d = fitted_2d_and_3d
    with pytest.raises(ValueError, match="X has 11 features, but GRUClassifier is expecting 12"):
        on_2d.predict(np.zeros((3, 11)))
    with pytest.raises(ValueError, match="3 features per time step, but GRUClassifier is expec"):
        on_3d.predict(np.zeros((3, 12, 3)))
    with pytest.raises(ValueError, match="X has 20 time steps, but GRUClassifier was fitted on"):
        on_3d.predict(np.zeros((3, 20, 2)))


def test_tensorflows_retracing_notice_is_dropped_and_its_other_warnings_kept():
    import logging

    import gru_search  # noqa: F401 - installs the filter

    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        logger.warning(
            "5 out of the last 5 calls to <function f at 0x1> triggered tf.function "
            "retracing. Tracing is expensive and the excessive number of tracings could be..."
        )
        logger.warning("a warning worth reading")
    finally:
        logger.removeHandler(handler)
    assert [record.getMessage() for record in seen] == ["a warning worth reading"]
