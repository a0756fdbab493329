"""UGRNN, Light GRU, minGRU and the layer-normalised GRU."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from gru_search.cells._base import PACKAGE, ProjectedCell, split
from gru_search.cells._info import KEEP, VariantInfo


@keras.saving.register_keras_serializable(package=PACKAGE)
class UGRNNCell(ProjectedCell):
    """Update-gate RNN (Collins et al. 2017).

    ``g = σ(W_g x + U_g h₋ + b_g)``; ``c = tanh(W_c x + U_c h₋ + b_c)``;
    ``h = g ⊙ h₋ + (1 − g) ⊙ c`` (keep convention).
    """

    info = VariantInfo(
        "ugrnn",
        "g = σ(W_g x + U_g h₋ + b_g); c = tanh(W_c x + U_c h₋ + b_c); h = g ⊙ h₋ + (1 − g) ⊙ c",
        "keep",
        "2(nm + n² + n)",
        lambda m, n: 2 * (n * m + n * n + n),
        False,
        "Collins et al. 2017, Capacity and Trainability in Recurrent Neural Networks",
    )

    def build_weights(self, input_dim: int) -> None:
        self.kernel = self._kernel("kernel", input_dim, 2)
        self.bias = self._vector("bias", 2)
        self.recurrent_kernel = self._kernel("recurrent_kernel", self.units, 2)

    def project(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        return ops.matmul(inputs, self.kernel) + self.bias

    def step(self, projected: Any, h: Any, h_recurrent: Any) -> Any:
        gate, candidate = split(projected + ops.matmul(h_recurrent, self.recurrent_kernel), 2)
        gate = ops.sigmoid(gate)
        return gate * h + (1.0 - gate) * ops.tanh(candidate)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LiGRUCell(ProjectedCell):
    """Light GRU (Ravanelli et al. 2018): no reset gate, ReLU candidate, batch-normalised inputs.

    ``z = σ(BN(W_z x) + U_z h₋)``; ``h̃ = ReLU(BN(W_h x) + U_h h₋)``;
    ``h = z ⊙ h₋ + (1 − z) ⊙ h̃``. Batch normalisation runs over batch and time on the
    input projections (outside the recurrence, masked steps excluded); its offset
    replaces the bias. Trainable parameters: ``2nm + 2n² + 4n`` (plus ``4n`` moving
    statistics).
    """

    info = VariantInfo(
        "ligru",
        "z = σ(BN(W_z x) + U_z h₋); h̃ = ReLU(BN(W_h x) + U_h h₋); " + KEEP,
        "keep",
        "2nm + 2n² + 4n",
        lambda m, n: 2 * n * m + 2 * n * n + 4 * n,
        False,
        "Ravanelli et al. 2018, Light Gated Recurrent Units for Speech Recognition",
    )

    def __init__(self, units: int, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(units, **kwargs)
        self.momentum = momentum
        self.epsilon = epsilon
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=momentum, epsilon=epsilon, name="input_batch_norm"
        )

    def build_weights(self, input_dim: int) -> None:
        self.kernel = self._kernel("kernel", input_dim, 2)
        self.recurrent_kernel = self._kernel("recurrent_kernel", self.units, 2)
        self.batch_norm.build((None, None, 2 * self.units))
        # the same normalisation serves whole sequences and single steps (cell contract)
        self.batch_norm.input_spec = None

    def project(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        projected = ops.matmul(inputs, self.kernel)
        if mask is not None and len(projected.shape) == 3:
            return self.batch_norm(projected, training=training, mask=mask)
        return self.batch_norm(projected, training=training)

    def step(self, projected: Any, h: Any, h_recurrent: Any) -> Any:
        gate, candidate = split(projected + ops.matmul(h_recurrent, self.recurrent_kernel), 2)
        gate = ops.sigmoid(gate)
        return gate * h + (1.0 - gate) * ops.relu(candidate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MinGRUCell(ProjectedCell):
    """minGRU (Feng et al. 2024, "Were RNNs all we needed?").

    ``z = σ(W_z x + b_z)``; ``h̃ = W_h x + b_h``; ``h = (1 − z) ⊙ h₋ + z ⊙ h̃``.
    Neither gate nor candidate sees ``h₋``, so the recurrence is the linear scan
    ``h_t = a_t ⊙ h_{t−1} + b_t`` and runs as a parallel (associative) scan.
    """

    info = VariantInfo(
        "mingru",
        "z = σ(W_z x + b_z); h̃ = W_h x + b_h; h = (1 − z) ⊙ h₋ + z ⊙ h̃",
        "forget",
        "2(nm + n)",
        lambda m, n: 2 * (n * m + n),
        False,
        "Feng et al. 2024, Were RNNs All We Needed?",
    )

    has_recurrent_kernel = False

    def build_weights(self, input_dim: int) -> None:
        self.kernel = self._kernel("kernel", input_dim, 2)
        self.bias = self._vector("bias", 2)

    def project(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        return ops.matmul(inputs, self.kernel) + self.bias

    def _coefficients(self, projected: Any) -> tuple[Any, Any]:
        gate, candidate = split(projected, 2)
        z = ops.sigmoid(gate)
        return 1.0 - z, z * candidate

    def step(self, projected: Any, h: Any, h_recurrent: Any) -> Any:
        decay, drive = self._coefficients(projected)
        return decay * h + drive

    def run(self, projected: Any, mask: Any, h0: Any, recurrent_mask: Any) -> tuple[Any, Any]:
        # The parallel scan pays off where XLA compiles it well (JAX). TensorFlow's
        # associative_scan does not compile under XLA with a dynamic batch size, and the
        # sequential loop of this cell is element-wise only, so it is cheap there anyway.
        if keras.backend.backend() == "jax":
            return self.run_parallel(projected, mask, h0)
        return super().run(projected, mask, h0, recurrent_mask)

    def run_parallel(self, projected: Any, mask: Any, h0: Any) -> tuple[Any, Any]:
        """The recurrence as an associative scan over time (same result as :meth:`run`)."""
        decay, drive = self._coefficients(projected)
        # a masked step keeps the state: a = 1, b = 0
        decay = mask * decay + (1.0 - mask)
        drive = mask * drive

        def combine(earlier: tuple[Any, Any], later: tuple[Any, Any]) -> tuple[Any, Any]:
            a1, b1 = earlier
            a2, b2 = later
            return a1 * a2, a2 * b1 + b2

        cumulative_decay, cumulative_drive = ops.associative_scan(combine, (decay, drive), axis=0)
        states = cumulative_decay * ops.expand_dims(h0, 0) + cumulative_drive
        return states[-1], states


def _normalise_blocks(x: Any, blocks: int, units: int, epsilon: float) -> Any:
    """Layer-normalise each of the ``blocks`` parts (``units`` wide) of the last axis."""
    # Block means as one matmul with a block-diagonal averaging matrix: inside an XLA loop on
    # the CPU this is several times faster than reshaping to (..., blocks, units) and reducing.
    averaging = np.kron(np.eye(blocks), np.full((units, units), 1.0 / units))
    averaging = ops.convert_to_tensor(averaging, dtype=x.dtype)
    centred = x - ops.matmul(x, averaging)
    variance = ops.matmul(ops.square(centred), averaging)
    return centred * ops.rsqrt(variance + epsilon)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LNGRUCell(ProjectedCell):
    """Layer-normalised GRU (reset before; layer normalisation after Ba et al. 2016).

    With ``LN(a) = (a − mean(a)) / sqrt(var(a) + ε)`` taken over each gate's ``n`` units:

    ``z, r = σ(γˣ ⊙ LN(W x) + βˣ + γʰ ⊙ LN(U h₋))`` (per gate);
    ``h̃ = tanh(γˣ_h ⊙ LN(W_h x) + βˣ_h + γʰ_h ⊙ LN(U_h (r ⊙ h₋)))``;
    ``h = z ⊙ h₋ + (1 − z) ⊙ h̃``.

    The offsets βˣ replace the biases, so the recurrent normalisations have gains only.
    Parameters: ``3nm + 3n² + 9n`` (3n gains and 3n offsets on the input side, 3n gains
    on the recurrent side). The input normalisation runs outside the recurrence.
    """

    info = VariantInfo(
        "lngru",
        "z, r = σ(γˣ LN(W x) + βˣ + γʰ LN(U h₋)); "
        "h̃ = tanh(γˣ_h LN(W_h x) + βˣ_h + γʰ_h LN(U_h (r ⊙ h₋))); " + KEEP,
        "keep",
        "3nm + 3n² + 9n",
        lambda m, n: 3 * n * m + 3 * n * n + 9 * n,
        False,
        "Ba et al. 2016, Layer Normalization (applied to the reset-before GRU of Cho 2014)",
    )

    def __init__(self, units: int, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.epsilon = epsilon

    def build_weights(self, input_dim: int) -> None:
        self.kernel = self._kernel("kernel", input_dim, 3)
        self.input_gamma = self._vector("input_gamma", 3, "ones")
        self.input_beta = self._vector("input_beta", 3)
        # separate variables rather than slices of one: nothing is sliced inside the loop
        self.recurrent_gate_kernel = self._kernel("recurrent_gate_kernel", self.units, 2)
        self.recurrent_kernel = self._kernel("recurrent_kernel", self.units, 1)
        self.recurrent_gate_gamma = self._vector("recurrent_gate_gamma", 2, "ones")
        self.recurrent_gamma = self._vector("recurrent_gamma", 1, "ones")

    def project(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        projected = ops.matmul(inputs, self.kernel)
        normalised = _normalise_blocks(projected, 3, self.units, self.epsilon)
        return normalised * self.input_gamma + self.input_beta

    def step(self, projected: Any, h: Any, h_recurrent: Any) -> Any:
        n = self.units
        gate_x, candidate_x = projected[..., : 2 * n], projected[..., 2 * n :]
        gate_h = _normalise_blocks(
            ops.matmul(h_recurrent, self.recurrent_gate_kernel), 2, n, self.epsilon
        )
        z, reset = split(ops.sigmoid(gate_x + self.recurrent_gate_gamma * gate_h), 2)
        candidate_h = _normalise_blocks(
            ops.matmul(reset * h_recurrent, self.recurrent_kernel), 1, n, self.epsilon
        )
        candidate = ops.tanh(candidate_x + self.recurrent_gamma * candidate_h)
        return z * h + (1.0 - z) * candidate

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}
