"""Data sources of the command line: aeon datasets, ``.npz`` arrays, long-format tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gru_search.data import sequences_from_long


class DataError(ValueError):
    """A data specification that cannot be loaded; the message says what was expected."""


@dataclass(frozen=True)
class Dataset:
    """Training (and optional test) sequences with their targets.

    ``X`` follows DESIGN.md §2: ``(n, time, features)`` arrays (channels last) or lists
    of uneven sequences.
    """

    name: str
    X_train: Any
    y_train: np.ndarray
    X_test: Any = None
    y_test: np.ndarray | None = None

    def describe(self) -> str:
        def shape(X: Any) -> str:
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
    """A UCR/UEA dataset shipped inside aeon (no download), transposed to channels last."""
    from aeon.datasets import load_classification

    try:
        X_train, y_train = load_classification(name, split="train")
        X_test, y_test = load_classification(name, split="test")
    except Exception as error:  # aeon raises several types for an unknown name
        raise DataError(
            f"cannot load aeon dataset {name!r} (only datasets shipped inside aeon work "
            f"offline, e.g. GunPoint, ItalyPowerDemand, ArrowHead, BasicMotions): {error}"
        ) from None
    return Dataset(name, X_train.transpose(0, 2, 1), y_train, X_test.transpose(0, 2, 1), y_test)


def load_npz(path: Path) -> Dataset:
    """``X_train``/``y_train`` (required) and ``X_test``/``y_test`` (optional) arrays."""
    try:
        arrays = np.load(path, allow_pickle=False)  # pickles could run code
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz file without pickles: {error}") from None
    with arrays:
        missing = [key for key in ("X_train", "y_train") if key not in arrays.files]
        if missing:
            raise DataError(
                f"{path}: missing array(s) {missing}; expected X_train and y_train "
                f"(and optionally X_test, y_test), found {arrays.files}"
            )
        has_test = "X_test" in arrays.files and "y_test" in arrays.files
        return Dataset(
            path.stem,
            arrays["X_train"],
            arrays["y_train"],
            arrays["X_test"] if has_test else None,
            arrays["y_test"] if has_test else None,
        )


def load_table(
    path: Path, *, series: str, time: str | None, target: str, split: str | None
) -> Dataset:
    """A long-format ``.csv`` or ``.parquet`` table: one row per series and time step.

    With ``split``, that column's values ``train``/``test`` (constant per series) divide
    the series; without it every series is training data.
    """
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise DataError(f"{path}: cannot read the table: {error}") from None
    if split is None:
        X, y = sequences_from_long(frame, series=series, time=time, target=target)
        return Dataset(path.stem, X, y)
    if split not in frame.columns:
        raise DataError(f"{path}: split column {split!r} not found in {list(frame.columns)}")
    parts = {}
    for part in ("train", "test"):
        rows = frame[frame[split] == part].drop(columns=split)
        parts[part] = (
            sequences_from_long(rows, series=series, time=time, target=target)
            if len(rows)
            else (None, None)
        )
    if parts["train"][0] is None:
        raise DataError(f"{path}: no rows with {split} == 'train'")
    return Dataset(path.stem, *parts["train"], *parts["test"])


def load_data(
    spec: str,
    *,
    series: str = "series",
    time: str | None = "time",
    target: str = "target",
    split: str | None = None,
) -> Dataset:
    """Load ``aeon:NAME``, ``FILE.npz``, ``FILE.csv`` or ``FILE.parquet``."""
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
        return load_npz(path)
    return load_table(path, series=series, time=time, target=target, split=split)
