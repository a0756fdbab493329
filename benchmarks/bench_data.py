"""Data for the benchmarks: aeon's shipped datasets and the one hold-out split they use.

Every benchmark loads a dataset with :func:`load` (the shipped train/test split, channels
last, no download) and, where it needs a validation set carved out of the training
series, takes :func:`holdout`: 20 % of the training series, stratified by class, seeded.
Scripts run as ``python benchmarks/NAME.py`` import it as ``bench_data``.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from gru_search.datasets import Dataset, load_aeon

#: Share of the training series held out for validation.
VALIDATION_FRACTION = 0.2


def load(name: str) -> Dataset:
    """aeon's dataset ``name`` (e.g. ``"GunPoint"``), its shipped train and test split."""
    return load_aeon(name)


def holdout(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit on and rows to validate on: a stratified, seeded 20 % hold-out."""
    rows = np.arange(len(y))
    fit_rows, val_rows = train_test_split(
        rows, test_size=VALIDATION_FRACTION, random_state=seed, stratify=np.asarray(y)
    )
    return fit_rows, val_rows


def fit_and_validation(data: Dataset, seed: int = 0) -> tuple[np.ndarray, ...]:
    """``X_fit, y_fit, X_val, y_val``: the training series split by :func:`holdout`."""
    fit_rows, val_rows = holdout(data.y_train, seed)
    X, y = np.asarray(data.X_train), np.asarray(data.y_train)
    return X[fit_rows], y[fit_rows], X[val_rows], y[val_rows]
