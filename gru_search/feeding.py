"""How the training rows reach Keras' ``Model.fit``.

Given arrays, Keras 3 builds a new ``tf.data`` iterator at the start and again at the end of
every epoch, about 20 ms each on a 2-core CPU. On a few dozen series (4 steps an epoch) that
was more than the training steps themselves: 100-110 ms an epoch on ItalyPowerDemand,
38-51 ms fed from one pipeline (benchmarks/RESULTS.md, "Feeding small data"). With the
TensorFlow backend the rows therefore go through one shuffled, repeated ``tf.data``
pipeline whose single iterator lasts the whole fit; the other backends, and data too large
to copy into a pipeline cheaply, keep Keras' own array handling.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

#: Above this many bytes of training data the per-epoch iterator no longer matters next to
#: the steps, and a second in-memory copy in the pipeline would.
PIPELINE_MAX_BYTES = 256 * 2**20


def _nbytes(*arrays: Any) -> int:
    total = 0
    for array in arrays:
        if isinstance(array, dict):
            total += _nbytes(*array.values())
        else:
            total += np.asarray(array).nbytes
    return total


def fit_arguments(
    inputs: Any, targets: np.ndarray, weights: np.ndarray, *, batch_size: int, seed: int
) -> dict[str, Any]:
    """Keyword arguments for ``Model.fit`` that feed these rows, reshuffled every epoch.

    Parameters
    ----------
    inputs : ndarray or dict of ndarray
        The model's inputs, one row per training sequence.
    targets, weights : ndarray
        Encoded targets and per-row loss weights, as many rows as ``inputs``.
    batch_size : int
        Rows per optimiser step; the last batch of an epoch may be smaller.
    seed : int
        Seed of the shuffling, so that a fit is reproducible.

    Returns
    -------
    dict
        ``x``/``y``/``sample_weight``/``batch_size``/``shuffle`` or, on TensorFlow,
        ``x`` (a repeated ``tf.data.Dataset``), ``steps_per_epoch`` and ``shuffle=False``.
    """
    n_rows = len(targets)
    if keras.backend.backend() != "tensorflow" or (
        _nbytes(inputs, targets, weights) > PIPELINE_MAX_BYTES
    ):
        return {
            "x": inputs,
            "y": targets,
            "sample_weight": weights,
            "batch_size": batch_size,
            "shuffle": True,
        }
    import tensorflow as tf

    dataset = (
        tf.data.Dataset.from_tensor_slices((inputs, targets, weights))
        .shuffle(n_rows, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .repeat()
    )
    # shuffle=False: the pipeline shuffles; Keras warns that it would ignore True
    return {"x": dataset, "steps_per_epoch": math.ceil(n_rows / batch_size), "shuffle": False}
