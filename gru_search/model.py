"""Turn a model configuration into a compiled Keras model (one pure function)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import keras

from gru_search.cells import VARIANTS, build_layer, variant_info

Task = Literal["classification", "regression"]
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "nadam")
POOLINGS = ("last", "mean")


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")


def _check_positive_ints(name: str, values: tuple[int, ...], allow_empty: bool) -> None:
    if not allow_empty and len(values) == 0:
        raise ValueError(f"{name} must hold at least one layer width, got {values!r}")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must hold positive integers, got {values!r}")


@dataclass(frozen=True)
class GRUConfig:
    """Architecture and optimiser of a GRU sequence model.

    Parameters
    ----------
    units : tuple of int, default=(64,)
        Width of each recurrent layer, first to last; its length is the depth.
    cell : str, default="gru"
        Gate variant, one of :data:`gru_search.cells.VARIANTS`.
    bidirectional : bool, default=False
        Wrap every recurrent layer in ``keras.layers.Bidirectional``.
    dropout, recurrent_dropout : float, default=0.0
        Input and recurrent dropout of every recurrent layer, in ``[0, 1)``.
    layer_norm : bool, default=False
        Put a ``LayerNormalization`` between consecutive recurrent layers.
    pooling : {"last", "mean"}, default="last"
        How the last recurrent layer's states become one vector: the final state
        (Keras' convention) or the mean over the real (unmasked) time steps. Mean pooling
        gives every step a short gradient path, which helps on long sequences.
    head_units : tuple of int, default=()
        Hidden ReLU ``Dense`` layers between the last recurrent layer and the output.
    optimizer : str, default="adam"
        One of ``"adam", "adamw", "rmsprop", "sgd", "nadam"``.
    learning_rate : float, default=3e-3
        Optimiser step size.
    clipnorm : float or None, default=1.0
        Gradient norm clipping (recurrent nets occasionally explode); ``None`` disables it.
    jit_compile : bool or "auto", default="auto"
        XLA compilation. ``"auto"`` uses XLA whenever every layer supports it (so not with
        the fused cuDNN GRU on a TensorFlow GPU, and not on PyTorch), unlike Keras' own
        ``"auto"``, which never uses XLA on a TensorFlow CPU; there XLA halves epoch time.
    seed : int or None, default=None
        Seed of the dropout masks.
    """

    units: tuple[int, ...] = (64,)
    cell: str = "gru"
    bidirectional: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    layer_norm: bool = False
    pooling: str = "last"
    head_units: tuple[int, ...] = field(default_factory=tuple)
    optimizer: str = "adam"
    learning_rate: float = 3e-3
    clipnorm: float | None = 1.0
    jit_compile: bool | Literal["auto"] = "auto"
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", _as_int_tuple("units", self.units))
        object.__setattr__(self, "head_units", _as_int_tuple("head_units", self.head_units))
        _check_positive_ints("units", self.units, allow_empty=False)
        _check_positive_ints("head_units", self.head_units, allow_empty=True)
        if self.cell not in VARIANTS:
            raise ValueError(f"unknown cell {self.cell!r}; expected one of {', '.join(VARIANTS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"unknown pooling {self.pooling!r}; expected one of {', '.join(POOLINGS)}"
            )
        _check_fraction("dropout", self.dropout)
        _check_fraction("recurrent_dropout", self.recurrent_dropout)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}"
            )
        if isinstance(self.learning_rate, bool) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.clipnorm is not None and not self.clipnorm > 0:
            raise ValueError(f"clipnorm must be positive or None, got {self.clipnorm!r}")
        if self.jit_compile not in (True, False, "auto"):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {self.jit_compile!r}")

    @property
    def uses_fused_kernel(self) -> bool:
        """Whether the recurrent layers can take the fused cuDNN path (TensorFlow GPU)."""
        return variant_info(self.cell).fused_kernel and self.recurrent_dropout == 0


def _as_int_tuple(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive integers, got {value!r}") from None


def _all_layers(layers: list[keras.layers.Layer]) -> Iterator[keras.layers.Layer]:
    for layer in layers:
        yield layer
        for inner in ("forward_layer", "backward_layer"):
            if hasattr(layer, inner):
                yield getattr(layer, inner)
        yield from _all_layers(getattr(layer, "layers", []))


def resolve_jit_compile(model: keras.Model, requested: bool | Literal["auto"]) -> bool:
    """XLA where every layer supports it, never on PyTorch (its ``jit`` is torch.compile)."""
    if requested != "auto":
        return bool(requested)
    if keras.backend.backend() == "torch":
        return False
    return all(getattr(layer, "supports_jit", True) for layer in _all_layers(model.layers))


#: With a learning-rate decay, the rate the cosine ends at, as a fraction of the first.
COSINE_FINAL_FRACTION = 0.05


def _optimizer(config: GRUConfig, decay_steps: int | None = None) -> keras.optimizers.Optimizer:
    classes = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": keras.optimizers.SGD,
        "nadam": keras.optimizers.Nadam,
    }
    learning_rate: Any = config.learning_rate
    if decay_steps is not None:
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps, alpha=COSINE_FINAL_FRACTION
        )
    return classes[config.optimizer](learning_rate=learning_rate, clipnorm=config.clipnorm)


def _head(task: Task, n_outputs: int) -> tuple[keras.layers.Layer, str]:
    if task == "classification":
        if n_outputs < 2:
            raise ValueError(f"classification needs at least 2 classes, got {n_outputs}")
        if n_outputs == 2:
            return keras.layers.Dense(1, activation="sigmoid", name="output"), "binary_crossentropy"
        return (
            keras.layers.Dense(n_outputs, activation="softmax", name="output"),
            "sparse_categorical_crossentropy",
        )
    if task == "regression":
        return keras.layers.Dense(n_outputs, name="output"), "mean_squared_error"
    raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")


def _pool(states: keras.KerasTensor, pooling: str, mask: Any) -> keras.KerasTensor:
    """Collapse (batch, time, units) states to (batch, features), ignoring masked steps."""
    # the mask travels with `states` from the recurrent layers; pooling layers honour it
    if pooling == "mean":
        return keras.layers.GlobalAveragePooling1D(name="mean_pool")(states)
    raise ValueError(f"unknown pooling {pooling!r}")  # pragma: no cover - validated


def build_model(
    config: GRUConfig,
    input_shape: tuple[int | None, int],
    *,
    task: Task,
    n_outputs: int,
    masked: bool = False,
    loss: Any = None,
    name: str | None = None,
    decay_steps: int | None = None,
) -> keras.Model:
    """Build and compile the Keras model for a configuration.

    Parameters
    ----------
    config : GRUConfig
        Architecture and optimiser.
    input_shape : (n_timesteps or None, n_features)
        Shape of one sequence; ``None`` time steps for sequences of any length.
    task : {"classification", "regression"}
        Classification: ``n_outputs`` classes, a sigmoid unit for two, softmax otherwise,
        integer-coded targets. Regression: ``n_outputs`` linear outputs, mean squared error.
    n_outputs : int
        Number of classes or of regression targets.
    masked : bool, default=False
        Take a second input, a boolean ``(batch, time)`` mask (True = real step), for
        right-padded sequences of uneven length.
    loss : str or callable, optional
        Replaces the task's loss (a forecaster's quantile loss, say).
    name : str, optional
        The model's name (default ``gru_search_<variant>``); models nested in one model
        (an ensemble) need distinct names.
    decay_steps : int, optional
        Decay the learning rate along a cosine from ``config.learning_rate`` to
        :data:`COSINE_FINAL_FRACTION` of it over this many optimiser steps (the whole
        training, usually); ``None`` keeps it constant.

    Returns
    -------
    keras.Model
        A compiled functional model, named after the variant unless ``name`` is given.
    """
    steps, features = input_shape
    values = keras.Input((steps, features), name="sequences")
    inputs: list[keras.KerasTensor] = [values]
    mask = None
    if masked:
        mask = keras.Input((steps,), dtype="bool", name="mask")
        inputs.append(mask)
    outputs, task_loss = recurrent_head(config, values, task=task, n_outputs=n_outputs, mask=mask)
    model = keras.Model(
        inputs if masked else values, outputs, name=name or f"gru_search_{config.cell}"
    )
    return compile_model(
        model, config, task, task_loss if loss is None else loss, decay_steps=decay_steps
    )


def recurrent_head(
    config: GRUConfig,
    x: keras.KerasTensor,
    *,
    task: Task,
    n_outputs: int,
    mask: keras.KerasTensor | None = None,
) -> tuple[keras.KerasTensor, Any]:
    """The recurrent layers, pooling, hidden layers and output layer on top of ``x``
    (``(batch, time, features)``), and the task's loss.

    ``mask`` is an explicit boolean ``(batch, time)`` mask; a mask that travels with ``x``
    (from an ``Embedding(mask_zero=True)``, say) is honoured without it.
    """
    pooled = config.pooling != "last"
    for index, width in enumerate(config.units):
        last = index == len(config.units) - 1 and not pooled
        seed = None if config.seed is None else config.seed + index
        layer = build_layer(
            config.cell,
            width,
            return_sequences=not last,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            seed=seed,
            name=f"{config.cell}_{index}",
        )
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index}")
        x = layer(x, mask=mask) if (index == 0 and mask is not None) else layer(x)
        if config.layer_norm and not last:
            x = keras.layers.LayerNormalization(name=f"layer_norm_{index}")(x)
    if pooled:
        x = _pool(x, config.pooling, mask)
    for index, width in enumerate(config.head_units):
        x = keras.layers.Dense(width, activation="relu", name=f"head_{index}")(x)
    output_layer, task_loss = _head(task, n_outputs)
    return output_layer(x), task_loss


def compile_model(
    model: keras.Model,
    config: GRUConfig,
    task: Task,
    loss: Any,
    *,
    decay_steps: int | None = None,
) -> keras.Model:
    """Compile ``model`` with the configuration's optimiser (its learning rate decayed over
    ``decay_steps`` steps, when given), ``loss`` and the task's metrics (XLA as
    ``config.jit_compile`` resolves for it)."""
    metrics = ["accuracy"] if task == "classification" else []
    model.compile(
        optimizer=_optimizer(config, decay_steps),
        loss=loss,
        metrics=metrics,
        jit_compile=resolve_jit_compile(model, config.jit_compile),
    )
    return model
