"""A labelled toy dataset written as a `.npz` file, for tests that run the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def trend_npz(
    path: Path, n: int = 60, steps: int = 10, noise: float = 0.3, seed: int = 0, n_test: int = 0
) -> Path:
    """Two classes of rising and falling trends plus noise; the last ``n_test`` rows (if
    any) also stored as the test split."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.linspace(-1, 1, steps)[None, :] * (2 * y[:, None] - 1)
    X = X + noise * rng.normal(size=(n, steps))
    arrays = {"X_train": X, "y_train": y}
    if n_test:
        arrays.update(X_test=X[-n_test:], y_test=y[-n_test:])
    np.savez(path, **arrays)
    return path
