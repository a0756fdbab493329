"""What the variant table says about each gate variant, and the equation fragments it shares.

Each custom cell class carries its own :class:`VariantInfo` (``MGUCell.info``); the two
variants that run on ``keras.layers.GRU`` are described in ``_registry.py``. The table of
variants is built from these, so a variant is declared in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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


CANDIDATE = "h̃ = tanh(W_h x + U_h (r ⊙ h₋) + b_h)"
MGU_CANDIDATE = "h̃ = tanh(W_h x + U_h (f ⊙ h₋) + b_h)"
KEEP = "h = z ⊙ h₋ + (1 − z) ⊙ h̃"
FORGET = "h = (1 − f) ⊙ h₋ + f ⊙ h̃"
CHO = "Cho et al. 2014, Learning Phrase Representations using RNN Encoder-Decoder"
DEY = "Dey & Salem 2017, Gate-Variants of Gated Recurrent Unit (GRU) Neural Networks"
HECK = "Heck & Salem 2017, Simplified Minimal Gated Unit Variations for RNNs"
