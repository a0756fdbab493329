"""Sequence input conventions: validation, padding, masking, scaling, pandas helpers.

Conventions (docs/conventions.md):

* 2-D ``X`` is ``(n_samples, n_timesteps)``: univariate sequences;
* 3-D ``X`` is ``(n_samples, n_timesteps, n_features)``: channels last, as in Keras;
* a list (or tuple) of 1-D ``(n_timesteps,)`` or 2-D ``(n_timesteps, n_features)`` arrays
  holds sequences of uneven length; they are right-padded and masked;
* a 2-D pandas DataFrame is accepted like a 2-D array; a long-format DataFrame (one row
  per series and time step) converts with :func:`sequences_from_long`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.utils import check_array

Layout = Literal["2d", "3d", "list"]
SCALINGS = ("standard", "sequence", "none")


@dataclass(frozen=True)
class SequenceBatch:
    """Validated sequences, right-padded to one array.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_timesteps, n_features), float32
        The sequences; padded steps hold zeros.
    mask : ndarray of shape (n_samples, n_timesteps), bool, or None
        True at real steps; None when every sequence has the full length.
    layout : {"2d", "3d", "list"}
        How the caller passed them.
    """

    values: np.ndarray
    mask: np.ndarray | None
    layout: Layout

    @property
    def n_samples(self) -> int:
        return self.values.shape[0]

    @property
    def n_timesteps(self) -> int:
        return self.values.shape[1]

    @property
    def n_features(self) -> int:
        return self.values.shape[2]

    def take(self, indices: np.ndarray) -> SequenceBatch:
        """The batch restricted to ``indices`` (used for validation splits)."""
        mask = None if self.mask is None else self.mask[indices]
        return SequenceBatch(self.values[indices], mask, self.layout)


def _is_sequence_list(X: Any) -> bool:
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    if any(isinstance(item, (np.ndarray, pd.Series, pd.DataFrame)) for item in X):
        return True
    # nested Python lists of different lengths cannot be one array: uneven sequences
    lengths = {len(item) for item in X if hasattr(item, "__len__")}
    return len(lengths) > 1


def _check_finite_real(values: np.ndarray, what: str) -> None:
    if np.iscomplexobj(values):
        raise ValueError(f"{what} holds complex numbers; expected real values")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} contains NaN or infinity; expected finite values")


def _sequence_list(X: Sequence[Any]) -> SequenceBatch:
    arrays = []
    for index, item in enumerate(X):
        try:
            array = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"sequence {index} of X is not numeric: {error}") from None
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise ValueError(
                f"sequence {index} of X has {array.ndim} dimensions; each sequence must be "
                "1-D (n_timesteps,) or 2-D (n_timesteps, n_features)"
            )
        if array.shape[0] == 0:
            raise ValueError(f"sequence {index} of X has 0 time steps; expected at least 1")
        _check_finite_real(array, f"sequence {index} of X")
        arrays.append(array)
    widths = {array.shape[1] for array in arrays}
    if len(widths) != 1:
        raise ValueError(
            f"the sequences of X have different numbers of features {sorted(widths)}; "
            "every sequence must have the same number of features"
        )
    n_features = widths.pop()
    if n_features == 0:
        raise ValueError("the sequences of X have 0 features; expected at least 1")
    longest = max(array.shape[0] for array in arrays)
    values = np.zeros((len(arrays), longest, n_features), dtype=np.float32)
    mask = np.zeros((len(arrays), longest), dtype=bool)
    for row, array in enumerate(arrays):
        values[row, : array.shape[0]] = array
        mask[row, : array.shape[0]] = True
    return SequenceBatch(values, mask, "list")


def check_sequences(X: Any, *, estimator_name: str = "estimator") -> SequenceBatch:
    """Validate sequences in any accepted layout and return them as a :class:`SequenceBatch`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps[, n_features]) or list of arrays
        See the module docstring for the accepted layouts.
    estimator_name : str
        Used in error messages.

    Returns
    -------
    SequenceBatch

    Raises
    ------
    ValueError
        For zero samples, zero time steps or features, NaN or infinity, complex values,
        or an array that is not 2-D or 3-D.
    TypeError
        For sparse matrices.
    """
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError(f"{estimator_name} got X with 0 samples; expected at least 1")
    if _is_sequence_list(X):
        return _sequence_list(X)
    if hasattr(X, "ndim") and getattr(X, "ndim", 2) not in (2, 3) and not hasattr(X, "format"):
        raise ValueError(
            f"{estimator_name} expects X of shape (n_samples, n_timesteps) or "
            f"(n_samples, n_timesteps, n_features), got a {X.ndim}-D array of shape "
            f"{np.shape(X)}. Reshape your data: X.reshape(1, -1) for one sequence, "
            "X.reshape(-1, 1) for one-step sequences."
        )
    values = check_array(
        X,
        accept_sparse=False,
        dtype=np.float32,
        allow_nd=True,
        ensure_all_finite=True,
        ensure_2d=True,
        input_name="X",
    )
    if values.ndim == 2:
        values = values[:, :, None]
        layout: Layout = "2d"
    elif values.ndim == 3:
        layout = "3d"
    else:
        raise ValueError(
            f"{estimator_name} expects X of shape (n_samples, n_timesteps) or "
            f"(n_samples, n_timesteps, n_features), got an array of shape {values.shape}"
        )
    if values.shape[1] == 0:
        raise ValueError(f"{estimator_name} got X with 0 time steps; expected at least 1")
    if values.shape[2] == 0:
        raise ValueError(f"{estimator_name} got X with 0 features; expected at least 1")
    if layout == "3d":
        _check_channels_last(values.shape, estimator_name)
    return SequenceBatch(np.ascontiguousarray(values), None, layout)


#: A 3-D ``X`` with at most this many time steps and at least
#: :data:`CHANNELS_FIRST_RATIO` times as many features draws a warning (see
#: :func:`_check_channels_last`).
CHANNELS_FIRST_MAX_STEPS = 16
CHANNELS_FIRST_RATIO = 4


class LongTableWarning(UserWarning):
    """Rows of a long table were left out (the message says which and why)."""


class ChannelsFirstWarning(UserWarning):
    """A 3-D ``X`` looks like aeon's ``(n_cases, n_channels, n_timepoints)`` layout."""


