"""gru_search.save / load: .keras + JSON metadata, safe against tampering."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from gru_search import GRUClassifier, GRURegressor, load, save
from gru_search.export import METADATA_FILE, MODEL_FILE, ExportError, _sha256, read_metadata

FAST = {"units": (4,), "epochs": 3, "jit_compile": False, "random_state": 0}


def make_data(n: int = 30, steps: int = 8):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, steps, 2)).astype("float32")
    labels = np.array(["down", "flat", "up"])[rng.integers(0, 3, n)]
    return X, labels


@pytest.fixture(scope="module")
def fitted():
    X, labels = make_data()
    return GRUClassifier(**FAST).fit(X, labels), X


def test_classifier_round_trip_keeps_predictions_and_metadata(fitted, tmp_path):
    clf, X = fitted
    folder = save(clf, tmp_path / "model", origin={"study": "s", "trial": 3, "score": 0.9})
    loaded = load(folder)
    assert type(loaded) is GRUClassifier
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=0, atol=0)
    assert loaded.get_params() == clf.get_params()
    assert list(loaded.classes_) == ["down", "flat", "up"]
    meta = read_metadata(folder)
    assert meta["origin"] == {"study": "s", "trial": 3, "score": 0.9}
    assert meta["fitted"]["input_shape"] == [8, 2]
    assert {"keras", "numpy", "scikit-learn", "keras_backend"} <= set(meta["versions"])


def test_regressor_round_trip_with_uneven_sequences(tmp_path):
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(5 + i % 4, 1)) for i in range(24)]
    y = np.column_stack([[s.sum() for s in X], [s.shape[0] for s in X]])
    reg = GRURegressor(**FAST).fit(X, y)
    loaded = load(save(reg, tmp_path / "reg"))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_existing_folders_are_never_clobbered(fitted, tmp_path):
    clf, _ = fitted
    folder = save(clf, tmp_path / "model")
    with pytest.raises(ExportError, match="already exists"):
        save(clf, folder)
    save(clf, folder, overwrite=True)  # an export may replace an export
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(ExportError, match="not a gru-search export"):
        save(clf, precious, overwrite=True)
    assert (precious / "thesis.txt").read_text() == "do not delete"


def test_foreign_and_tampered_folders_get_a_clear_error(fitted, tmp_path):
    clf, _ = fitted
    with pytest.raises(ExportError, match="not a gru-search export"):
        load(tmp_path)
    (tmp_path / METADATA_FILE).write_text("{not json")
    with pytest.raises(ExportError, match="not valid JSON"):
        load(tmp_path)
    (tmp_path / METADATA_FILE).write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(ExportError, match="not gru-search metadata"):
        load(tmp_path)

    folder = save(clf, tmp_path / "model")
    with open(folder / MODEL_FILE, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ExportError, match="does not match the checksum"):
        load(folder)


def test_a_model_with_code_inside_is_refused_even_with_a_matching_checksum(fitted, tmp_path):
    clf, _ = fitted
    folder = save(clf, tmp_path / "model")
    inputs = keras.Input((8, 2))
    evil = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    evil.save(folder / MODEL_FILE)
    meta = json.loads((folder / METADATA_FILE).read_text())
    meta["model_sha256"] = _sha256(folder / MODEL_FILE)
    (folder / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ExportError, match="could not be loaded safely"):
        load(folder)


def test_unfitted_or_foreign_estimators_are_not_saved(tmp_path):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(NotFittedError):
        save(GRUClassifier(), tmp_path / "a")
    with pytest.raises(TypeError, match="GRUClassifier or GRURegressor"):
        save(LogisticRegression(), tmp_path / "b")
