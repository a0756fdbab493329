"""Export a fitted estimator as a folder: a ``.keras`` model plus JSON metadata.

The folder holds ``model.keras`` (Keras' own format, loaded with ``safe_mode=True``, so no
Python code inside it ever runs) and ``gru_search.json`` (plain data: parameters, classes,
input shape, scaling, package versions, the study and trial it came from and its score).
The metadata lists every file of the export with its SHA-256 (the *manifest*) and carries
a checksum of its own content, so an edited value or a replaced file is refused on load,
and every value is checked before it is used. Nothing is unpickled, so an export from an
untrusted source cannot execute code.

The manifest is also what makes replacing an export safe: ``save(..., overwrite=True)``
replaces only the files a previous ``save`` listed, and refuses any folder whose
``gru_search.json`` it did not write; files a user added to the folder stay.

The checksums detect accidental edits and copies gone wrong; someone who rewrites the
metadata on purpose can recompute them, which is why loading never trusts the content
further than plain data (``safe_mode=True``, validated values).
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

from gru_search.estimators import GRUClassifier, GRURegressor, validate_params
from gru_search.exceptions import ExportError
from gru_search.forecasting import GRUForecaster
from gru_search.preprocessing import (
    SequencePreprocessor,
    TargetScaler,
    checked_count,
)
from gru_search.text import GRUTextClassifier, TextPreprocessor

FORMAT = "gru-search-model"
FORMAT_VERSION = 2
#: Versions :func:`load` reads (1: before the manifest; only the model was hashed).
READABLE_VERSIONS = (1, 2)
MODEL_FILE = "model.keras"
METADATA_FILE = "gru_search.json"
#: Metadata larger than this is refused unread (a real one is a few kilobytes).
MAX_METADATA_BYTES = 16 * 1024 * 1024
_ESTIMATORS = {
    cls.__name__: cls for cls in (GRUClassifier, GRURegressor, GRUForecaster, GRUTextClassifier)
}


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


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_checksum(document: dict[str, Any]) -> str:
    """SHA-256 of the metadata document without its ``checksum`` key (canonical JSON)."""
    content = {key: value for key, value in document.items() if key != "checksum"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


def _export_files(folder: Path) -> list[str]:
    """The files a previous :func:`save` wrote into ``folder`` (refusing anything else)."""
    if not folder.is_dir():
        raise ExportError(f"{folder} exists and is not a folder; refusing to replace it")
    try:
        document = read_metadata(folder)
    except ExportError as error:
        raise ExportError(
            f"{folder} exists and is not a gru-search export ({error}); refusing to replace it"
        ) from None
    listed = list(document.get("files", {MODEL_FILE: None}))
    return [*listed, METADATA_FILE]


def save(
    estimator: GRUClassifier | GRURegressor | GRUForecaster,
    path: str | os.PathLike,
    *,
    origin: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted estimator to the folder ``path``.

    Parameters
    ----------
    estimator : fitted GRUClassifier, GRURegressor or GRUForecaster
    path : str or path-like
        Folder to create. An existing folder is replaced only with ``overwrite=True`` and
        only if a previous ``save`` wrote it; then only the files that ``save`` listed in
        its metadata are replaced, and anything else in the folder stays.
    origin : dict, optional
        Where the model came from, e.g. ``{"study": ..., "trial": ..., "score": ...,
        "metric": ...}`` (``GRUSearchCV`` fills it through :func:`save_search`).
    overwrite : bool, default=False

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    ExportError
        If ``path`` exists and ``overwrite`` is False, or it is not an export.
    """
    if type(estimator).__name__ not in _ESTIMATORS:
        raise TypeError(
            "save() exports GRUClassifier, GRURegressor, GRUTextClassifier or GRUForecaster, got "
            f"{type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    target = Path(path)
    previous: list[str] = []
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ExportError(f"{target} already exists; pass overwrite=True to replace it")
        previous = _export_files(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".gru-search-export-", dir=target.parent))
    except OSError as error:
        raise ExportError(f"cannot write an export to {target}: {error.strerror}") from None
    try:
        estimator.model_.save(staging / MODEL_FILE)
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "estimator": type(estimator).__name__,
            "params": _stored_params(estimator.get_params()),
            "fitted": _fitted_state(estimator),
            "versions": _versions(),
            "origin": _jsonable(origin or {}),
            "files": {MODEL_FILE: file_sha256(staging / MODEL_FILE)},
        }
        document["checksum"] = metadata_checksum(document)
        (staging / METADATA_FILE).write_text(json.dumps(document, indent=2), encoding="utf-8")
        if not previous:
            staging.rename(target)  # a new folder appears whole or not at all
            return target
        # Replace file by file, the metadata last: until it lands, the old metadata no
        # longer matches the new model, so an interrupted replacement fails to load
        # instead of loading a mixture.
        for name in document["files"]:
            os.replace(staging / name, target / name)
        for name in previous:
            if name not in document["files"] and name != METADATA_FILE:
                (target / name).unlink(missing_ok=True)
        os.replace(staging / METADATA_FILE, target / METADATA_FILE)
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
    if isinstance(estimator, GRUForecaster):
        return _jsonable(estimator.fitted_state())
    state: dict[str, Any] = {
        **estimator.preprocessor_.to_dict(),
        "n_iter": estimator.n_iter_,
        "best_epoch": estimator.best_epoch_,
        "epoch_seconds": list(estimator.epoch_seconds_),
        "device": getattr(estimator, "device_", "unknown"),
        "history": estimator.history_,
    }
    if not isinstance(estimator, GRUTextClassifier):  # texts have no features
        state["n_features_in"] = estimator.n_features_in_
    if hasattr(estimator, "feature_names_in_"):
        state["feature_names_in"] = list(estimator.feature_names_in_)
    if isinstance(estimator, GRUClassifier):
        classes = estimator.classes_
        if classes.dtype == object and all(isinstance(c, str) for c in classes):
            classes = classes.astype(str)  # string labels of an object array (a CSV column)
        state["classes"] = _jsonable(classes)
        state["classes_dtype"] = classes.dtype.str
    else:
        state["n_outputs"] = estimator.n_outputs_
        state.update(estimator.target_scaler_.to_dict())
    return _jsonable(state)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata of an export folder, its checksum verified (nothing is loaded).

    Raises
    ------
    ExportError
        For a folder that is not an export, unreadable or oversized JSON, an unknown format
        or version, or metadata edited after export.
    """
    folder = Path(path)
    meta_path = folder / METADATA_FILE
    if not folder.is_dir() or not meta_path.is_file():
        raise ExportError(
            f"{folder} is not a gru-search export: expected a folder with {METADATA_FILE} "
            f"and {MODEL_FILE} (written by gru_search.save)"
        )
    size = meta_path.stat().st_size
    if size > MAX_METADATA_BYTES:
        raise ExportError(
            f"{meta_path} is {size} bytes; gru-search metadata is at most "
            f"{MAX_METADATA_BYTES} bytes, so this is not an export"
        )
    try:
        document = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(f"{meta_path} is not valid JSON: {error}") from None
    except RecursionError:
        raise ExportError(f"{meta_path} is nested too deeply to be gru-search metadata") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportError(f"{meta_path} is not gru-search metadata (format {FORMAT!r} expected)")
    version = document.get("format_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ExportError(
            f"{meta_path} has format version {version!r}; this gru-search reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    if document.get("estimator") not in _ESTIMATORS:
        raise ExportError(
            f"{meta_path}: unknown estimator {document.get('estimator')!r}; expected one of "
            f"{', '.join(_ESTIMATORS)}"
        )
    required = ("params", "fitted", "files", "checksum") if version >= 2 else ("model_sha256",)
    for key in ("params", "fitted", *required):
        if key not in document:
            raise ExportError(f"{meta_path}: missing key {key!r}")
    for key in ("params", "fitted"):
        if not isinstance(document[key], dict):
            raise ExportError(f"{meta_path}: {key!r} must be a mapping")
    if version >= 2:
        if document["checksum"] != metadata_checksum(document):
            raise ExportError(
                f"{meta_path} does not match its checksum: it was edited after export; "
                "refusing to load it (export the model again instead of editing it)"
            )
        files = document["files"]
        if not isinstance(files, dict) or MODEL_FILE not in files:
            raise ExportError(f"{meta_path}: 'files' must list {MODEL_FILE} with its SHA-256")
        for name, digest in files.items():
            if Path(name).name != name or name in ("", ".", "..", METADATA_FILE):
                raise ExportError(f"{meta_path}: 'files' lists {name!r}, not a file name")
            if not isinstance(digest, str):
                raise ExportError(f"{meta_path}: the SHA-256 of {name!r} must be a string")
    return document


def _verify_files(folder: Path, document: dict[str, Any]) -> None:
    files = document.get("files") or {MODEL_FILE: document.get("model_sha256")}
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise ExportError(f"{folder}: {name} is missing (listed in {METADATA_FILE})")
        if file_sha256(path) != digest:
            raise ExportError(
                f"{path} does not match the checksum in {METADATA_FILE}: the file was "
                "modified or replaced after export; refusing to load it"
            )


def load(path: str | os.PathLike) -> GRUClassifier | GRURegressor | GRUForecaster:
    """Load an estimator written by :func:`save`.

    Every file must match the SHA-256 its metadata lists, the metadata must match its own
    checksum, every fitted value is validated, and the model is loaded with
    ``safe_mode=True``. Loading therefore never executes code from the folder and never
    returns an estimator whose metadata was edited.

    Raises
    ------
    ExportError
        For a folder that is not a gru-search export, a tampered or mismatched file, or
        metadata that does not describe this fitted model.
    """
    folder = Path(path)
    document = read_metadata(folder)
    _verify_files(folder, document)
    model_path = folder / MODEL_FILE
    forecaster = document["estimator"] == GRUForecaster.__name__
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:  # Keras raises several types for a bad archive
        raise ExportError(f"{model_path} could not be loaded safely: {error}") from None
    cls = _ESTIMATORS[document["estimator"]]
    try:
        estimator = cls(**_params(document["params"]))
        validate_params(estimator)
        if forecaster:
            estimator.restore_fitted_state(document["fitted"], model)
        else:
            _restore(estimator, document["fitted"])
            _check_against_model(estimator, model)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise ExportError(
            f"{folder / METADATA_FILE}: invalid fitted state: {detail.splitlines()[0]}"
        ) from None
    estimator.model_ = model
    return estimator


def _stored_params(params: dict[str, Any]) -> dict[str, Any]:
    """The estimator's parameters as JSON data.

    A ``class_weight`` dict is stored as ``[label, weight]`` pairs: JSON object keys are
    strings, which would turn the integer labels into labels of no class.
    """
    stored = dict(params)
    if isinstance(stored.get("class_weight"), dict):
        stored["class_weight"] = [
            [label, weight] for label, weight in stored["class_weight"].items()
        ]
    return _jsonable(stored)


def _params(params: dict[str, Any]) -> dict[str, Any]:
    restored = dict(params)
    for key in ("units", "head_units", "quantiles"):
        if isinstance(restored.get(key), list):
            restored[key] = tuple(restored[key])
    if isinstance(restored.get("class_weight"), list):
        restored["class_weight"] = {label: weight for label, weight in restored["class_weight"]}
    return restored


def _restore(estimator: Any, state: dict[str, Any]) -> None:
    """Set the fitted attributes from ``state``, checking every value on the way."""
    if isinstance(estimator, GRUTextClassifier):
        estimator.preprocessor_ = TextPreprocessor.from_dict(state)
    else:
        estimator.preprocessor_ = SequencePreprocessor.from_dict(state)
        estimator.n_features_in_ = checked_count(state["n_features_in"], "n_features_in", 1)
    estimator.n_iter_ = checked_count(state["n_iter"], "n_iter", 0)
    estimator.best_epoch_ = checked_count(state["best_epoch"], "best_epoch", 0)
    estimator.epoch_seconds_ = [float(v) for v in state["epoch_seconds"]]
    estimator.device_ = str(state.get("device", "unknown"))  # older exports did not say
    estimator.history_ = {
        str(key): [float(v) for v in values] for key, values in dict(state["history"]).items()
    }
    if "feature_names_in" in state:
        names = state["feature_names_in"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("feature_names_in must be a list of strings")
        estimator.feature_names_in_ = np.asarray(names, dtype=object)
    if isinstance(estimator, GRUClassifier):
        dtype = np.dtype(state["classes_dtype"])
        if dtype.kind not in "biufU":
            raise ValueError(f"unsupported classes dtype {dtype}")
        classes = np.asarray(state["classes"], dtype=dtype)
        if classes.ndim != 1 or len(classes) < 2 or len(np.unique(classes)) != len(classes):
            raise ValueError(f"classes must be 2 or more distinct labels, got {classes.tolist()}")
        estimator.classes_ = classes
    else:
        estimator.n_outputs_ = checked_count(state["n_outputs"], "n_outputs", 1)
        estimator.target_scaler_ = TargetScaler.from_dict(state, estimator.n_outputs_)


def _check_against_model(estimator: Any, model: keras.Model) -> None:
    """The metadata must describe the model it sits beside: inputs and outputs."""
    if isinstance(estimator, GRUTextClassifier):
        _check_text_input(estimator.preprocessor_, model)
    else:
        _check_sequence_input(estimator, model)
    outputs = int(model.outputs[0].shape[-1])
    if isinstance(estimator, GRUClassifier):
        n_classes = len(estimator.classes_)
        expected = 1 if n_classes == 2 else n_classes
        if outputs != expected:
            raise ValueError(
                f"{n_classes} classes need {expected} model output(s); the model has {outputs}"
            )
    elif outputs != estimator.n_outputs_:
        raise ValueError(
            f"{estimator.n_outputs_} targets need as many model outputs; the model has {outputs}"
        )


def _check_text_input(preprocessor: TextPreprocessor, model: keras.Model) -> None:
    (tensor,) = model.inputs
    reads_text = "string" in str(tensor.dtype)
    if reads_text != (preprocessor.kind == "text"):
        raise ValueError(f"a model for {preprocessor.kind} input must take {preprocessor.kind}")
    if not reads_text and tuple(tensor.shape[1:]) != (preprocessor.sequence_length,):
        raise ValueError(
            f"token ids of length {preprocessor.sequence_length} need a model input of that "
            f"length; the model takes {tuple(tensor.shape[1:])}"
        )


def _check_sequence_input(estimator: Any, model: keras.Model) -> None:
    steps, features = estimator.input_shape_
    expected_width = features * estimator.patch_size_
    widths = [shape[-1] for shape in (tensor.shape for tensor in model.inputs) if len(shape) == 3]
    if widths != [expected_width]:
        raise ValueError(
            f"{features} features in patches of {estimator.patch_size_} need a model input "
            f"of width {expected_width}; the model takes {widths}"
        )
    if (steps is None) != (len(model.inputs) == 2):
        raise ValueError("the model's mask input does not match the fitted layout")
