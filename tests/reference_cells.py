"""NumPy references of every gate variant's equations (docs/variants.md), written independently.

Each function takes the layer's weights by name (a dict of arrays), one input ``x`` of
shape (batch, m) and the previous state ``h`` of shape (batch, n), and returns the next
state. ``run`` applies a step function over a sequence with an optional mask.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Weights = dict[str, np.ndarray]


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def thirds(a: np.ndarray, n: int) -> list[np.ndarray]:
    return [a[..., i * n : (i + 1) * n] for i in range(a.shape[-1] // n)]


def gru(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Keras GRU, reset_after=True; bias has two rows (input, recurrent)."""
    n = h.shape[-1]
    b_x, b_h = w["bias"][0], w["bias"][1]
    x_z, x_r, x_h = thirds(x @ w["kernel"] + b_x, n)
    h_z, h_r, h_h = thirds(h @ w["recurrent_kernel"] + b_h, n)
    z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
    candidate = np.tanh(x_h + r * h_h)
    return z * h + (1 - z) * candidate


def gru_v1(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Keras GRU, reset_after=False (Cho 2014)."""
    n = h.shape[-1]
    w_z, w_r, w_h = thirds(w["kernel"], n)
    u_z, u_r, u_h = thirds(w["recurrent_kernel"], n)
    b_z, b_r, b_h = thirds(w["bias"], n)
    z = sigmoid(x @ w_z + h @ u_z + b_z)
    r = sigmoid(x @ w_r + h @ u_r + b_r)
    candidate = np.tanh(x @ w_h + (r * h) @ u_h + b_h)
    return z * h + (1 - z) * candidate


def _reset_before(z: np.ndarray, r: np.ndarray, w: Weights, x: np.ndarray, h: np.ndarray):
    candidate = np.tanh(x @ w["kernel"] + (r * h) @ w["recurrent_kernel"] + w["bias"])
    return z * h + (1 - z) * candidate


def gru1(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    z, r = thirds(sigmoid(h @ w["recurrent_gate_kernel"] + w["gate_bias"]), h.shape[-1])
    return _reset_before(z, r, w, x, h)


def gru2(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    z, r = thirds(sigmoid(h @ w["recurrent_gate_kernel"]), h.shape[-1])
    return _reset_before(z, r, w, x, h)


def gru3(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    z, r = thirds(sigmoid(w["gate_bias"]), h.shape[-1])
    return _reset_before(z, r, w, x, h)


def _mgu_update(f: np.ndarray, candidate_x: np.ndarray, w: Weights, h: np.ndarray):
    candidate = np.tanh(candidate_x + (f * h) @ w["recurrent_kernel"])
    return (1 - f) * h + f * candidate


def mgu(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = h.shape[-1]
    w_f, w_h = thirds(w["kernel"], n)
    b_f, b_h = thirds(w["bias"], n)
    f = sigmoid(x @ w_f + h @ w["recurrent_gate_kernel"] + b_f)
    return _mgu_update(f, x @ w_h + b_h, w, h)


def mgu1(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    f = sigmoid(h @ w["recurrent_gate_kernel"] + w["gate_bias"])
    return _mgu_update(f, x @ w["kernel"] + w["bias"], w, h)


def mgu2(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    f = sigmoid(h @ w["recurrent_gate_kernel"])
    return _mgu_update(f, x @ w["kernel"] + w["bias"], w, h)


def mgu3(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    f = sigmoid(w["gate_bias"]) * np.ones_like(h)
    return _mgu_update(f, x @ w["kernel"] + w["bias"], w, h)


def ugrnn(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = h.shape[-1]
    w_g, w_c = thirds(w["kernel"], n)
    u_g, u_c = thirds(w["recurrent_kernel"], n)
    b_g, b_c = thirds(w["bias"], n)
    g = sigmoid(x @ w_g + h @ u_g + b_g)
    c = np.tanh(x @ w_c + h @ u_c + b_c)
    return g * h + (1 - g) * c


def ligru(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Inference mode: batch normalisation with the moving statistics."""
    n = h.shape[-1]
    projected = x @ w["kernel"]
    normalised = (projected - w["moving_mean"]) / np.sqrt(w["moving_variance"] + 1e-3)
    bn_z, bn_h = thirds(normalised * w["gamma"] + w["beta"], n)
    u_z, u_h = thirds(w["recurrent_kernel"], n)
    z = sigmoid(bn_z + h @ u_z)
    candidate = np.maximum(bn_h + h @ u_h, 0.0)
    return z * h + (1 - z) * candidate


def mingru(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = h.shape[-1]
    w_z, w_h = thirds(w["kernel"], n)
    b_z, b_h = thirds(w["bias"], n)
    z = sigmoid(x @ w_z + b_z)
    return (1 - z) * h + z * (x @ w_h + b_h)


def _layer_norm(a: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    return (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + eps)


def lngru(w: Weights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = h.shape[-1]
    w_z, w_r, w_h = thirds(w["kernel"], n)
    g_z, g_r, g_h = thirds(w["input_gamma"], n)
    b_z, b_r, b_h = thirds(w["input_beta"], n)
    u_z, u_r = thirds(w["recurrent_gate_kernel"], n)
    rg_z, rg_r = thirds(w["recurrent_gate_gamma"], n)
    z = sigmoid(g_z * _layer_norm(x @ w_z) + b_z + rg_z * _layer_norm(h @ u_z))
    r = sigmoid(g_r * _layer_norm(x @ w_r) + b_r + rg_r * _layer_norm(h @ u_r))
    candidate = np.tanh(
        g_h * _layer_norm(x @ w_h)
        + b_h
        + w["recurrent_gamma"] * _layer_norm((r * h) @ w["recurrent_kernel"])
    )
    return z * h + (1 - z) * candidate


STEPS: dict[str, Callable[[Weights, np.ndarray, np.ndarray], np.ndarray]] = {
    "gru": gru,
    "gru_v1": gru_v1,
    "gru1": gru1,
    "gru2": gru2,
    "gru3": gru3,
    "mgu": mgu,
    "mgu1": mgu1,
    "mgu2": mgu2,
    "mgu3": mgu3,
    "ugrnn": ugrnn,
    "ligru": ligru,
    "mingru": mingru,
    "lngru": lngru,
}


def run(
    step: Callable[[Weights, np.ndarray, np.ndarray], np.ndarray],
    w: Weights,
    x: np.ndarray,
    units: int,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``step`` over ``x`` (batch, time, m); masked steps keep the state.

    Returns (last state, all states of shape (batch, time, n)).
    """
    batch, time = x.shape[:2]
    h = np.zeros((batch, units))
    states = []
    for t in range(time):
        h_new = step(w, x[:, t], h)
        if mask is not None:
            keep = mask[:, t][:, None]
            h_new = np.where(keep, h_new, h)
        h = h_new
        states.append(h)
    return h, np.stack(states, axis=1)