def _check_channels_last(shape: tuple[int, ...], estimator_name: str) -> None:
    """Catch aeon's and sktime's channels-first arrays passed as channels-last.

    The rule (README, "Inputs"): one time step of several features is refused, since no
    recurrent model reads one step, and it is what a univariate aeon array
    ``(n, 1, T)`` looks like; a few steps of many times as many features (``(n, 6, 100)``:
    aeon's multivariate layout) draw a :class:`ChannelsFirstWarning`. Nothing is
    transposed behind the caller's back.
    """
    _, steps, features = shape
    fix = (
        "aeon and sktime store (n_cases, n_channels, n_timepoints); gru-search reads "
        "(n_samples, n_timesteps, n_features): pass X.transpose(0, 2, 1)"
    )
    if steps == 1 and features > 1:
        raise ValueError(
            f"{estimator_name} got X of shape {shape}: sequences of 1 time step with "
            f"{features} features. {fix}; for one-step data with many features use a "
            "non-recurrent model"
        )
    if steps <= CHANNELS_FIRST_MAX_STEPS and features >= CHANNELS_FIRST_RATIO * steps:
        warnings.warn(
            f"{estimator_name} got X of shape {shape}: {steps} time steps of {features} "
            f"features each. If these are {steps} channels of {features} time points, {fix}",
            ChannelsFirstWarning,
            stacklevel=4,
        )


