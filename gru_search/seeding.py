"""Seeding Keras for one fit without changing the caller's random state.

``keras.utils.set_random_seed`` seeds Python's ``random``, NumPy's global generator, the
TensorFlow global seed and Keras' own global seed generator, for good: a user's script that
draws random numbers after ``fit`` would draw different ones than without it.
:func:`seeded` sets them for the duration of a block and puts back what was there before.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
from keras.src.backend.common import global_state
from keras.src.random import seed_generator
from keras.src.utils import rng_utils

__all__ = ["MAX_SEED", "seeded"]

#: Seeds are drawn below this bound: every library here accepts them (a 32-bit signed int).
MAX_SEED = 2**31 - 1


def _tensorflow() -> Any | None:
    try:
        import tensorflow as tf
    except ImportError:  # another backend without TensorFlow installed
        return None
    return tf


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python, NumPy, TensorFlow and Keras inside the block; restore them after.

    Parameters
    ----------
    seed : int
        Passed to :func:`keras.utils.set_random_seed`.

    Notes
    -----
    Python's and NumPy's generators come back exactly where they were. TensorFlow exposes
    only its global *seed*, not the position of its op-level counter, so a caller's
    ``tf.random.set_seed(s)`` is restored as ``s`` (its sequence restarts) and an unset
    global seed stays unset.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    keras_seed = global_state.get_global_attribute(rng_utils.GLOBAL_RANDOM_SEED)
    keras_generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    tf = _tensorflow()
    tf_seed = tf.compat.v1.get_seed(None)[0] if tf is not None else None
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, keras_seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, keras_generator)
        if tf is not None:
            tf.random.set_seed(tf_seed)
