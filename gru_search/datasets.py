"""Data sources of the command line: aeon datasets, ``.npz`` arrays, long-format tables."""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gru_search.data import LongTableWarning, plain, sequences_from_long
from gru_search.exceptions import DataError


@dataclass(frozen=True)
class Dataset:
    """Training (and optional test) sequences with their targets.

    ``X`` follows docs/conventions.md: ``(n, time, features)`` arrays (channels last) or lists
    of uneven sequences.
    """

    name: str
    X_train: Any
    y_train: np.ndarray
    X_test: Any = None
    y_test: np.ndarray | None = None
    ids_train: np.ndarray | None = None
    ids_test: np.ndarray | None = None

    def describe(self) -> str:
        def shape(X: Any) -> str:
            if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1:
                words = [len(str(text).split()) for text in X]
                return f"{len(X)} texts of {min(words)}-{max(words)} words"
            if isinstance(X, list):
                lengths = [len(s) for s in X]
                return f"{len(X)} sequences of {min(lengths)}-{max(lengths)} steps"
            X = np.asarray(X)
            features = X.shape[2] if X.ndim == 3 else 1
            return f"{X.shape[0]} sequences of {X.shape[1]} steps x {features} features"

        text = f"{self.name}: train {shape(self.X_train)}"
        if self.X_test is not None:
            text += f"; test {shape(self.X_test)}"
        return text


def load_aeon(name: str) -> Dataset:
    """A UCR/UEA classification or a Monash regression dataset shipped inside aeon (no
    download), transposed to channels last."""
    from aeon.datasets import load_classification, load_regression

    errors = []
    for loader in (load_classification, load_regression):
        try:
            X_train, y_train = loader(name, split="train")
            X_test, y_test = loader(name, split="test")
        except Exception as error:  # aeon raises several types for an unknown name
            errors.append(error)
            continue
        return Dataset(name, X_train.transpose(0, 2, 1), y_train, X_test.transpose(0, 2, 1), y_test)
    raise DataError(
        f"cannot load aeon dataset {name!r} (only datasets shipped inside aeon work "
        "offline, e.g. GunPoint, ItalyPowerDemand, ArrowHead, BasicMotions for "
        f"classification, Covid3Month for regression): {errors[0]}"
    )


def _check_pair(path: Path, X: np.ndarray, y: np.ndarray | None, part: str) -> None:
    if X.ndim not in (2, 3):
        raise DataError(
            f"{path}: X_{part} has shape {X.shape}; expected (n_samples, n_timesteps) or "
            "(n_samples, n_timesteps, n_features)"
        )
    if y is None:
        return
    if y.ndim not in (1, 2):
        raise DataError(f"{path}: y_{part} has shape {y.shape}; expected (n_samples,)")
    if len(X) != len(y):
        raise DataError(
            f"{path}: X_{part} has {len(X)} samples but y_{part} has {len(y)}; expected one "
            "target per sequence"
        )
    if len(X) == 0:
        raise DataError(f"{path}: X_{part} holds no samples")


def _read_array(path: Path, arrays: Any, key: str) -> np.ndarray:
    try:
        return arrays[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: array {key} cannot be read safely: {error}") from None


def load_npz(path: Path, *, require_target: bool = True) -> Dataset:
    """``X_train``/``y_train`` (required) and ``X_test``/``y_test`` (optional) arrays.

    With ``require_target=False`` (predicting) labels are optional, and one array ``X``
    may stand for the data to predict.
    """
    expected = "an .npz archive (numpy.savez) with X_train and y_train"
    try:
        arrays = np.load(path, allow_pickle=False)  # pickles could run code
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: cannot read it as {expected}: {error}") from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array, not {expected}")
    with arrays:
        if not require_target and "X_train" not in arrays.files:
            unlabelled = next((k for k in ("X_test", "X") if k in arrays.files), None)
            if unlabelled is not None:
                X = _read_array(path, arrays, unlabelled)
                _check_pair(path, X, None, "test")
                return Dataset(path.stem, X, None)
        needed = ("X_train", "y_train") if require_target else ("X_train",)
        missing = [key for key in needed if key not in arrays.files]
        if missing:
            raise DataError(
                f"{path}: missing array(s) {missing}; expected X_train and y_train "
                f"(and optionally X_test, y_test), found {arrays.files}"
            )
        wanted = [k for k in ("X_train", "y_train", "X_test", "y_test") if k in arrays.files]
        if require_target and not {"X_test", "y_test"} <= set(wanted):
            wanted = ["X_train", "y_train"]
        loaded = {key: _read_array(path, arrays, key) for key in wanted}
    for part in ("train", "test"):
        if f"X_{part}" in loaded:
            X = loaded[f"X_{part}"]
            _check_pair(path, X, loaded.get(f"y_{part}"), part)
    return Dataset(
        path.stem,
        loaded["X_train"],
        loaded.get("y_train"),  # absent when predicting unlabelled data
        loaded.get("X_test"),
        loaded.get("y_test"),
    )


def load_table(
    path: Path,
    *,
    series: str,
    time: str | None,
    target: str,
    split: str | None,
    require_target: bool = True,
) -> Dataset:
    """A long-format ``.csv`` or ``.parquet`` table: one row per series and time step.

    With ``split``, that column's values ``train``/``test`` (constant per series) divide
    the series; without it every series is training data.
    """
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise DataError(f"{path}: cannot read the table: {error}") from None
    if not require_target and target not in frame.columns:
        target = None  # predicting on unlabelled series
    try:
        return _split_table(path, frame, series=series, time=time, target=target, split=split)
    except DataError:
        raise
    except (TypeError, ValueError) as error:
        raise DataError(f"{path}: {error}") from None


