"""The variant table: names, equations, parameter counts, and the layer factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras

from gru_search.cells._base import GatedRNN, ProjectedCell, registered_cells


@dataclass(frozen=True)
class VariantInfo:
    """Facts about one gate variant.

    Attributes
    ----------
    name : str
        Variant name as used in ``cell=...`` and search spaces.
    equations : str
        The cell's equations (``h₋`` is the previous state).
    convention : str
        ``"keep"``: ``h = z ⊙ h₋ + (1 − z) ⊙ h̃`` (Keras); ``"forget"``:
        ``h = (1 − f) ⊙ h₋ + f ⊙ h̃`` (MGU papers, minGRU).
    parameter_formula : str
        Trainable parameters of one direction with ``m`` inputs and ``n`` units.
    fused_kernel : bool
        Whether the layer can use a fused (cuDNN) kernel: on the TensorFlow backend with a
        GPU and ``recurrent_dropout=0``.
    reference : str
        The paper the variant comes from.
    """

    name: str
    equations: str
    convention: str
    parameter_formula: str
    count: Callable[[int, int], int] = field(repr=False, compare=False)
    fused_kernel: bool = False
    reference: str = ""

    def parameter_count(self, input_dim: int, units: int) -> int:
        """Trainable parameters of one direction for ``input_dim`` inputs and ``units``."""
        return self.count(input_dim, units)


_CANDIDATE = "h̃ = tanh(W_h x + U_h (r ⊙ h₋) + b_h)"
_MGU_CANDIDATE = "h̃ = tanh(W_h x + U_h (f ⊙ h₋) + b_h)"
_KEEP = "h = z ⊙ h₋ + (1 − z) ⊙ h̃"
_FORGET = "h = (1 − f) ⊙ h₋ + f ⊙ h̃"
_CHO = "Cho et al. 2014, Learning Phrase Representations using RNN Encoder-Decoder"
_DEY = "Dey & Salem 2017, Gate-Variants of Gated Recurrent Unit (GRU) Neural Networks"
_HECK = "Heck & Salem 2017, Simplified Minimal Gated Unit Variations for RNNs"

_TABLE: tuple[VariantInfo, ...] = (
    VariantInfo(
        "gru",
        "z, r = σ(W x + bˣ + U h₋ + bʰ); h̃ = tanh(W_h x + bˣ_h + r ⊙ (U_h h₋ + bʰ_h)); " + _KEEP,
        "keep",
        "3(nm + n² + 2n)",
        lambda m, n: 3 * (n * m + n * n + 2 * n),
        True,
        _CHO + " (reset-after form of cuDNN / Keras' default)",
    ),
    VariantInfo(
        "gru_v1",
        f"z, r = σ(W x + U h₋ + b); {_CANDIDATE}; {_KEEP}",
        "keep",
        "3(nm + n² + n)",
        lambda m, n: 3 * (n * m + n * n + n),
        False,
        _CHO,
    ),
    VariantInfo(
        "gru1",
        f"z, r = σ(U h₋ + b); {_CANDIDATE}; {_KEEP}",
        "keep",
        "3n² + nm + 3n",
        lambda m, n: 3 * n * n + n * m + 3 * n,
        False,
        _DEY,
    ),
    VariantInfo(
        "gru2",
        f"z, r = σ(U h₋); {_CANDIDATE}; {_KEEP}",
        "keep",
        "3n² + nm + n",
        lambda m, n: 3 * n * n + n * m + n,
        False,
        _DEY,
    ),
    VariantInfo(
        "gru3",
        f"z, r = σ(b); {_CANDIDATE}; {_KEEP}",
        "keep",
        "n² + nm + 3n",
        lambda m, n: n * n + n * m + 3 * n,
        False,
        _DEY,
    ),
    VariantInfo(
        "mgu",
        f"f = σ(W_f x + U_f h₋ + b_f); {_MGU_CANDIDATE}; {_FORGET}",
        "forget",
        "2(nm + n² + n)",
        lambda m, n: 2 * (n * m + n * n + n),
        False,
        "Zhou et al. 2016, Minimal Gated Unit for Recurrent Neural Networks",
    ),
    VariantInfo(
        "mgu1",
        f"f = σ(U_f h₋ + b_f); {_MGU_CANDIDATE}; {_FORGET}",
        "forget",
        "2n² + nm + 2n",
        lambda m, n: 2 * n * n + n * m + 2 * n,
        False,
        _HECK,
    ),
    VariantInfo(
        "mgu2",
        f"f = σ(U_f h₋); {_MGU_CANDIDATE}; {_FORGET}",
        "forget",
        "2n² + nm + n",
        lambda m, n: 2 * n * n + n * m + n,
        False,
        _HECK,
    ),
    VariantInfo(
        "mgu3",
        f"f = σ(b_f); {_MGU_CANDIDATE}; {_FORGET}",
        "forget",
        "n² + nm + 2n",
        lambda m, n: n * n + n * m + 2 * n,
        False,
        _HECK,
    ),
    VariantInfo(
        "ugrnn",
        "g = σ(W_g x + U_g h₋ + b_g); c = tanh(W_c x + U_c h₋ + b_c); h = g ⊙ h₋ + (1 − g) ⊙ c",
        "keep",
        "2(nm + n² + n)",
        lambda m, n: 2 * (n * m + n * n + n),
        False,
        "Collins et al. 2017, Capacity and Trainability in Recurrent Neural Networks",
    ),
    VariantInfo(
        "ligru",
        "z = σ(BN(W_z x) + U_z h₋); h̃ = ReLU(BN(W_h x) + U_h h₋); " + _KEEP,
        "keep",
        "2nm + 2n² + 4n",
        lambda m, n: 2 * n * m + 2 * n * n + 4 * n,
        False,
        "Ravanelli et al. 2018, Light Gated Recurrent Units for Speech Recognition",
    ),
    VariantInfo(
        "mingru",
        "z = σ(W_z x + b_z); h̃ = W_h x + b_h; h = (1 − z) ⊙ h₋ + z ⊙ h̃",
        "forget",
        "2(nm + n)",
        lambda m, n: 2 * (n * m + n),
        False,
        "Feng et al. 2024, Were RNNs All We Needed?",
    ),
    VariantInfo(
        "lngru",
        "z, r = σ(γˣ LN(W x) + βˣ + γʰ LN(U h₋)); "
        "h̃ = tanh(γˣ_h LN(W_h x) + βˣ_h + γʰ_h LN(U_h (r ⊙ h₋))); " + _KEEP,
        "keep",
        "3nm + 3n² + 9n",
        lambda m, n: 3 * n * m + 3 * n * n + 9 * n,
        False,
        "Ba et al. 2016, Layer Normalization (applied to the reset-before GRU of Cho 2014)",
    ),
)

_INFO = {info.name: info for info in _TABLE}

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
    return GatedRNN(
        variant,
        units,
        return_sequences=return_sequences,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        **options,
    )
