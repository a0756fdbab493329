"""Training rows fed to Keras: every row once an epoch, reshuffled, reproducibly; and the
scoring of an epoch predicts its validation rows once."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from gru_search import GRUClassifier, feeding
from gru_search.trials import Objective

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the pipeline is the TensorFlow path"
)


def _epochs(arguments: dict, n_epochs: int) -> list[np.ndarray]:
    """The target values each epoch delivers, in order, from one iterator."""
    batches = iter(arguments["x"])
    epochs = []
    for _ in range(n_epochs):
        seen = [next(batches)[1].numpy() for _ in range(arguments["steps_per_epoch"])]
        epochs.append(np.concatenate(seen))
    return epochs


def test_every_row_once_an_epoch_reshuffled_and_reproducible():
    inputs = np.arange(50, dtype=np.float32).reshape(25, 2, 1)
    targets = np.arange(25)
    weights = np.ones(25, dtype=np.float32)

    arguments = feeding.fit_arguments(inputs, targets, weights, batch_size=8, seed=3)

    assert arguments["steps_per_epoch"] == 4  # 8 + 8 + 8 + 1
    assert arguments["shuffle"] is False
    first, second, third = _epochs(arguments, 3)
    for epoch in (first, second, third):
        assert sorted(epoch) == list(range(25))
    assert not np.array_equal(first, second)
    again = feeding.fit_arguments(inputs, targets, weights, batch_size=8, seed=3)
    assert all(
        np.array_equal(a, b) for a, b in zip(_epochs(again, 3), (first, second, third), strict=True)
    )


def test_dict_inputs_keep_rows_aligned():
    inputs = {
        "sequences": np.arange(10, dtype=np.float32).reshape(10, 1, 1),
        "mask": np.ones((10, 1), bool),
    }
    targets = np.arange(10)
    arguments = feeding.fit_arguments(
        inputs, targets, np.ones(10, np.float32), batch_size=4, seed=0
    )
    x, y, _ = next(iter(arguments["x"]))
    np.testing.assert_array_equal(x["sequences"].numpy()[:, 0, 0], y.numpy())


def test_large_data_keeps_keras_array_handling(monkeypatch):
    monkeypatch.setattr(feeding, "PIPELINE_MAX_BYTES", 0)
    inputs = np.zeros((6, 3, 1), dtype=np.float32)
    arguments = feeding.fit_arguments(inputs, np.zeros(6), np.ones(6), batch_size=4, seed=0)
    assert arguments["x"] is inputs
    assert arguments["batch_size"] == 4 and arguments["shuffle"] is True


def _count_model_calls(estimator: GRUClassifier) -> list[int]:
    calls = [0]
    predict_on_batch = estimator.model_.predict_on_batch

    def counted(inputs):
        calls[0] += 1
        return predict_on_batch(inputs)

    estimator.model_.predict_on_batch = counted
    return calls


def test_score_and_loss_predict_once_and_match_separate_scoring():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 6)).astype(np.float32), np.repeat([0, 1], 20)
    estimator = GRUClassifier(units=(4,), epochs=2, jit_compile=False, random_state=0).fit(X, y)
    objective = Objective.create(None, estimator)
    separate = (objective(estimator, X, y), objective.validation_loss(estimator, X, y))
    calls = _count_model_calls(estimator)

    together = objective.score_and_loss(estimator, X, y)

    assert calls[0] == 1
    assert together == pytest.approx(separate)
    # outside the block nothing is remembered: the weights may have changed since
    assert not hasattr(estimator, "_prediction_memo")
    estimator.predict_proba(X)
    assert calls[0] == 2
