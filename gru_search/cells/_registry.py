"""The variant table: names, equations, parameter counts, and the layer factory."""

from __future__ import annotations

from typing import Any

import keras

import gru_search.cells._gated
import gru_search.cells._other  # noqa: F401
from gru_search.cells._base import GatedRNN, ProjectedCell, registered_cells
from gru_search.cells._info import CANDIDATE, CHO, KEEP, VariantInfo

#: The two variants that run on ``keras.layers.GRU`` (no custom cell class).
BUILTIN_INFO: tuple[VariantInfo, ...] = (
    VariantInfo(
        "gru",
        "z, r = σ(W x + bˣ + U h₋ + bʰ); h̃ = tanh(W_h x + bˣ_h + r ⊙ (U_h h₋ + bʰ_h)); " + KEEP,
        "keep",
        "3(nm + n² + 2n)",
        lambda m, n: 3 * (n * m + n * n + 2 * n),
        True,
        CHO + " (reset-after form of cuDNN / Keras' default)",
    ),
    VariantInfo(
        "gru_v1",
        f"z, r = σ(W x + U h₋ + b); {CANDIDATE}; {KEEP}",
        "keep",
        "3(nm + n² + n)",
        lambda m, n: 3 * (n * m + n * n + n),
        False,
        CHO,
    ),
)

# one table: the built-in variants, then every registered cell class's own info
_INFO = {
    info.name: info
    for info in (*BUILTIN_INFO, *(cell.info for cell in registered_cells().values()))
}

#: Names of every gate variant, in the order of docs/variants.md.
VARIANTS: tuple[str, ...] = tuple(_INFO)

#: Variants that run on ``keras.layers.GRU`` (and its fused kernel where possible).
BUILTIN_VARIANTS: frozenset[str] = frozenset({"gru", "gru_v1"})


def _unknown(variant: object) -> ValueError:
    return ValueError(f"unknown GRU variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def variant_info(variant: str) -> VariantInfo:
    """Return the equations, parameter count, fused-kernel flag and source of a variant.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.

    Returns
    -------
    VariantInfo

    Raises
    ------
    ValueError
        If ``variant`` is not a known name.
    """
    try:
        return _INFO[variant]
    except (KeyError, TypeError):
        raise _unknown(variant) from None


def custom_cell_class(variant: str) -> type[ProjectedCell]:
    """The cell class of a custom (non-``keras.layers.GRU``) variant."""
    if variant in BUILTIN_VARIANTS:
        raise ValueError(f"{variant!r} runs on keras.layers.GRU; it has no custom cell")
    try:
        return registered_cells()[variant]
    except (KeyError, TypeError):
        raise _unknown(variant) from None


def build_layer(
    variant: str,
    units: int,
    *,
    return_sequences: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    **options: Any,
) -> keras.layers.Layer:
    """Build a recurrent layer of the given gate variant.

    The layer maps ``(batch, time, m)`` to ``(batch, units)``, or to
    ``(batch, time, units)`` with ``return_sequences=True``, and honours Keras masks
    (right-padded sequences).

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`. ``"gru"`` and ``"gru_v1"`` build ``keras.layers.GRU``
        (``reset_after=True`` / ``False``); ``"gru"`` keeps the fused cuDNN kernel on a
        GPU with the TensorFlow backend. The others build a :class:`GatedRNN`.
    units : int
        Size of the hidden state (positive).
    return_sequences : bool, default=False
        Return every step's state instead of the last one.
    dropout, recurrent_dropout : float, default=0.0
        Input and recurrent dropout rates, in ``[0, 1)``.
    **options
        Passed to the layer: ``go_backwards``, ``seed``, ``name``, initialisers, and
        cell-specific options (``epsilon`` of ``lngru``, ``momentum`` of ``ligru``).

    Returns
    -------
    keras.layers.Layer

    Raises
    ------
    ValueError
        For an unknown variant, non-positive ``units`` or a dropout outside ``[0, 1)``.
    """
    variant_info(variant)  # validates the name
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"units must be a positive integer, got {units!r}")
    for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {rate!r}")
    if variant in BUILTIN_VARIANTS:
        return keras.layers.GRU(
            units,
            return_sequences=return_sequences,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            reset_after=variant == "gru",
            **options,
        )
    layer_options = {key: options.pop(key) for key in list(options) if key in _LAYER_OPTIONS}
    cell = custom_cell_class(variant)(units, name=f"{variant}_cell", **options)
    return GatedRNN(
        cell,
        return_sequences=return_sequences,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        **layer_options,
    )


# options of build_layer that belong to the layer; the others configure the cell
_LAYER_OPTIONS = frozenset(
    {"name", "dtype", "trainable", "autocast", "go_backwards", "seed", "return_state"}
)