@dataclass(frozen=True)
class SequenceScaler:
    """Input scaling learned in ``fit``.

    ``"standard"``: per-feature mean and standard deviation over every real time step of
    every training sequence. ``"sequence"``: each sequence z-normalised per feature on its
    own (the UCR convention; nothing is learned). ``"none"``: values unchanged.
    """

    method: str
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @classmethod
    def fit(cls, batch: SequenceBatch, method: str) -> SequenceScaler:
        if method not in SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, got {method!r}")
        if method != "standard":
            return cls(method)
        values = batch.values if batch.mask is None else batch.values[batch.mask]
        values = values.reshape(-1, batch.n_features).astype(np.float64)
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        scale[scale < 1e-12] = 1.0  # constant features pass through centred
        return cls(method, mean.astype(np.float32), scale.astype(np.float32))

    def transform(self, batch: SequenceBatch) -> np.ndarray:
        """Scaled values; padded steps stay zero."""
        values = batch.values
        if self.method == "standard":
            values = (values - self.mean) / self.scale
        elif self.method == "sequence":
            mask = (np.ones(values.shape[:2], dtype=bool) if batch.mask is None else batch.mask)[
                ..., None
            ]
            counts = mask.sum(axis=1, keepdims=True)
            mean = (values * mask).sum(axis=1, keepdims=True) / counts
            std = np.sqrt((((values - mean) * mask) ** 2).sum(axis=1, keepdims=True) / counts)
            values = (values - mean) / np.where(std < 1e-8, 1.0, std)
        if batch.mask is not None:
            values = values * batch.mask[..., None]
        return values.astype(np.float32, copy=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for export metadata)."""
        return {
            "method": self.method,
            "mean": None if self.mean is None else self.mean.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }


#: "auto" patching aims at about this many recurrent steps (see :func:`resolve_patch_size`).
PATCH_TARGET_STEPS = 32


def resolve_patch_size(patch_size: int | str, n_timesteps: int) -> int:
    """The number of consecutive time steps folded into one recurrent step.

    ``"auto"`` gives ``ceil(n_timesteps / 32)``: sequences of up to 32 steps are read as
    they are, longer ones in patches so that the recurrence runs about 32 steps. GRU
    training on long univariate series (GunPoint: 150 steps) often sits on a loss plateau
    for most random seeds; read in patches (PatchTST's idea, Nie et al. 2023) the same
    network learns reliably, and each epoch does ``patch_size`` times fewer sequential
    steps.
    """
    if patch_size == "auto":
        return max(1, -(-n_timesteps // PATCH_TARGET_STEPS))
    if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)):
        raise ValueError(f"patch_size must be a positive integer or 'auto', got {patch_size!r}")
    if patch_size < 1:
        raise ValueError(f"patch_size must be a positive integer or 'auto', got {patch_size!r}")
    return int(patch_size)


def fold_patches(
    values: np.ndarray, mask: np.ndarray | None, patch_size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Fold ``patch_size`` consecutive steps into one step with ``patch_size`` times the features.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_timesteps, n_features)
        Scaled sequences (padded steps zero).
    mask : ndarray of shape (n_samples, n_timesteps) or None
        True at real steps of right-padded sequences.
    patch_size : int

    Returns
    -------
    values : ndarray of shape (n_samples, ceil(n_timesteps / patch_size), patch_size * n_features)
    mask : ndarray of shape (n_samples, ceil(n_timesteps / patch_size)) or None
        A patch is real when any of its steps is.

    Notes
    -----
    Fixed-length sequences are padded with zeros (the training mean after standard
    scaling) at the start, so the final, usually most informative, steps keep their
    place; right-padded uneven sequences are padded further on the right.
    """
    if patch_size == 1:
        return values, mask
    n_samples, n_steps, n_features = values.shape
    extra = -n_steps % patch_size
    if extra:
        before = 0 if mask is not None else extra
        values = np.pad(values, ((0, 0), (before, extra - before), (0, 0)))
        if mask is not None:
            mask = np.pad(mask, ((0, 0), (0, extra)))
    n_patches = values.shape[1] // patch_size
    folded = values.reshape(n_samples, n_patches, patch_size * n_features)
    if mask is not None:
        mask = mask.reshape(n_samples, n_patches, patch_size).any(axis=2)
    return folded, mask


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages: ``0``, not ``np.int64(0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def sequences_from_long(
    frame: pd.DataFrame,
    *,
    series: str,
    time: str | None = None,
    values: Sequence[str] | None = None,
    target: str | None = None,
    return_ids: bool = False,
) -> tuple[Any, ...]:
    """Convert a long-format DataFrame (one row per series and time step) to sequences.

    Parameters
    ----------
    frame : pandas.DataFrame
        The long table.
    series : str
        Column identifying the series; output order is the order of first appearance.
    time : str, optional
        Column to sort the steps of each series by; rows are kept in file order without it.
    values : list of str, optional
        Feature columns, in order; default: every column but ``series``, ``time``, ``target``.
    target : str, optional
        Column holding each series' label or target, constant within a series.
    return_ids : bool, default=False
        Also return the series ids, in the order of the sequences.

    Returns
    -------
    sequences : list of ndarray of shape (n_timesteps_i, n_features)
        Ready for ``fit``/``predict`` (uneven lengths are padded and masked there).
    y : ndarray of shape (n_series,) or None
        The target of each series, or None without ``target``.
    ids : ndarray of shape (n_series,)
        The series ids (only with ``return_ids=True``).

    Raises
    ------
    ValueError
        If a named column is missing, a feature is not numeric or not finite, a (series,
        time) pair repeats, or a target varies within a series or is missing. Rows without
        a series id are left out with a :class:`LongTableWarning`.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    named = [column for column in (series, time, target) if column is not None]
    missing = [column for column in [*named, *(values or [])] if column not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found; the DataFrame has {list(frame.columns)}")
    feature_columns = list(values) if values else [c for c in frame.columns if c not in named]
    if not feature_columns:
        raise ValueError("no feature columns left besides the series, time and target columns")
    non_numeric = [c for c in feature_columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"feature column(s) {non_numeric} are not numeric")
    unnamed = frame[series].isna()
    if unnamed.any():
        warnings.warn(
            f"left out {int(unnamed.sum())} of {len(frame)} rows whose series id "
            f"({series!r}) is missing",
            LongTableWarning,
            stacklevel=2,
        )
        frame = frame[~unnamed]
    if time is not None:
        repeated = frame.duplicated([series, time], keep=False)
        if repeated.any():
            first = frame[repeated].iloc[0]
            raise ValueError(
                f"{int(repeated.sum())} rows repeat a (series, time) pair, e.g. series "
                f"{plain(first[series])!r} at {time} {plain(first[time])!r}; expected one row "
                "per series "
                "and time step"
            )
    sequences: list[np.ndarray] = []
    targets: list[Any] = []
    ids: list[Any] = []
    for key, group in frame.groupby(series, sort=False):
        ids.append(key)
        if time is not None:
            group = group.sort_values(time, kind="stable")
        values = group[feature_columns].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            bad = sorted({c for c in feature_columns if not np.isfinite(group[c]).all()})
            raise ValueError(
                f"series {plain(key)!r} has missing or infinite values in column(s) {bad}; fill or "
                "drop them first"
            )
        sequences.append(values)
        if target is not None:
            labels = group[target].unique()
            if len(labels) != 1:
                raise ValueError(
                    f"series {plain(key)!r} has {len(labels)} different values in target column "
                    f"{target!r}; expected one per series"
                )
            if pd.isna(labels[0]):
                raise ValueError(f"series {plain(key)!r} has no value in target column {target!r}")
            targets.append(labels[0])
    y = np.asarray(targets) if target is not None else None
    return (sequences, y, np.asarray(ids)) if return_ids else (sequences, y)