def _split_table(
    path: Path,
    frame: pd.DataFrame,
    *,
    series: str,
    time: str | None,
    target: str | None,
    split: str | None,
) -> Dataset:
    if split is None:
        X, y, ids = sequences_from_long(
            frame, series=series, time=time, target=target, return_ids=True
        )
        return Dataset(path.stem, X, y, ids_train=ids)
    if split not in frame.columns:
        raise DataError(f"{path}: split column {split!r} not found in {list(frame.columns)}")
    if series in frame.columns:
        per_series = frame.groupby(series, sort=False)[split].nunique(dropna=False)
        if (per_series > 1).any():
            name = plain(per_series[per_series > 1].index[0])
            raise DataError(
                f"{path}: series {name!r} has rows in more than one {split!r} value; a "
                "series belongs to train or to test as a whole"
            )
    other = ~frame[split].isin(["train", "test"])
    if other.any():
        warnings.warn(
            f"{path}: left out {int(other.sum())} rows whose {split!r} is neither 'train' "
            f"nor 'test' (values {sorted(map(str, frame.loc[other, split].unique()))[:5]})",
            LongTableWarning,
            stacklevel=2,
        )
    parts = {}
    for part in ("train", "test"):
        rows = frame[frame[split] == part].drop(columns=split)
        parts[part] = (
            sequences_from_long(rows, series=series, time=time, target=target, return_ids=True)
            if len(rows)
            else (None, None, None)
        )
    if parts["train"][0] is None:
        raise DataError(f"{path}: no rows with {split} == 'train'")
    (X_train, y_train, ids_train), (X_test, y_test, ids_test) = parts["train"], parts["test"]
    return Dataset(path.stem, X_train, y_train, X_test, y_test, ids_train, ids_test)


def load_texts(
    path: Path,
    *,
    text: str,
    target: str,
    split: str | None,
    require_target: bool = True,
) -> Dataset:
    """A ``.csv`` or ``.parquet`` table of one text and one label per row.

    With ``split``, that column's values ``train``/``test`` divide the rows; rows whose
    label is missing are refused by row number (a label is what is learned).
    """
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise DataError(f"{path}: cannot read the table: {error}") from None
    if text not in frame.columns:
        raise DataError(
            f"{path} has no text column {text!r}; it has {list(frame.columns)}. Name it with --text"
        )
    labelled = target in frame.columns
    if require_target and not labelled:
        raise DataError(
            f"{path} has no label column {target!r}; it has {list(frame.columns)}. Name it "
            "with --target (and the text column with --text)"
        )
    if labelled and frame[target].isna().any():
        row = int(np.flatnonzero(frame[target].isna().to_numpy())[0])
        raise DataError(f"{path}: row {row} has no {target!r} label; drop or label it first")
    parts = {"train": frame}
    if split is not None:
        if split not in frame.columns:
            raise DataError(f"{path}: split column {split!r} not found in {list(frame.columns)}")
        parts = {part: frame[frame[split] == part] for part in ("train", "test")}
        if parts["train"].empty:
            raise DataError(f"{path}: no rows with {split} == 'train'")

    def columns(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        texts = rows[text].to_numpy(dtype=object)
        return texts, rows[target].to_numpy() if labelled else None

    X_train, y_train = columns(parts["train"])
    X_test, y_test = columns(parts["test"]) if len(parts.get("test", ())) else (None, None)
    return Dataset(path.stem, X_train, y_train, X_test, y_test)


def load_data(
    spec: str,
    *,
    series: str = "series",
    time: str | None = "time",
    target: str = "target",
    split: str | None = None,
    require_target: bool = True,
    text: str | None = None,
) -> Dataset:
    """Load ``aeon:NAME``, ``FILE.npz``, ``FILE.csv`` or ``FILE.parquet``.

    ``require_target=False`` (predicting) accepts data without labels or targets. With
    ``text``, a table holds one text (that column) and one label per row instead of
    sequences.
    """
    if text is not None:
        path = Path(spec)
        if path.suffix not in (".csv", ".parquet") or spec.startswith("aeon:"):
            raise DataError(
                f"--data {spec!r}: texts come in a .csv or .parquet table (a text column and "
                "a label column)"
            )
        if not path.is_file():
            raise DataError(f"--data {spec!r}: no such file")
        return load_texts(
            path, text=text, target=target, split=split, require_target=require_target
        )
    if spec.startswith("aeon:"):
        name = spec.partition(":")[2]
        if not name:
            raise DataError("aeon: needs a dataset name, e.g. aeon:GunPoint")
        return load_aeon(name)
    path = Path(spec)
    if path.suffix not in (".npz", ".csv", ".parquet"):
        raise DataError(
            f"--data {spec!r}: expected aeon:NAME, a .npz file with X_train/y_train, or a "
            "long-format .csv/.parquet table"
        )
    if not path.is_file():
        raise DataError(f"--data {spec!r}: no such file")
    if path.suffix == ".npz":
        return load_npz(path, require_target=require_target)
    return load_table(
        path,
        series=series,
        time=time,
        target=target,
        split=split,
        require_target=require_target,
    )
