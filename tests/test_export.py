"""gru_search.save / load: .keras + JSON metadata, safe against tampering."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from gru_search import GRUClassifier, GRURegressor, load, save
from gru_search.exceptions import ExportError
from gru_search.export import (
    METADATA_FILE,
    MODEL_FILE,
    file_sha256,
    metadata_checksum,
    read_metadata,
)

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
    meta["files"][MODEL_FILE] = file_sha256(folder / MODEL_FILE)
    meta["checksum"] = metadata_checksum(meta)
    (folder / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(ExportError, match="could not be loaded safely"):
        load(folder)


def test_unfitted_or_foreign_estimators_are_not_saved(tmp_path):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(NotFittedError):
        save(GRUClassifier(), tmp_path / "a")
    with pytest.raises(
        TypeError, match="GRUClassifier, GRURegressor, GRUTextClassifier or GRUForecaster"
    ):
        save(LogisticRegression(), tmp_path / "b")


def test_replacing_an_export_keeps_the_users_other_files(fitted, tmp_path):
    clf, X = fitted
    folder = save(clf, tmp_path / "model")
    (folder / "notes.txt").write_text("mine")
    (folder / "src").mkdir()
    (folder / "src" / "train.py").write_text("print('mine')")
    save(clf, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "src" / "train.py").read_text() == "print('mine')"
    np.testing.assert_array_equal(load(folder).predict(X), clf.predict(X))


def test_a_copied_metadata_file_does_not_make_a_folder_deletable(fitted, tmp_path):
    # a user's folder that merely holds a gru_search.json: only the export's files change
    clf, _ = fitted
    export = save(clf, tmp_path / "model")
    users = tmp_path / "project"
    (users / "src").mkdir(parents=True)
    (users / "src" / "main.py").write_text("keep me")
    (users / "thesis.txt").write_text("keep me too")
    (users / METADATA_FILE).write_text((export / METADATA_FILE).read_text())
    save(clf, users, overwrite=True)
    assert (users / "src" / "main.py").read_text() == "keep me"
    assert (users / "thesis.txt").read_text() == "keep me too"
    (users / METADATA_FILE).write_text('{"format": "something else"}')
    with pytest.raises(ExportError, match="not a gru-search export"):
        save(clf, users, overwrite=True)
    assert (users / METADATA_FILE).read_text() == '{"format": "something else"}'


def test_a_file_in_place_of_the_folder_is_refused(fitted, tmp_path):
    clf, _ = fitted
    (tmp_path / "model").write_text("a file")
    with pytest.raises(ExportError, match="not a folder"):
        save(clf, tmp_path / "model", overwrite=True)
    assert (tmp_path / "model").read_text() == "a file"


def _edit(folder, change, *, reseal: bool):
    meta = json.loads((folder / METADATA_FILE).read_text())
    change(meta)
    if reseal:  # someone who recomputes the checksum: the values are still validated
        meta["checksum"] = metadata_checksum(meta)
    (folder / METADATA_FILE).write_text(json.dumps(meta))


def test_edited_metadata_is_refused_by_its_checksum(fitted, tmp_path):
    clf, _ = fitted
    folder = save(clf, tmp_path / "model")
    _edit(folder, lambda m: m["fitted"]["classes"].reverse(), reseal=False)
    with pytest.raises(ExportError, match="edited after export"):
        load(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["fitted"]["scaler"]["scale"].__setitem__(0, 0.0), "finite and > 0"),
        (lambda m: m["fitted"]["scaler"]["mean"].__setitem__(0, float("nan")), "finite"),
        (lambda m: m["fitted"]["scaler"].update(method="minmax"), "scaler method"),
        (lambda m: m["fitted"].update(patch_size=0), "patch_size"),
        (lambda m: m["fitted"].update(classes=["down", "up"]), "model output"),
        (lambda m: m["fitted"].update(classes=["a", "a", "b"]), "distinct"),
        (lambda m: m["fitted"].update(patch_size=2), "width"),
        (lambda m: m["params"].update(cell="nonexistent"), "cell"),
        (lambda m: m["fitted"].pop("scaler"), "missing"),
    ],
)
def test_resealed_metadata_with_wrong_values_is_refused(fitted, tmp_path, change, message):
    clf, _ = fitted
    folder = save(clf, tmp_path / "model")
    _edit(folder, change, reseal=True)
    with pytest.raises(ExportError, match=message):
        load(folder)


def test_deep_or_huge_metadata_is_refused_without_a_crash(fitted, tmp_path):
    clf, _ = fitted
    folder = save(clf, tmp_path / "model")
    (folder / METADATA_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ExportError, match=r"nested too deeply|not valid JSON"):
        load(folder)
