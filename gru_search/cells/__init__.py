"""The gate-variant zoo: GRU, its reset-before and reduced-gate variants, MGU, and more.

Use :func:`build_layer` to get a Keras layer for a variant, :data:`VARIANTS` for the
names, and :func:`variant_info` for a variant's equations and parameter count. Every
custom cell class carries its own row of that table (``MGUCell.info``) and registers
itself under its name when the class is defined; ``GatedRNN(cell)`` runs any of them.
"""

from gru_search.cells._base import GatedRNN, ProjectedCell, registered_cells
from gru_search.cells._gated import (
    GRU1Cell,
    GRU2Cell,
    GRU3Cell,
    MGU1Cell,
    MGU2Cell,
    MGU3Cell,
    MGUCell,
)
from gru_search.cells._other import LiGRUCell, LNGRUCell, MinGRUCell, UGRNNCell
from gru_search.cells._registry import (
    BUILTIN_VARIANTS,
    VARIANTS,
    VariantInfo,
    build_layer,
    custom_cell_class,
    variant_info,
)

__all__ = [
    "BUILTIN_VARIANTS",
    "VARIANTS",
    "GRU1Cell",
    "GRU2Cell",
    "GRU3Cell",
    "GatedRNN",
    "LNGRUCell",
    "LiGRUCell",
    "MGU1Cell",
    "MGU2Cell",
    "MGU3Cell",
    "MGUCell",
    "MinGRUCell",
    "ProjectedCell",
    "UGRNNCell",
    "VariantInfo",
    "build_layer",
    "custom_cell_class",
    "registered_cells",
    "variant_info",
]
