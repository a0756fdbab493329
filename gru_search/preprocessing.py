"""Fitted preprocessing: the one path from a user's arrays to a model's inputs and back.

:class:`SequencePreprocessor` holds what ``fit`` learns about the inputs (their layout,
length and width, the scaler, the patch size, whether a mask is needed) and turns any
later batch into the model's inputs. :class:`TargetScaler` does the same for regression
targets. The estimators, the export format and the KerasTuner bridge all use these
objects, so the rules live in one place; ``to_dict``/``from_dict`` are the export's JSON
form, checked value by value on the way in (an export folder is user input).

Future inputs (forecasting windows, token vocabularies) are meant to be siblings of
:class:`SequencePreprocessor`: a ``fit`` classmethod, ``transform``,
``model_input_shape``, ``to_dict`` and ``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gru_search.data import (
    SCALINGS,
    SequenceBatch,
    SequenceScaler,
    fold_patches,
    resolve_patch_size,
)

LAYOUTS = ("2d", "3d", "list")


def checked_count(value: Any, name: str, least: int) -> int:
    """``value`` if it is an integer >= ``least``; a ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return value


def checked_numbers(values: Any, name: str, length: int, *, positive: bool = False) -> np.ndarray:
    """``values`` as ``length`` finite (and with ``positive``, > 0) floats, or a ValueError."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (length,):
        raise ValueError(f"{name} must hold {length} numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or (positive and not np.all(array > 0)):
        rule = "finite and > 0" if positive else "finite"
        raise ValueError(f"{name} must be {rule}, got {array.tolist()}")
    return array


@dataclass(frozen=True)
class SequencePreprocessor:
    """Layout, scaler and patch size learned from the training sequences.

    Attributes
    ----------
    layout : {"2d", "3d", "list"}
        How the training sequences came: a 2-D array (univariate), a 3-D array (channels
        last) or a list of uneven sequences (right-padded, read with a mask).
    n_timesteps : int or None
        Length of every sequence; None for a list (any length is accepted).
    n_features : int
        Features per time step.
    patch_size : int
        Consecutive time steps folded into one recurrent step.
    scaler : SequenceScaler
    """

    layout: str
    n_timesteps: int | None
    n_features: int
    patch_size: int
    scaler: SequenceScaler

    @classmethod
    def fit(
        cls, batch: SequenceBatch, *, scaling: str, patch_size: int | str
    ) -> SequencePreprocessor:
        """Learn the preprocessing of ``batch`` (scaling method and patch size as given)."""
        masked = batch.layout == "list"
        return cls(
            layout=batch.layout,
            n_timesteps=None if masked else batch.n_timesteps,
            n_features=batch.n_features,
            patch_size=resolve_patch_size(patch_size, batch.n_timesteps),
            scaler=SequenceScaler.fit(batch, scaling),
        )

    @property
    def masked(self) -> bool:
        """Whether the model reads a mask beside the values (uneven sequences)."""
        return self.n_timesteps is None

    @property
    def input_shape(self) -> tuple[int | None, int]:
        """``(n_timesteps or None, n_features)`` of one raw sequence."""
        return (self.n_timesteps, self.n_features)

    @property
    def model_input_shape(self) -> tuple[int | None, int]:
        """``(recurrent steps or None, width)`` of the model's sequence input."""
        steps = None if self.masked else -(-self.n_timesteps // self.patch_size)
        return (steps, self.n_features * self.patch_size)

    def transform(self, batch: SequenceBatch) -> Any:
        """The model's inputs: scaled, patched values (and, for uneven sequences, the mask)."""
        values = self.scaler.transform(batch)
        if not self.masked:
            return fold_patches(values, None, self.patch_size)[0]
        mask = batch.mask if batch.mask is not None else np.ones(values.shape[:2], dtype=bool)
        values, mask = fold_patches(values, mask, self.patch_size)
        return {"sequences": values, "mask": mask}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the export's ``fit_layout``, ``input_shape``, ... keys)."""
        return {
            "fit_layout": self.layout,
            "input_shape": [self.n_timesteps, self.n_features],
            "patch_size": self.patch_size,
            "scaler": self.scaler.to_dict(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> SequencePreprocessor:
        """The preprocessor ``to_dict`` described, every value checked (ValueError)."""
        shape = state["input_shape"]
        if not isinstance(shape, list) or len(shape) != 2:
            raise ValueError(
                f"input_shape must be [n_timesteps or null, n_features], got {shape!r}"
            )
        steps = None if shape[0] is None else checked_count(shape[0], "input_shape[0]", 1)
        features = checked_count(shape[1], "input_shape[1]", 1)
        layout = state["fit_layout"]
        if layout not in LAYOUTS:
            raise ValueError(f"fit_layout must be 2d, 3d or list, got {layout!r}")
        if (layout == "list") != (steps is None):
            raise ValueError("fit_layout 'list' goes with null time steps, and only it")
        scaler = state["scaler"]
        if not isinstance(scaler, dict) or scaler.get("method") not in SCALINGS:
            raise ValueError(f"scaler method must be one of {', '.join(SCALINGS)}, got {scaler!r}")
        if scaler["method"] == "standard":
            mean = checked_numbers(scaler["mean"], "scaler mean", features)
            scale = checked_numbers(scaler["scale"], "scaler scale", features, positive=True)
            fitted = SequenceScaler("standard", mean.astype(np.float32), scale.astype(np.float32))
        else:
            fitted = SequenceScaler(scaler["method"])
        return cls(
            layout=layout,
            n_timesteps=steps,
            n_features=features,
            patch_size=checked_count(state["patch_size"], "patch_size", 1),
            scaler=fitted,
        )


@dataclass(frozen=True)
class TargetScaler:
    """Regression targets standardised per output for training, and back for predictions.

    Attributes
    ----------
    y_ndim : {1, 2}
        Whether ``y`` was one target (predictions come back 1-D) or a 2-D array.
    mean, scale : ndarray of shape (n_outputs,)
    """

    y_ndim: int
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, y: np.ndarray) -> TargetScaler:
        targets = y.reshape(len(y), -1).astype(np.float64)
        scale = targets.std(axis=0)
        return cls(y.ndim, targets.mean(axis=0), np.where(scale < 1e-12, 1.0, scale))

    @property
    def n_outputs(self) -> int:
        return len(self.mean)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Standardised targets of shape (n_samples, n_outputs), float32 for Keras."""
        targets = y.reshape(len(y), -1).astype(np.float64)
        return ((targets - self.mean) / self.scale).astype(np.float32)

    def inverse_transform(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs in the targets' units and shape."""
        values = outputs * self.scale + self.mean
        return values.reshape(-1) if self.y_ndim == 1 else values

    def to_dict(self) -> dict[str, Any]:
        return {
            "y_ndim": self.y_ndim,
            "target_mean": self.mean.tolist(),
            "target_scale": self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any], n_outputs: int) -> TargetScaler:
        y_ndim = state["y_ndim"]
        if y_ndim not in (1, 2) or (y_ndim == 1 and n_outputs > 1):
            raise ValueError(f"y_ndim must be 1 (one target) or 2, got {y_ndim!r}")
        return cls(
            y_ndim,
            checked_numbers(state["target_mean"], "target_mean", n_outputs),
            checked_numbers(state["target_scale"], "target_scale", n_outputs, positive=True),
        )
