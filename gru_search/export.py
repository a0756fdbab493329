"""Export a fitted estimator as a folder: a ``.keras`` model plus JSON metadata.

The folder holds ``model.keras`` (Keras' own format, loaded with ``safe_mode=True``, so no
Python code inside it ever runs) and ``gru_search.json`` (plain data: parameters, classes,
input shape, scaling, package versions, the study and trial it came from, its score and
the SHA-256 of ``model.keras``). Nothing is unpickled, so an export from an untrusted
source cannot execute code; a model file that does not match its metadata is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import keras
import numpy as np
from sklearn.utils.validation import check_is_fitted

from gru_search.data import SequenceScaler
from gru_search.estimators import GRUClassifier, GRURegressor

FORMAT = "gru-search-model"
FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
METADATA_FILE = "gru_search.json"
_ESTIMATORS = {cls.__name__: cls for cls in (GRUClassifier, GRURegressor)}


class ExportError(ValueError):
    """A folder that is not a valid gru-search export, or one that cannot be written."""


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "keras_backend": keras.backend.backend()}
    for package in (
        "gru-search",
        "keras",
        "tensorflow",
        "tensorflow-cpu",
        "jax",
        "torch",
        "numpy",
        "scikit-learn",
        "optuna",
    ):
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.random.RandomState):
        return None
    return value


def save(
    estimator: GRUClassifier | GRURegressor,
    path: str | os.PathLike,
    *,
    origin: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted estimator to the folder ``path``.

    Parameters
    ----------
    estimator : fitted GRUClassifier or GRURegressor
    path : str or path-like
        Folder to create. An existing folder is replaced only with ``overwrite=True`` and
        only if it is itself a gru-search export (nothing else is ever deleted).
    origin : dict, optional
        Where the model came from, e.g. ``{"study": ..., "trial": ..., "score": ...,
        "metric": ...}`` (``GRUSearchCV`` fills it through :func:`save_search`).
    overwrite : bool, default=False

    Returns
    -------
    pathlib.Path
        The folder written.
    """
    if type(estimator).__name__ not in _ESTIMATORS:
        raise TypeError(
            f"save() exports GRUClassifier or GRURegressor, got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    target = Path(path)
    if target.exists():
        if not overwrite:
            raise ExportError(f"{target} already exists; pass overwrite=True to replace it")
        if not (target / METADATA_FILE).is_file():
            raise ExportError(
                f"{target} exists and is not a gru-search export; refusing to replace it"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gru-search-export-", dir=target.parent))
    try:
        estimator.model_.save(staging / MODEL_FILE)
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "estimator": type(estimator).__name__,
            "params": _jsonable(estimator.get_params()),
            "fitted": _fitted_state(estimator),
            "versions": _versions(),
            "origin": _jsonable(origin or {}),
            "model_sha256": _sha256(staging / MODEL_FILE),
        }
        (staging / METADATA_FILE).write_text(json.dumps(document, indent=2), encoding="utf-8")
        # write everything aside first, so a failure never leaves a half-replaced export
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def save_search(search: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Export a fitted ``GRUSearchCV``'s ``best_estimator_`` with its study of origin."""
    check_is_fitted(search, "best_estimator_")
    origin = {
        "study": search.study_.study_name,
        "trial": search.best_trial_.number,
        "score": search.best_score_,
        "metric": search.scorer_.name,
        "space": search.space_.name,
    }
    finalists = getattr(search, "finalists_", None)
    if finalists is not None and not finalists.empty:  # the pick's cross-validated score
        origin["finalist_score"] = float(finalists[f"cv_{search.scorer_.name}"].iloc[0])
    return save(search.best_estimator_, path, origin=origin, overwrite=overwrite)


def _fitted_state(estimator: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "input_shape": list(estimator.input_shape_),
        "fit_layout": estimator._fit_layout,
        "patch_size": estimator.patch_size_,
        "n_features_in": estimator.n_features_in_,
        "scaler": estimator.scaler_.to_dict(),
        "n_iter": estimator.n_iter_,
        "best_epoch": estimator.best_epoch_,
        "epoch_seconds": list(estimator.epoch_seconds_),
        "history": estimator.history_,
    }
    if hasattr(estimator, "feature_names_in_"):
        state["feature_names_in"] = list(estimator.feature_names_in_)
    if isinstance(estimator, GRUClassifier):
        state["classes"] = _jsonable(estimator.classes_)
        state["classes_dtype"] = estimator.classes_.dtype.str
    else:
        state["n_outputs"] = estimator.n_outputs_
        state["y_ndim"] = estimator._y_ndim
        state["target_mean"] = _jsonable(estimator._target_mean)
        state["target_scale"] = _jsonable(estimator._target_scale)
    return _jsonable(state)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The validated JSON metadata of an export folder (nothing is loaded or run)."""
    folder = Path(path)
    meta_path = folder / METADATA_FILE
    if not folder.is_dir() or not meta_path.is_file():
        raise ExportError(
            f"{folder} is not a gru-search export: expected a folder with {METADATA_FILE} "
            f"and {MODEL_FILE} (written by gru_search.save)"
        )
    try:
        document = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{meta_path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportError(f"{meta_path} is not gru-search metadata (format {FORMAT!r} expected)")
    if document.get("format_version") != FORMAT_VERSION:
        raise ExportError(
            f"{meta_path} has format version {document.get('format_version')!r}; this "
            f"gru-search reads version {FORMAT_VERSION}"
        )
    if document.get("estimator") not in _ESTIMATORS:
        raise ExportError(
            f"{meta_path}: unknown estimator {document.get('estimator')!r}; expected one of "
            f"{', '.join(_ESTIMATORS)}"
        )
    for key in ("params", "fitted", "model_sha256"):
        if key not in document:
            raise ExportError(f"{meta_path}: missing key {key!r}")
    return document


def load(path: str | os.PathLike) -> GRUClassifier | GRURegressor:
    """Load an estimator written by :func:`save`.

    The model file must match the SHA-256 recorded in the metadata and is loaded with
    ``safe_mode=True``; the metadata is plain JSON. Loading therefore never executes
    code from the folder.

    Raises
    ------
    ExportError
        For a folder that is not a gru-search export, a tampered or mismatched model file,
        or metadata that does not describe a fitted estimator.
    """
    folder = Path(path)
    document = read_metadata(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ExportError(f"{folder}: {MODEL_FILE} is missing")
    if _sha256(model_path) != document["model_sha256"]:
        raise ExportError(
            f"{model_path} does not match the checksum in {METADATA_FILE}: the model was "
            "modified or replaced after export; refusing to load it"
        )
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:  # Keras raises several types for a bad archive
        raise ExportError(f"{model_path} could not be loaded safely: {error}") from None
    cls = _ESTIMATORS[document["estimator"]]
    try:
        estimator = cls(**_params(document["params"]))
        _restore(estimator, document["fitted"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"{folder / METADATA_FILE}: invalid fitted state: {error}") from None
    estimator.model_ = model
    return estimator


def _params(params: dict[str, Any]) -> dict[str, Any]:
    restored = dict(params)
    for key in ("units", "head_units"):
        if isinstance(restored.get(key), list):
            restored[key] = tuple(restored[key])
    return restored


def _restore(estimator: Any, state: dict[str, Any]) -> None:
    steps, features = state["input_shape"]
    estimator.input_shape_ = (steps, int(features))
    estimator._fit_layout = state["fit_layout"]
    estimator.patch_size_ = int(state["patch_size"])
    estimator.n_features_in_ = int(state["n_features_in"])
    scaler = state["scaler"]
    estimator.scaler_ = SequenceScaler(
        scaler["method"],
        None if scaler["mean"] is None else np.asarray(scaler["mean"], dtype=np.float32),
        None if scaler["scale"] is None else np.asarray(scaler["scale"], dtype=np.float32),
    )
    estimator.n_iter_ = int(state["n_iter"])
    estimator.best_epoch_ = int(state["best_epoch"])
    estimator.epoch_seconds_ = list(state["epoch_seconds"])
    estimator.history_ = dict(state["history"])
    if "feature_names_in" in state:
        estimator.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    if isinstance(estimator, GRUClassifier):
        dtype = np.dtype(state["classes_dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"unsupported classes dtype {dtype}")
        estimator.classes_ = np.asarray(state["classes"], dtype=dtype)
    else:
        estimator.n_outputs_ = int(state["n_outputs"])
        estimator._y_ndim = int(state["y_ndim"])
        estimator._target_mean = np.asarray(state["target_mean"], dtype=np.float64)
        estimator._target_scale = np.asarray(state["target_scale"], dtype=np.float64)
