"""Shared machinery of the custom gate-variant cells.

Every custom variant is split in two halves so that the expensive part runs once per
sequence instead of once per time step:

* :meth:`ProjectedCell.project` maps the inputs of *all* time steps to their gate
  pre-activations in one matrix product (``x @ W + b``), outside the recurrence;
* :meth:`ProjectedCell.step` does only what depends on the previous state (``h @ U``).

:class:`GatedRNN` runs that recurrence over a sequence with ``keras.ops.scan`` (any
backend), honours Keras masks and dropout, and mirrors the ``keras.layers.GRU``
interface (``return_sequences``, ``return_state``, ``go_backwards``) so that
``keras.layers.Bidirectional`` wraps it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from gru_search.cells._info import VariantInfo

PACKAGE = "gru_search"

# every cell class with a ``variant`` name, filled as the classes are defined
_CELL_CLASSES: dict[str, type[ProjectedCell]] = {}


def registered_cells() -> dict[str, type[ProjectedCell]]:
    """Custom cell classes by variant name (``"mgu"`` -> :class:`MGUCell`...)."""
    return dict(_CELL_CLASSES)


class ProjectedCell(keras.layers.Layer):
    """Base class of a recurrent cell whose input projection is hoisted out of the loop.

    Subclasses create their weights in :meth:`build_weights` and implement
    :meth:`project` and :meth:`step`. The cell also works one step at a time with the
    usual Keras-cell contract ``call(x_t, [h]) -> (h, [h])``, which is what
    ``keras.layers.RNN`` expects and what the NumPy reference tests use.

    Parameters
    ----------
    units : int
        Size of the hidden state ``n``.
    kernel_initializer, recurrent_initializer, bias_initializer : str
        Keras initialiser names for the input kernel ``W``, the recurrent kernel ``U``
        and the biases (the same defaults as ``keras.layers.GRU``).
    """

    #: the variant a concrete cell class implements: its row of the variant table (None:
    #: an abstract base). ``variant`` is ``info.name``.
    info: VariantInfo | None = None
    variant: str | None = None
    #: whether the cell has weights acting on the previous state (recurrent dropout
    #: needs them)
    has_recurrent_kernel: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("info") is not None:  # declared here, not inherited
            cls.variant = cls.info.name
            _CELL_CLASSES[cls.variant] = cls

    def __init__(
        self,
        units: int,
        kernel_initializer: str = "glorot_uniform",
        recurrent_initializer: str = "orthogonal",
        bias_initializer: str = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    # -- weights -----------------------------------------------------------------
    def build(self, input_shape: tuple[int | None, ...]) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError("the last (feature) dimension of the input must be known")
        self.build_weights(int(input_dim))
        self.built = True

    def build_weights(self, input_dim: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _kernel(self, name: str, rows: int, blocks: int) -> keras.Variable:
        initializer = (
            self.recurrent_initializer if name.startswith("recurrent") else self.kernel_initializer
        )
        return self.add_weight(
            shape=(rows, blocks * self.units), initializer=initializer, name=name
        )

    def _vector(self, name: str, blocks: int, initializer: str | None = None) -> keras.Variable:
        init = keras.initializers.get(initializer) if initializer else self.bias_initializer
        return self.add_weight(shape=(blocks * self.units,), initializer=init, name=name)

    # -- the two halves ----------------------------------------------------------
    def project(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        """Gate pre-activations from the inputs alone, for every leading index at once."""
        raise NotImplementedError  # pragma: no cover - abstract

    def step(self, projected: Any, h: Any, h_recurrent: Any) -> Any:
        """One recurrence step.

        Parameters
        ----------
        projected : tensor, shape (batch, projection_blocks * units)
            Output of :meth:`project` for this time step.
        h : tensor, shape (batch, units)
            Previous state, used for the interpolation.
        h_recurrent : tensor, shape (batch, units)
            Previous state as the recurrent kernel sees it (recurrent dropout applied).
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def run(self, projected: Any, mask: Any, h0: Any, recurrent_mask: Any) -> tuple[Any, Any]:
        """Run the recurrence over time-major ``projected``; return (last state, all states).

        ``mask`` is a time-major ``(time, batch, 1)`` float tensor (1 = real step); where it
        is 0 the state is carried over unchanged, which for right-padded sequences makes
        the last state the state after the last real step.
        """

        def body(h: Any, inputs: Any) -> tuple[Any, Any]:
            projected_t, mask_t = inputs
            h_rec = h if recurrent_mask is None else h * recurrent_mask
            h_new = self.step(projected_t, h, h_rec)
            h_new = mask_t * h_new + (1.0 - mask_t) * h
            return h_new, h_new

        return scan(body, h0, (projected, mask))

    # -- Keras cell contract -----------------------------------------------------
    def call(self, inputs: Any, states: Any, training: bool | None = None) -> tuple[Any, list]:
        h = states[0] if isinstance(states, (list, tuple)) else states
        h_new = self.step(self.project(inputs, training=training), h, h)
        return h_new, [h_new]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            recurrent_initializer=keras.initializers.serialize(self.recurrent_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def scan(body: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any) -> tuple[Any, Any]:
    """``keras.ops.scan`` whose carry equals its per-step output; returns (last, stacked).

    On TensorFlow this uses ``tf.scan``: Keras' own TensorFlow ``scan`` builds a
    ``while_loop`` without ``maximum_iterations``, and XLA cannot differentiate that
    ("XLA compilation requires a fixed tensor list size").
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        states = tf.scan(lambda h, x: body(h, x)[0], xs, initializer=init)
        return states[-1], states
    return ops.scan(body, init, xs)


def split(tensor: Any, blocks: int) -> list[Any]:
    """Split the last axis into ``blocks`` equal parts."""
    return ops.split(tensor, blocks, axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class GatedRNN(keras.layers.Layer):
    """A recurrent layer running a gate-variant cell over a sequence.

    Maps ``(batch, time, m)`` to ``(batch, units)`` or, with ``return_sequences``,
    ``(batch, time, units)``. The input projection of every time step is one matrix
    product; only the state-dependent part runs inside ``keras.ops.scan``. Like
    ``keras.layers.RNN``, the layer takes the cell object; :func:`build_layer` makes both
    from a variant name.

    Parameters
    ----------
    cell : ProjectedCell
        The cell, e.g. ``MGUCell(32)``; the layer's ``units`` and ``variant`` are the cell's.
    return_sequences : bool, default=False
        Return the state after every step instead of only the last one.
    return_state : bool, default=False
        Also return the last state (Keras RNN convention).
    go_backwards : bool, default=False
        Process the sequence in reverse; the output sequence is then in reverse order,
        as with every Keras RNN layer (``keras.layers.Bidirectional`` relies on it).
    dropout : float, default=0.0
        Fraction of input features dropped, one mask per sequence shared by all steps.
    recurrent_dropout : float, default=0.0
        Fraction of state units dropped before the recurrent kernel, one mask per sequence.
    seed : int or None
        Seed of the dropout masks.
    **kwargs
        Keras layer arguments (``name``, ``dtype``, ...).
    """

    def __init__(
        self,
        cell: ProjectedCell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(cell, ProjectedCell) or cell.variant is None:
            raise ValueError(
                f"cell must be a gate-variant cell such as MGUCell(32), got {cell!r}; "
                "build_layer(variant, units) makes one from a name"
            )
        if not 0.0 <= recurrent_dropout < 1.0 or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"dropout and recurrent_dropout must lie in [0, 1), got "
                f"dropout={dropout!r}, recurrent_dropout={recurrent_dropout!r}"
            )
        if recurrent_dropout and not cell.has_recurrent_kernel:
            raise ValueError(
                f"variant {cell.variant!r} has no recurrent weights, so recurrent_dropout "
                f"must be 0 (got {recurrent_dropout!r})"
            )
        self.cell = cell
        self.variant = cell.variant
        self.units = cell.units
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.zero_output_for_mask = zero_output_for_mask
        self.stateful = False
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def build(self, sequences_shape: tuple[int | None, ...], initial_state_shape=None) -> None:
        if len(sequences_shape) != 3:
            raise ValueError(
                f"{self.variant} expects inputs of shape (batch, time, features), "
                f"got shape {tuple(sequences_shape)}"
            )
        if not self.cell.built:  # a deserialised cell comes built
            self.cell.build(sequences_shape)
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, time = sequences_shape[0], sequences_shape[1]
        output = (batch, time, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return output, (batch, self.units)
        return output

    def compute_mask(self, sequences, mask=None):
        if not self.return_sequences or mask is None:
            return None
        return ops.flip(mask, axis=1) if self.go_backwards else mask

    def _sequence_dropout_mask(self, shape: tuple, rate: float) -> Any:
        ones = ops.ones(shape, dtype=self.compute_dtype)
        return keras.random.dropout(ones, rate, seed=self.seed_generator)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        batch = ops.shape(sequences)[0]
        if training and self.dropout:
            features = ops.shape(sequences)[-1]
            sequences = sequences * self._sequence_dropout_mask((batch, 1, features), self.dropout)
        recurrent_mask = None
        if training and self.recurrent_dropout:
            recurrent_mask = self._sequence_dropout_mask(
                (batch, self.units), self.recurrent_dropout
            )

        projected = self.cell.project(sequences, training=training, mask=mask)
        if mask is None:
            step_mask = ops.ones(ops.shape(sequences)[:2], dtype=projected.dtype)
        else:
            step_mask = ops.cast(mask, projected.dtype)
        if self.go_backwards:
            projected = ops.flip(projected, axis=1)
            step_mask = ops.flip(step_mask, axis=1)
        # time-major for the scan
        projected = ops.transpose(projected, (1, 0, 2))
        step_mask = ops.expand_dims(ops.transpose(step_mask, (1, 0)), -1)

        if initial_state is None:
            h0 = ops.zeros((batch, self.units), dtype=projected.dtype)
        else:
            h0 = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
        last, states = self.cell.run(projected, step_mask, h0, recurrent_mask)
        if self.return_sequences:
            if self.zero_output_for_mask:
                states = states * step_mask
            output = ops.transpose(states, (1, 0, 2))
        else:
            output = last
        if self.return_state:
            return output, last
        return output

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            cell=keras.saving.serialize_keras_object(self.cell),
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GatedRNN:
        config = dict(config)
        if "variant" in config:
            # saved before the layer took a cell object: variant, units and cell options
            config["cell"] = _legacy_cell(config)
        else:
            config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)


_LAYER_KEYS = frozenset(
    {
        "name",
        "dtype",
        "trainable",
        "autocast",
        "return_sequences",
        "return_state",
        "go_backwards",
        "dropout",
        "recurrent_dropout",
        "seed",
        "zero_output_for_mask",
    }
)


def _legacy_cell(config: dict[str, Any]) -> ProjectedCell:
    """The cell of a GatedRNN config written as ``variant, units, **cell_options``.

    Removes those keys from ``config``; what is left are the layer's own arguments.
    """
    variant, units = config.pop("variant"), config.pop("units")
    options = {key: config.pop(key) for key in list(config) if key not in _LAYER_KEYS}
    cell_class = _CELL_CLASSES.get(variant)
    if cell_class is None:
        raise ValueError(f"unknown gate variant {variant!r} in a saved GatedRNN")
    return cell_class(units, name=f"{variant}_cell", **options)
