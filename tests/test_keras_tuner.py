"""gru_search.integrations.keras_tuner with real KerasTuner searches (tiny data, 1 epoch)."""

from __future__ import annotations

import sys

import keras_tuner as kt  # the keras-tuner extra is part of the test extras
import numpy as np
import pytest

from gru_search import GRUClassifier, SpaceError, build_model, load_space
from gru_search.data import resolve_patch_size
from gru_search.integrations import keras_tuner as bridge
from gru_search.model import GRUConfig
from gru_search.spaces import available_spaces


def make_sequences(n: int = 36, steps: int = 12):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    X = np.linspace(-1, 1, steps)[None, :, None] * (2 * y[:, None, None] - 1)
    return (X + 0.3 * rng.normal(size=(n, steps, 1))).astype("float32"), y


@pytest.mark.parametrize(
    "name",
    # the quick space in the everyday loop; every space in `make test`
    [
        n if n == "quick" else pytest.param(n, marks=pytest.mark.slow)
        for n in sorted(available_spaces())
        if load_space(n).task == "sequences"
    ],
)
def test_random_search_over_every_shipped_space(name, tmp_path):
    X, y = make_sequences()
    hypermodel = bridge.to_hypermodel(name, "classification", (12, 1), 2, jit_compile=False)
    tuner = kt.RandomSearch(
        hypermodel,
        objective="val_loss",
        max_trials=2,
        seed=0,
        directory=tmp_path,
        project_name=name,
    )
    tuner.search(X[:28], y[:28], epochs=1, validation_data=(X[28:], y[28:]), verbose=0)
    assert len(tuner.oracle.trials) == 2
    params = bridge.params_from_hyperparameters(tuner.get_best_hyperparameters(1)[0], name)
    space = load_space(name)
    assert params["cell"] in space.cells
    assert len(params["units"]) >= 1


def test_a_forecasting_space_is_refused_by_name():
    with pytest.raises(SpaceError, match="'forecasting' is a forecasting space"):
        bridge.to_hypermodel("forecasting", "regression", (12, 1), 1)


def test_the_tuner_builds_the_same_model_as_gru_search():
    space = load_space("default")
    fixed = {
        "n_layers": 2,
        "units_0": 64,
        "units_1": 32,
        "cell": "mgu",
        "bidirectional": True,
        "pooling": "mean",
        "dropout": 0.1,
        "learning_rate": 0.003,
        "batch_size": 16,
    }
    hp = kt.HyperParameters()
    for name, value in fixed.items():
        hp.Fixed(name, value)
    hypermodel = bridge.to_hypermodel(space, "classification", (150, 1), 3, jit_compile=False)
    theirs = hypermodel.build(hp)
    params = space.to_estimator_params(fixed)
    patch = resolve_patch_size("auto", 150)
    config = GRUConfig(
        units=params["units"],
        cell="mgu",
        bidirectional=True,
        pooling="mean",
        dropout=0.1,
        learning_rate=0.003,
        jit_compile=False,
    )
    ours = build_model(config, (150 // patch, patch), task="classification", n_outputs=3)
    assert [type(layer).__name__ for layer in theirs.layers] == [
        type(layer).__name__ for layer in ours.layers
    ]
    assert theirs.count_params() == ours.count_params()
    assert bridge.params_from_hyperparameters(hp, space) == params


@pytest.mark.slow
def test_tuner_results_become_a_fitted_estimator(tmp_path):
    X, y = make_sequences()
    hypermodel = bridge.to_hypermodel("quick", "classification", (12, 1), 2, jit_compile=False)
    tuner = kt.RandomSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=1,
        seed=1,
        directory=tmp_path,
        project_name="roundtrip",
    )
    tuner.search(X[:28], y[:28], epochs=1, validation_data=(X[28:], y[28:]), verbose=0)
    estimator = bridge.estimator_from_tuner(
        tuner, GRUClassifier(jit_compile=False, random_state=0), "quick"
    )
    best = tuner.get_best_hyperparameters(1)[0].values
    assert estimator.get_params()["cell"] == best["cell"]
    assert estimator.get_params()["units"] == (best["units_0"],)
    estimator.set_params(epochs=2).fit(X, y)
    assert estimator.predict(X).shape == (len(X),)


def test_a_clear_error_without_keras_tuner(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'pip install "gru-search\[keras-tuner\]"'):
        bridge.to_hypermodel("quick", "classification", (12, 1), 2)
