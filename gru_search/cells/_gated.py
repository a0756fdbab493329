"""The GRU1-3 (Dey & Salem 2017) and MGU family (Zhou 2016; Heck & Salem 2017) cells.

Both families compute their gates from some subset of {input, previous state, bias},
multiply the previous state by a gate before the candidate's recurrent kernel (the
"reset before" form of Cho 2014), and interpolate. One generic cell covers them; the
registered subclasses only fix which terms the gates see.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gru_search.cells._base import PACKAGE, ProjectedCell, split
from gru_search.cells._info import CANDIDATE, DEY, FORGET, HECK, KEEP, MGU_CANDIDATE, VariantInfo


class _GatedCandidateCell(ProjectedCell):
    """Generic reset-before cell with ``n_gates`` gates (2: GRU, 1: MGU).

    Class attributes choose what the gates see: ``gate_input`` (``W x``), ``gate_state``
    (``U h``) and ``gate_bias`` (``b``). The candidate is always
    ``tanh(W_h x + U_h (r * h) + b_h)`` where ``r`` is the reset gate (GRU) or the forget
    gate (MGU).
    """

    n_gates: int = 2
    gate_input: bool = False
    gate_state: bool = True
    gate_bias: bool = True

    def build_weights(self, input_dim: int) -> None:
        blocks = 1 + (self.n_gates if self.gate_input else 0)
        # input kernel and bias: [gates from x (optional)] + candidate
        self.kernel = self._kernel("kernel", input_dim, blocks)
        self.bias = self._vector("bias", blocks)
        self.recurrent_kernel = self._kernel("recurrent_kernel", self.units, 1)
        if self.gate_state:
            self.gate_recurrent_kernel = self._kernel(
                "recurrent_gate_kernel", self.units, self.n_gates
            )
        if self.gate_bias and not self.gate_input:
            self.gate_bias_vector = self._vector("gate_bias", self.n_gates)

    def project(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        return ops.matmul(inputs, self.kernel) + self.bias

    def _gates(self, projected: Any, h_recurrent: Any) -> tuple[Any, Any]:
        """Return (gate pre-activations, candidate input part)."""
        if self.gate_input:
            gate_x, candidate_x = (
                projected[..., : self.n_gates * self.units],
                projected[..., self.n_gates * self.units :],
            )
            pre = gate_x
        else:
            candidate_x = projected
            pre = 0.0
        if self.gate_state:
            pre = pre + ops.matmul(h_recurrent, self.gate_recurrent_kernel)
        if self.gate_bias and not self.gate_input:
            pre = pre + self.gate_bias_vector
        return pre, candidate_x

    def step(self, projected: Any, h: Any, h_recurrent: Any) -> Any:
        pre, candidate_x = self._gates(projected, h_recurrent)
        gates = ops.sigmoid(pre)
        if self.n_gates == 2:
            z, reset = split(gates, 2)
            keep = z
        else:
            reset = gates
            keep = 1.0 - gates
        candidate = ops.tanh(candidate_x + ops.matmul(reset * h_recurrent, self.recurrent_kernel))
        return keep * h + (1.0 - keep) * candidate


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRU1Cell(_GatedCandidateCell):
    """GRU1 of Dey & Salem (2017): gates from the state and a bias only.

    ``z, r = σ(U h₋ + b)``; ``h̃ = tanh(W_h x + U_h (r ⊙ h₋) + b_h)``;
    ``h = z ⊙ h₋ + (1 − z) ⊙ h̃`` (Keras "keep" convention).
    """

    info = VariantInfo(
        "gru1",
        f"z, r = σ(U h₋ + b); {CANDIDATE}; {KEEP}",
        "keep",
        "3n² + nm + 3n",
        lambda m, n: 3 * n * n + n * m + 3 * n,
        False,
        DEY,
    )


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRU2Cell(_GatedCandidateCell):
    """GRU2 of Dey & Salem (2017): gates from the state only, ``z, r = σ(U h₋)``.

    Candidate and update as :class:`GRU1Cell`.
    """

    info = VariantInfo(
        "gru2",
        f"z, r = σ(U h₋); {CANDIDATE}; {KEEP}",
        "keep",
        "3n² + nm + n",
        lambda m, n: 3 * n * n + n * m + n,
        False,
        DEY,
    )

    gate_bias = False


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRU3Cell(_GatedCandidateCell):
    """GRU3 of Dey & Salem (2017): gates from a bias only, ``z, r = σ(b)``.

    Candidate and update as :class:`GRU1Cell`.
    """

    info = VariantInfo(
        "gru3",
        f"z, r = σ(b); {CANDIDATE}; {KEEP}",
        "keep",
        "n² + nm + 3n",
        lambda m, n: n * n + n * m + 3 * n,
        False,
        DEY,
    )

    gate_state = False


@keras.saving.register_keras_serializable(package=PACKAGE)
class MGUCell(_GatedCandidateCell):
    """Minimal gated unit (Zhou et al. 2016), one forget gate.

    ``f = σ(W_f x + U_f h₋ + b_f)``; ``h̃ = tanh(W_h x + U_h (f ⊙ h₋) + b_h)``;
    ``h = (1 − f) ⊙ h₋ + f ⊙ h̃`` (the MGU papers' convention).
    """

    info = VariantInfo(
        "mgu",
        f"f = σ(W_f x + U_f h₋ + b_f); {MGU_CANDIDATE}; {FORGET}",
        "forget",
        "2(nm + n² + n)",
        lambda m, n: 2 * (n * m + n * n + n),
        False,
        "Zhou et al. 2016, Minimal Gated Unit for Recurrent Neural Networks",
    )

    n_gates = 1
    gate_input = True


@keras.saving.register_keras_serializable(package=PACKAGE)
class MGU1Cell(_GatedCandidateCell):
    """MGU1 of Heck & Salem (2017): ``f = σ(U_f h₋ + b_f)``; otherwise as :class:`MGUCell`."""

    info = VariantInfo(
        "mgu1",
        f"f = σ(U_f h₋ + b_f); {MGU_CANDIDATE}; {FORGET}",
        "forget",
        "2n² + nm + 2n",
        lambda m, n: 2 * n * n + n * m + 2 * n,
        False,
        HECK,
    )

    n_gates = 1


@keras.saving.register_keras_serializable(package=PACKAGE)
class MGU2Cell(_GatedCandidateCell):
    """MGU2 of Heck & Salem (2017): ``f = σ(U_f h₋)``; otherwise as :class:`MGUCell`."""

    info = VariantInfo(
        "mgu2",
        f"f = σ(U_f h₋); {MGU_CANDIDATE}; {FORGET}",
        "forget",
        "2n² + nm + n",
        lambda m, n: 2 * n * n + n * m + n,
        False,
        HECK,
    )

    n_gates = 1
    gate_bias = False


@keras.saving.register_keras_serializable(package=PACKAGE)
class MGU3Cell(_GatedCandidateCell):
    """MGU3 of Heck & Salem (2017): ``f = σ(b_f)``; otherwise as :class:`MGUCell`."""

    info = VariantInfo(
        "mgu3",
        f"f = σ(b_f); {MGU_CANDIDATE}; {FORGET}",
        "forget",
        "n² + nm + 2n",
        lambda m, n: n * n + n * m + 2 * n,
        False,
        HECK,
    )

    n_gates = 1
    gate_state = False
