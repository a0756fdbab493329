"""Forecasting one or many series with one GRU (a global model): :class:`GRUForecaster`.

Input is a long table, one row per series and time stamp (``unique_id``, ``ds``, ``y``,
the layout of Nixtla's libraries), or a list of 1-D arrays (one per series, time stamps
0, 1, ...). Series are cut into windows of ``input_size`` past values followed by
``horizon`` future values, each window scaled by its own past (or each series by its
history), and one GRU learns to map a window's past to its whole future at once (direct
multi-step). ``predict`` returns the next ``horizon`` values after each series' last time
stamp, in the series' own units (``strategy="recursive"``: a one-step model fed its own
forecasts instead); with ``quantiles``, prediction quantiles as well
(pinball loss). Past, future and static covariates (:mod:`gru_search.forecast_covariates`)
are read beside the target when named.

Rolling-origin validation lives in :mod:`gru_search.forecast_validation`, the search in
:mod:`gru_search.forecast_search`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import keras
import numpy as np
import pandas as pd
from keras import ops
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gru_search.accelerators import training_device
from gru_search.cells import VARIANTS
from gru_search.exceptions import ForecastDataError
from gru_search.feeding import fit_arguments
from gru_search.forecast_covariates import (
    CovariateColumns,
    CovariateScaler,
    dynamic_values,
    future_rows,
    missing_columns,
    static_values,
)
from gru_search.forecast_weights import mase_window_weights
from gru_search.model import GRUConfig, build_model
from gru_search.preprocessing import checked_count, checked_numbers
from gru_search.seeding import MAX_SEED, seeded

SERIES_SCALINGS = ("window", "standard", "robust", "none")


@dataclass(frozen=True)
class SeriesSet:
    """Validated series: ids, values and time stamps, in the order of first appearance.

    ``steps[i]`` is series ``i``'s time step: an integer for integer time stamps, a
    pandas offset for dates. ``covariates[i]`` holds series ``i``'s dynamic covariates
    (``(len(values[i]), len(covariate_names))``, past columns then future ones) and
    ``statics`` the static ones (``(n_series, len(static_names))``), when named.
    """

    ids: tuple[Any, ...]
    values: tuple[np.ndarray, ...]
    times: tuple[np.ndarray, ...]
    steps: tuple[Any, ...]
    covariates: tuple[np.ndarray, ...] = ()
    covariate_names: tuple[str, ...] = ()
    statics: np.ndarray | None = None
    static_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def dynamic(self) -> list[np.ndarray]:
        """Each series' dynamic covariates (zero columns when there are none)."""
        if self.covariates:
            return list(self.covariates)
        return [np.zeros((len(v), 0)) for v in self.values]

    def static_matrix(self) -> np.ndarray:
        """The static covariates, ``(n_series, n_static)`` (zero columns when none)."""
        return self.statics if self.statics is not None else np.zeros((len(self), 0))

    def future_covariates(
        self, drop_last: int, horizon: int, columns: Sequence[str]
    ) -> tuple[np.ndarray, ...]:
        """The named covariates' ``horizon`` rows after :meth:`head` ``(drop_last)`` ends."""
        picked = [self.covariate_names.index(c) for c in columns]
        return tuple(
            rows[len(rows) - drop_last : len(rows) - drop_last + horizon][:, picked]
            for rows in self.dynamic()
        )

    def future_times(self, index: int, horizon: int) -> np.ndarray:
        """The ``horizon`` time stamps after series ``index``'s last one."""
        last, step = self.times[index][-1], self.steps[index]
        if isinstance(step, (int, np.integer)):
            return last + step * np.arange(1, horizon + 1)
        future = pd.date_range(start=last, periods=horizon + 1, freq=step)[1:]
        return future.to_numpy().astype("datetime64[ns]")

    def head(self, drop_last: int) -> SeriesSet:
        """Every series without its last ``drop_last`` values (a forecast origin)."""
        if drop_last == 0:
            return self
        return SeriesSet(
            self.ids,
            tuple(v[:-drop_last] for v in self.values),
            tuple(t[:-drop_last] for t in self.times),
            self.steps,
            tuple(c[:-drop_last] for c in self.covariates),
            self.covariate_names,
            self.statics,
            self.static_names,
        )

    def take(self, rows: Sequence[int]) -> SeriesSet:
        """The series at positions ``rows``, in that order."""
        return SeriesSet(
            tuple(self.ids[i] for i in rows),
            tuple(self.values[i] for i in rows),
            tuple(self.times[i] for i in rows),
            tuple(self.steps[i] for i in rows),
            tuple(self.covariates[i] for i in rows) if self.covariates else (),
            self.covariate_names,
            self.statics[list(rows)] if self.statics is not None else None,
            self.static_names,
        )

    def tails(self, drop_last: int, horizon: int) -> tuple[np.ndarray, ...]:
        """The ``horizon`` values after :meth:`head` ``(drop_last)`` ends, per series."""
        return tuple(v[len(v) - drop_last : len(v) - drop_last + horizon] for v in self.values)

    def to_dict(self, keep_last: int) -> dict[str, Any]:
        """Plain data (an export): ids, each series' last ``keep_last`` values and time
        stamps, and steps. Ids must be strings or integers."""
        for name in self.ids:
            if isinstance(name, bool) or not isinstance(name, (str, int, np.integer)):
                raise TypeError(
                    f"series id {name!r} is a {type(name).__name__}; an export holds string "
                    "or integer ids"
                )
        dated = any(np.issubdtype(t.dtype, np.datetime64) for t in self.times)
        return {
            "ids": [i.item() if isinstance(i, np.integer) else i for i in self.ids],
            "values": [v[-keep_last:].tolist() for v in self.values],
            "times": [
                [str(x) for x in t[-keep_last:]] if dated else t[-keep_last:].tolist()
                for t in self.times
            ],
            "dated": dated,
            "steps": [int(s) if not dated else s.freqstr for s in self.steps],
            "covariate_names": list(self.covariate_names),
            "covariates": [c[-keep_last:].tolist() for c in self.covariates],
            "static_names": list(self.static_names),
            "statics": self.statics.tolist() if self.statics is not None else None,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> SeriesSet:
        """The inverse of :meth:`to_dict`, every value checked (ValueError otherwise)."""
        ids, values, times, steps = (state[k] for k in ("ids", "values", "times", "steps"))
        dated = state["dated"]
        if not isinstance(dated, bool):
            raise ValueError("dated must be true or false")
        if not all(isinstance(x, list) for x in (ids, values, times, steps)) or not (
            len(ids) == len(values) == len(times) == len(steps) > 0
        ):
            raise ValueError("ids, values, times and steps must be lists of one length")
        if any(isinstance(i, bool) or not isinstance(i, (str, int)) for i in ids):
            raise ValueError("series ids must be strings or integers")
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
        if any(a.ndim != 1 or not len(a) or not np.all(np.isfinite(a)) for a in arrays):
            raise ValueError("series values must be non-empty lists of finite numbers")
        if dated:
            stamps = [np.asarray(pd.to_datetime(t)).astype("datetime64[ns]") for t in times]
            offsets = [pd.tseries.frequencies.to_offset(s) for s in steps]
        else:
            stamps = [np.asarray(t, dtype=np.int64) for t in times]
            offsets = [int(s) for s in steps]
            if any(isinstance(s, bool) or s < 1 for s in steps):
                raise ValueError("integer steps must be positive")
        if any(len(t) != len(a) for t, a in zip(stamps, arrays, strict=True)):
            raise ValueError("every series needs one time stamp per value")
        # exports written before covariates existed have none of these keys
        names = tuple(str(n) for n in state.get("covariate_names", []))
        covariates = tuple(
            np.asarray(c, dtype=np.float64).reshape(len(a), len(names))
            for c, a in zip(state.get("covariates", []), arrays, strict=False)
        )
        if names and len(covariates) != len(arrays):
            raise ValueError("every series needs its covariates")
        static_names = tuple(str(n) for n in state.get("static_names", []))
        statics = None
        if static_names:
            statics = np.asarray(state["statics"], dtype=np.float64)
            if statics.shape != (len(arrays), len(static_names)):
                raise ValueError("every series needs one value per static covariate")
        if any(not np.all(np.isfinite(c)) for c in covariates) or (
            statics is not None and not np.all(np.isfinite(statics))
        ):
            raise ValueError("covariates must be finite numbers")
        return cls(
            tuple(ids),
            tuple(arrays),
            tuple(stamps),
            tuple(offsets),
            covariates,
            names,
            statics,
            static_names,
        )


#: Season lengths of pandas frequencies (by the start of their rule code), as the
#: forecasting competitions use them for the seasonal naive forecast and MASE.
_SEASONS = (
    ("min", 60),
    ("Y", 1),
    ("A", 1),
    ("Q", 4),
    ("M", 12),
    ("W", 52),
    ("D", 7),
    ("B", 5),
    ("h", 24),
    ("H", 24),
    ("s", 60),
)


def season_length_of(step: Any) -> int:
    """The usual season length of a series stepping by ``step`` (1 for integer steps)."""
    if isinstance(step, (int, np.integer)):
        return 1
    code = getattr(step, "rule_code", str(step))
    return next((season for prefix, season in _SEASONS if code.startswith(prefix)), 1)


def _series_step(times: np.ndarray, name: Any) -> Any:
    """The regular step of one series' sorted time stamps; a gap is an error."""
    if len(times) < 2:
        return 1
    if np.issubdtype(times.dtype, np.datetime64):
        index = pd.DatetimeIndex(times)
        freq = pd.infer_freq(index) if len(index) >= 3 else None
        if freq is None:
            if len(index) == 2:
                return pd.tseries.frequencies.to_offset(index[1] - index[0])
            raise ForecastDataError(
                f"series {name!r} has irregular time stamps (gaps or changing steps) "
                f"between {index[0]} and {index[-1]}; expected one value per period"
            )
        return pd.tseries.frequencies.to_offset(freq)
    steps = np.diff(times)
    if steps[0] <= 0 or not np.all(steps == steps[0]):
        at = int(np.flatnonzero(steps != steps[0])[0]) if np.any(steps != steps[0]) else 0
        raise ForecastDataError(
            f"series {name!r} has irregular time stamps: a step of {steps[at]} after "
            f"{times[at]} where the series steps by {steps[0]}; expected evenly spaced "
            "time stamps (fill the gaps first)"
        )
    return int(steps[0])


def check_series(
    X: Any,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    covariates: CovariateColumns | None = None,
) -> SeriesSet:
    """Validate a long table or a list of 1-D arrays into a :class:`SeriesSet`.

    A :class:`SeriesSet` (already validated) is returned as it is. ``covariates`` names
    the table's covariate columns (numbers; static ones constant per series).

    Raises
    ------
    ForecastDataError
        Missing columns, NaN targets, covariates or ids, duplicate time stamps, gaps; the
        message names the series.
    """
    covariates = covariates or CovariateColumns()
    if isinstance(X, SeriesSet):
        if covariates and (
            X.covariate_names != covariates.dynamic or X.static_names != covariates.static
        ):
            raise ForecastDataError(
                f"these series carry covariates {list(X.covariate_names)} and static "
                f"{list(X.static_names)}; expected {list(covariates.dynamic)} and "
                f"{list(covariates.static)}"
            )
        return X
    if isinstance(X, pd.DataFrame):
        missing = [c for c in (id_col, time_col, target_col) if c not in X.columns]
        if missing:
            raise ForecastDataError(
                f"the table has no column {missing[0]!r}; expected columns {id_col!r}, "
                f"{time_col!r} and {target_col!r} (one row per series and time stamp), "
                f"got {list(X.columns)}"
            )
        missing_columns(X, covariates)
        for role, column in (("series id", id_col), ("time", time_col), ("target", target_col)):
            if column in covariates.dynamic + covariates.static:
                raise ForecastDataError(
                    f"column {column!r} is the {role}; a covariate is another column"
                )
        if X[id_col].isna().any():
            raise ForecastDataError(f"column {id_col!r} has missing series ids")
        if X.empty:
            raise ForecastDataError("the table has no rows")
        ids, values, times, steps, dynamic, statics = [], [], [], [], [], []
        for name, rows in X.groupby(id_col, sort=False):
            rows = rows.sort_values(time_col, kind="stable")
            stamps = rows[time_col].to_numpy()
            if np.issubdtype(stamps.dtype, np.datetime64):
                # one resolution whatever pandas parsed (pandas 3 picks us or s): an export
                # restores nanoseconds, and forecasts must compare equal across a round trip
                stamps = stamps.astype("datetime64[ns]")
            if pd.Series(stamps).duplicated().any():
                first = stamps[pd.Series(stamps).duplicated().to_numpy()][0]
                raise ForecastDataError(
                    f"series {name!r} has more than one row at {time_col} = {first}; expected "
                    "one value per time stamp"
                )
            target = pd.to_numeric(rows[target_col], errors="coerce").to_numpy(np.float64)
            if not np.all(np.isfinite(target)):
                at = stamps[~np.isfinite(target)][0]
                raise ForecastDataError(
                    f"series {name!r} has a missing or non-numeric {target_col} at "
                    f"{time_col} = {at}; fill or drop it first"
                )
            ids.append(name)
            values.append(target)
            times.append(stamps)
            steps.append(_series_step(stamps, name))
            if covariates.dynamic:
                dynamic.append(dynamic_values(rows, covariates.dynamic, name, time_col))
            statics.append(static_values(rows, covariates.static, name, time_col))
        return SeriesSet(
            tuple(ids),
            tuple(values),
            tuple(times),
            tuple(steps),
            tuple(dynamic),
            covariates.dynamic,
            np.asarray(statics).reshape(len(ids), -1) if covariates.static else None,
            covariates.static,
        )
    if covariates:
        raise ForecastDataError(
            "covariates (past_exog, future_exog, static_exog) are columns of a long "
            f"DataFrame; got {type(X).__name__}"
        )
    if isinstance(X, (list, tuple)) and X and all(np.ndim(s) == 1 for s in X):
        values = []
        for index, series in enumerate(X):
            array = np.asarray(series, dtype=np.float64)
            if not np.all(np.isfinite(array)):
                raise ForecastDataError(f"series {index} has missing or infinite values")
            values.append(array)
        times = tuple(np.arange(len(v)) for v in values)
        return SeriesSet(tuple(range(len(values))), tuple(values), times, (1,) * len(values))
    raise ForecastDataError(
        "expected a long DataFrame with columns unique_id, ds, y (one row per series and "
        f"time stamp) or a list of 1-D arrays, got {type(X).__name__}"
    )


@dataclass(frozen=True)
class SeriesScaler:
    """Each series' own centre and scale, learned from its history.

    ``"standard"``: mean and standard deviation; ``"robust"``: median and interquartile
    range; ``"none"`` and ``"window"``: 0 and 1 (``"window"`` scales every window by
    itself, see :class:`ForecastWindows`). A constant series gets scale 1.
    """

    method: str
    centre: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, series: Sequence[np.ndarray], method: str) -> SeriesScaler:
        if method == "standard":
            centre = np.array([s.mean() for s in series])
            scale = np.array([s.std() for s in series])
        elif method == "robust":
            centre = np.array([np.median(s) for s in series])
            scale = np.array([np.subtract(*np.percentile(s, [75, 25])) for s in series])
        else:
            centre, scale = np.zeros(len(series)), np.ones(len(series))
        return cls(method, centre, np.where(scale < 1e-12, 1.0, scale))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "centre": self.centre.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, Any], n_series: int) -> SeriesScaler:
        """The inverse of :meth:`to_dict`, every value checked (ValueError otherwise)."""
        method = state["method"]
        if method not in SERIES_SCALINGS:
            raise ValueError(f"unknown scaling {method!r}")
        return cls(
            method,
            checked_numbers(state["centre"], "scaler centre", n_series),
            checked_numbers(state["scale"], "scaler scale", n_series, positive=True),
        )

    def transform(self, series: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [(s - c) / k for s, c, k in zip(series, self.centre, self.scale, strict=True)]


@dataclass(frozen=True)
class ForecastWindows:
    """How series become training windows and forecast inputs.

    A sibling of :class:`gru_search.preprocessing.SequencePreprocessor`: it turns series
    into what the model reads (the last ``input_size`` values of every series) and into
    training rows (every window of ``input_size`` past values followed by ``horizon``
    future values). With ``scale_windows``, every window is standardised by the mean and
    standard deviation of its own past values (its future with the same numbers), which
    lets one model read trending series at any level; forecasts are scaled back with them.
    With ``pad_short``, a series shorter than a window is padded on the left with its first
    value (after scaling), so that it still gives one training window or a forecast.

    Without covariates the model reads ``(input_size, 1)``: the scaled past. With them it
    reads ``input_size + horizon`` steps of ``2 + n_past + n_future + n_static`` channels:
    the scaled target (0 over the horizon), the past covariates (0 over the horizon), the
    future covariates (known over the horizon too), the static covariates at every step,
    and a flag that is 1 over the horizon, so that the GRU reads each step's future
    covariates before the dense head forecasts all ``horizon`` values at once.
    """

    input_size: int
    horizon: int
    scale_windows: bool = False
    pad_short: bool = False
    n_past: int = 0
    n_future: int = 0
    n_static: int = 0

    @property
    def has_covariates(self) -> bool:
        return bool(self.n_past or self.n_future or self.n_static)

    @property
    def model_input_shape(self) -> tuple[int, int]:
        if not self.has_covariates:
            return (self.input_size, 1)
        channels = 2 + self.n_past + self.n_future + self.n_static
        return (self.input_size + self.horizon, channels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size,
            "horizon": self.horizon,
            "scale_windows": self.scale_windows,
            "pad_short": self.pad_short,
            "n_past": self.n_past,
            "n_future": self.n_future,
            "n_static": self.n_static,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ForecastWindows:
        """The inverse of :meth:`to_dict`, every value checked (ValueError otherwise)."""
        for flag in ("scale_windows", "pad_short"):
            if not isinstance(state[flag], bool):
                raise ValueError(f"{flag} must be true or false")
        return cls(
            checked_count(state["input_size"], "input_size", 1),
            checked_count(state["horizon"], "horizon", 1),
            state["scale_windows"],
            state["pad_short"],
            # exports written before covariates existed have none
            *(checked_count(state.get(k, 0), k, 0) for k in ("n_past", "n_future", "n_static")),
        )

    def _padded(self, values: np.ndarray, length: int) -> np.ndarray:
        """``values`` (1-D, or rows of covariates) padded on the left with the first one."""
        if not self.pad_short or len(values) >= length:
            return values
        return np.concatenate([np.repeat(values[:1], length - len(values), axis=0), values])

    def _with_covariates(
        self, past: np.ndarray, dynamic: np.ndarray, statics: np.ndarray
    ) -> np.ndarray:
        """The model's input from scaled past targets ``(n, input_size)``, covariates over
        the whole span ``(n, input_size + horizon, n_past + n_future)`` and statics
        ``(n, n_static)``."""
        n, span = len(past), self.input_size + self.horizon
        target = np.zeros((n, span, 1))
        target[:, : self.input_size, 0] = past
        known_past = dynamic[:, :, : self.n_past].copy()
        known_past[:, self.input_size :] = 0.0  # past covariates are unknown over the horizon
        flag = np.zeros((n, span, 1))
        flag[:, self.input_size :] = 1.0
        return np.concatenate(
            [
                target,
                known_past,
                dynamic[:, :, self.n_past :],
                np.repeat(statics[:, None, :], span, axis=1),
                flag,
            ],
            axis=2,
        ).astype(np.float32)

    def _window_stats(self, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.scale_windows:
            return np.zeros((len(past), 1)), np.ones((len(past), 1))
        centre = past.mean(axis=1, keepdims=True)
        scale = past.std(axis=1, keepdims=True)
        return centre, np.where(scale < 1e-8, 1.0, scale)

    def _series_windows(self, series: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each series' training windows, ``(n_windows, input_size + horizon)`` values."""
        span = self.input_size + self.horizon
        slide = np.lib.stride_tricks.sliding_window_view
        return [slide(self._padded(v, span), span) for v in series]

    def window_scales(self, series: Sequence[np.ndarray]) -> list[np.ndarray]:
        """For each series, the scale of each of its training windows (1 without window
        scaling), in the order of :meth:`training_rows`."""
        return [
            self._window_stats(windows[:, : self.input_size])[1][:, 0]
            for windows in self._series_windows(series)
        ]

    def training_rows(
        self,
        series: Sequence[np.ndarray],
        dynamic: Sequence[np.ndarray] = (),
        statics: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs (n, *model_input_shape), targets (n, horizon))`` of every window;
        ``dynamic`` and ``statics``: each series' scaled covariates, when there are any."""
        span = self.input_size + self.horizon
        slide = np.lib.stride_tricks.sliding_window_view
        windows = np.concatenate(self._series_windows(series))
        past, future = windows[:, : self.input_size], windows[:, self.input_size :]
        centre, scale = self._window_stats(past)
        past, future = (past - centre) / scale, (future - centre) / scale
        if not self.has_covariates:
            return past[..., None].astype(np.float32), future.astype(np.float32)
        spans = [slide(self._padded(rows, span), span, axis=0) for rows in dynamic]
        repeated = [
            np.repeat(row[None], len(s), axis=0) for row, s in zip(statics, spans, strict=True)
        ]
        return (
            self._with_covariates(
                past, np.concatenate(spans).transpose(0, 2, 1), np.concatenate(repeated)
            ),
            future.astype(np.float32),
        )

    def last_inputs(
        self,
        series: Sequence[np.ndarray],
        dynamic: Sequence[np.ndarray] = (),
        statics: np.ndarray | None = None,
        future: Sequence[np.ndarray] = (),
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The input that forecasts past each series' end (``(n_series,
        *model_input_shape)``), with the centre and scale that turn the model's outputs back
        (``(n_series, 1)``); ``future``: each series' scaled future covariates over the
        horizon, ``(horizon, n_future)``."""
        past = np.stack([self._padded(s, self.input_size)[-self.input_size :] for s in series])
        centre, scale = self._window_stats(past)
        past = (past - centre) / scale
        if not self.has_covariates:
            return past[..., None].astype(np.float32), centre, scale
        spans = [
            np.concatenate(
                [
                    self._padded(rows, self.input_size)[-self.input_size :],
                    np.concatenate([np.zeros((self.horizon, self.n_past)), ahead], axis=1),
                ]
            )
            for rows, ahead in zip(dynamic, future, strict=True)
        ]
        return self._with_covariates(past, np.stack(spans), statics), centre, scale


FORECAST_LOSSES = ("mse", "mae")
#: Training steps every epoch takes at least (batches shrink on small data to allow it).
MIN_STEPS_PER_EPOCH = 8


def _averaged(members: Sequence[Any], input_shape: tuple[int, int]) -> Any:
    """One Keras model whose output is the mean of ``members``' outputs (an ensemble)."""
    inputs = keras.Input(shape=input_shape, name="window")
    outputs = keras.layers.Average(name="ensemble_mean")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="gru_forecaster_ensemble")


@keras.saving.register_keras_serializable(package="gru_search")
class ForecastLoss(keras.losses.Loss):
    """The point forecast's loss (``"mse"`` or ``"mae"``) plus each quantile's pinball loss.

    The model's output row is the ``horizon`` point forecasts followed by ``horizon``
    values per quantile; ``y_true`` holds the ``horizon`` actual values. A registered
    Keras object, so that a saved forecaster loads with ``safe_mode=True``.
    """

    def __init__(
        self,
        point: str = "mae",
        quantiles: Sequence[float] = (),
        name: str = "forecast_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if point not in FORECAST_LOSSES:
            raise ValueError(f"point loss must be one of {FORECAST_LOSSES}, got {point!r}")
        self.point = point
        self.quantiles = tuple(float(q) for q in quantiles)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        horizon = ops.shape(y_true)[-1]
        error = y_true - y_pred[:, :horizon]
        total = ops.mean(ops.square(error) if self.point == "mse" else ops.abs(error), axis=-1)
        if self.quantiles:
            levels = np.asarray(self.quantiles, dtype="float32")[None, :, None]
            spread = ops.reshape(y_pred[:, horizon:], (-1, len(self.quantiles), horizon))
            below = ops.expand_dims(y_true, 1) - spread
            pinball = ops.maximum(levels * below, (levels - 1.0) * below)
            total = total + ops.mean(pinball, axis=(1, 2))
        return total

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "point": self.point, "quantiles": list(self.quantiles)}


#: GRUForecaster parameters a search space may not search or fix: the horizon and the
#: column names (covariates too) describe the task and data, ``units`` comes from the
#: space's ``layers``, the season belongs to the data, the seed and verbosity to the search.
FORECASTER_NOT_SEARCHABLE = (
    "horizon",
    "units",
    "season_length",
    "id_col",
    "time_col",
    "target_col",
    "past_exog",
    "future_exog",
    "static_exog",
    "random_state",
    "verbose",
)


def forecaster_constraints() -> dict[str, list[Any]]:
    """GRUForecaster's parameter constraints (scikit-learn's format), by parameter name."""
    return dict(GRUForecaster._parameter_constraints)


def forecaster_searchable_parameters() -> tuple[str, ...]:
    """GRUForecaster parameters a forecasting search space may search or fix."""
    return tuple(n for n in forecaster_constraints() if n not in FORECASTER_NOT_SEARCHABLE)


class GRUForecaster(BaseEstimator):
    """Forecast the next ``horizon`` values of one or many series with one GRU.

    Parameters
    ----------
    horizon : int, default=1
        Steps to forecast after each series' end.
    input_size : int or "auto", default="auto"
        Past values the model reads (the window). ``"auto"``: ``input_size_multiplier`` x
        ``horizon``, shortened when the shortest series could not otherwise give one
        training window.
    input_size_multiplier : float, default=2.0
        The window as a multiple of the horizon, when ``input_size="auto"`` (searched by
        ``search_spaces/forecasting.yaml``).
    scaling : {"window", "standard", "robust", "none"}, default="window"
        Scaling of inputs and targets, inverted on the forecasts: ``"window"`` standardises
        every window by its own past values (suits trends and series of any level);
        ``"standard"`` (mean, standard deviation) and ``"robust"`` (median, interquartile
        range) scale each series by statistics of its whole history.
    units : tuple of int, default=(64,)
        Width of each recurrent layer.
    cell : str, default="gru"
        Gate variant, one of :data:`gru_search.cells.VARIANTS`.
    dropout : float, default=0.0
        Input dropout of the recurrent layers.
    learning_rate : float, default=3e-3
    batch_size : int, default=32
        Windows per training step, at most. With fewer than ``8 * batch_size`` windows,
        batches shrink so that every epoch still takes 8 steps: one series of 84 windows
        at batch 256 would otherwise learn from one step per epoch (on the airline series
        that doubled the MASE, benchmarks/RESULTS.md).
    epochs : int, default=50
    loss : {"mse", "mae"}, default="mae"
        Loss of the point forecast (on scaled values): squared error (the mean) or
        absolute error (the median, which scale-free errors such as MASE reward).
    loss_weighting : {"mase", "uniform"}, default="mase"
        How much each training window's loss counts. ``"mase"``: by ``series scale x
        window scale / the series' in-sample seasonal naive error``, so that an absolute
        error loss is each window's MASE, the metric the search scores (see
        :mod:`gru_search.forecast_weights`; on M3 monthly one network's MASE went from
        0.955 to 0.915). ``"uniform"``: every window alike, in scaled units.
    learning_rate_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"``: the learning rate falls along a cosine from ``learning_rate`` to 5 %
        of it over the ``epochs`` (on M3 monthly, with MASE weights, one network's MASE
        went from 0.915 to 0.902); ``"constant"``: ``learning_rate`` throughout, which
        may learn more from a short training (a few epochs of a small model).
    quantiles : tuple of float or None, default=None
        Levels in (0, 1) of prediction quantiles (``(0.1, 0.9)`` for an 80 % interval),
        learned with the pinball loss beside the point forecast; ``predict`` adds a column
        ``y_hat_q10`` (etc.) per level, sorted so that they never cross.
    season_length : int or "auto", default="auto"
        Season of the series, for scale-free errors (seasonal MASE) and seasonal naive
        comparisons: ``"auto"`` reads it from the time stamps' frequency (12 monthly, 4
        quarterly, 1 yearly or for integer time stamps, ...).
    id_col, time_col, target_col : str, default="unique_id", "ds", "y"
        Column names of a long table.
    past_exog : list of str, optional
        Covariate columns known up to each series' end only (read over the window).
    future_exog : list of str, optional
        Covariate columns known in advance (calendar, planned prices): read over the
        window and the horizon; :meth:`predict` then needs their future values
        (``X_future``).
    static_exog : list of str, optional
        Columns with one value per series (constant over its rows), read at every step.
        Covariates are numbers, standardised per column over all training series; see
        :mod:`gru_search.forecast_covariates`.
    short_series : {"error", "pad"}, default="error"
        A series shorter than ``input_size + horizon`` (at fit) or ``input_size`` (at
        predict): ``"error"`` refuses it, naming it; ``"pad"`` pads it on the left with its
        first value so that it still gives one training window and a forecast (as
        NeuralForecast does; the competitions' shortest series need it for windows of a
        few horizons). With ``"pad"``, ``input_size="auto"`` is never shortened.
    n_models : int, default=1
        Networks trained with different seeds on the same windows, their forecasts
        averaged (an ensemble: on M3 monthly, 4 networks cut the MASE of one by 2-5 %,
        benchmarks/RESULTS.md), for ``n_models`` times the training time.
        ``callbacks`` passed to :meth:`fit` see each network's training in turn.
    strategy : {"direct", "recursive"}, default="direct"
        ``"direct"``: one output per horizon step, all forecast at once (errors do not
        compound; the default, as in the M4-era global models). ``"recursive"``: a
        one-step model whose forecasts are appended to the history it reads next, for
        ``horizon`` steps (fewer outputs to learn; errors compound). Recursive forecasters
        take no quantiles or covariates.
    jit_compile : bool or "auto", default="auto"
    random_state : int, RandomState or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    model_ : keras.Model
    windows_ : ForecastWindows
        ``input_size`` as resolved, and ``horizon``.
    scaler_ : SeriesScaler
        The training series' centres and scales.
    series_ : SeriesSet
        The training series (``predict()`` without arguments forecasts past their ends).
    quantiles_ : tuple of float
        The quantile levels, sorted (empty without ``quantiles``).
    history_ : dict of str to list of float
    device_ : str
        ``"GPU"`` or ``"CPU"``: where the Keras backend trained the model.
    n_series_ : int
    season_length_ : int
        ``season_length`` as resolved.
    covariate_scaler_ : CovariateScaler
        The covariate columns' training means and standard deviations.
    """

    _parameter_constraints: ClassVar[dict] = {
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "input_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "input_size_multiplier": [Interval(Real, 0, None, closed="neither")],
        "scaling": [StrOptions(set(SERIES_SCALINGS))],
        "units": [tuple, list],
        "cell": [StrOptions(set(VARIANTS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(FORECAST_LOSSES))],
        "loss_weighting": [StrOptions({"mase", "uniform"})],
        "learning_rate_schedule": [StrOptions({"cosine", "constant"})],
        "quantiles": [tuple, list, None],
        "season_length": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "id_col": [str],
        "time_col": [str],
        "target_col": [str],
        "past_exog": [list, tuple, None],
        "future_exog": [list, tuple, None],
        "static_exog": [list, tuple, None],
        "short_series": [StrOptions({"error", "pad"})],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"direct", "recursive"})],
        "jit_compile": ["boolean", StrOptions({"auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        horizon: int = 1,
        *,
        input_size: int | str = "auto",
        input_size_multiplier: float = 2.0,
        scaling: str = "window",
        units: tuple[int, ...] = (64,),
        cell: str = "gru",
        dropout: float = 0.0,
        learning_rate: float = 3e-3,
        batch_size: int = 32,
        epochs: int = 50,
        loss: str = "mae",
        loss_weighting: str = "mase",
        learning_rate_schedule: str = "cosine",
        quantiles: Sequence[float] | None = None,
        season_length: int | str = "auto",
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        past_exog: Sequence[str] | None = None,
        future_exog: Sequence[str] | None = None,
        static_exog: Sequence[str] | None = None,
        short_series: str = "error",
        n_models: int = 1,
        strategy: str = "direct",
        jit_compile: bool | str = "auto",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.horizon = horizon
        self.input_size = input_size
        self.input_size_multiplier = input_size_multiplier
        self.scaling = scaling
        self.units = units
        self.cell = cell
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.loss = loss
        self.loss_weighting = loss_weighting
        self.learning_rate_schedule = learning_rate_schedule
        self.quantiles = quantiles
        self.season_length = season_length
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.past_exog = past_exog
        self.future_exog = future_exog
        self.static_exog = static_exog
        self.short_series = short_series
        self.n_models = n_models
        self.strategy = strategy
        self.jit_compile = jit_compile
        self.random_state = random_state
        self.verbose = verbose

    def _covariates(self) -> CovariateColumns:
        return CovariateColumns.of(self.past_exog, self.future_exog, self.static_exog)

    def _series(self, X: Any) -> SeriesSet:
        return check_series(
            X,
            id_col=self.id_col,
            time_col=self.time_col,
            target_col=self.target_col,
            covariates=self._covariates(),
        )

    def _future_covariates(self, X_future: Any, series: SeriesSet) -> list[np.ndarray]:
        """Each series' scaled future covariates over the horizon, ``(horizon, n_future)``."""
        columns, horizon = self._covariates(), self.horizon
        if not columns.future:
            return [np.zeros((horizon, 0))] * len(series)
        if X_future is None:
            raise ForecastDataError(
                f"this forecaster reads future covariates {list(columns.future)}: pass "
                f"X_future, a table of {self.id_col!r}, {self.time_col!r} and those columns "
                f"at the {horizon} time stamps after each series' end"
            )
        if isinstance(X_future, pd.DataFrame):
            rows = future_rows(
                X_future,
                columns.future,
                series.ids,
                [series.future_times(i, horizon) for i in range(len(series))],
                id_col=self.id_col,
                time_col=self.time_col,
            )
        else:
            rows = tuple(np.asarray(r, dtype=np.float64) for r in X_future)
            if len(rows) != len(series) or any(
                r.shape != (horizon, len(columns.future)) for r in rows
            ):
                raise ForecastDataError(
                    f"X_future as arrays needs one ({horizon}, {len(columns.future)}) array "
                    f"per series ({len(series)})"
                )
        scaler, first = self.covariate_scaler_, len(columns.past)
        return [(r - scaler.centre[first:]) / scaler.scale[first:] for r in rows]

    def _resolve_input_size(self, series: SeriesSet) -> int:
        shortest = min(len(v) for v in series.values)
        if self.input_size != "auto":
            return int(self.input_size)
        wanted = max(1, round(self.input_size_multiplier * self.horizon))
        if self.short_series == "pad":
            return wanted
        return max(1, min(wanted, shortest - self.horizon))

    def _levels(self) -> tuple[float, ...]:
        levels = tuple(float(q) for q in (self.quantiles or ()))
        if not all(0.0 < q < 1.0 for q in levels) or len(set(levels)) != len(levels):
            raise ValueError(
                f"quantiles must be distinct levels in (0, 1), got {list(self.quantiles)}"
            )
        return tuple(sorted(levels))

    def _batch_size(self, n_windows: int) -> int:
        return max(1, min(self.batch_size, -(-n_windows // MIN_STEPS_PER_EPOCH)))

    def _check_lengths(self, series: SeriesSet, needed: int, what: str) -> None:
        for name, values in zip(series.ids, series.values, strict=True):
            if len(values) < needed:
                raise ForecastDataError(
                    f"series {name!r} has {len(values)} values; {what} need at least {needed}"
                )

    def fit(self, X: Any, y: None = None, *, callbacks: Sequence[Any] = ()) -> GRUForecaster:
        """Train on every window of every series.

        Parameters
        ----------
        X : DataFrame (long: id, time, target columns) or list of 1-D arrays
        y : None
            Unused; the targets are the series themselves.
        callbacks : sequence of keras.callbacks.Callback, optional
            Called during training; the fitted attributes other than ``history_`` are set
            before the first epoch, so a callback may call :meth:`predict`.

        Returns
        -------
        self
        """
        self._validate_params()
        levels = self._levels()
        columns = self._covariates()
        if self.strategy == "recursive" and (levels or columns):
            raise ValueError(
                'strategy="recursive" forecasts one step at a time from its own forecasts; '
                "it takes no quantiles or covariates (use the direct strategy for those)"
            )
        series = self._series(X)
        input_size = self._resolve_input_size(series)
        pad = self.short_series == "pad"
        # the model's own horizon: every step at once, or one step fed back
        steps = self.horizon if self.strategy == "direct" else 1
        self._check_lengths(
            series,
            self.horizon + 1 if pad else input_size + self.horizon,
            f"horizon {self.horizon} and one past value"
            if pad
            else f"input_size {input_size} + horizon {self.horizon}",
        )
        windows = ForecastWindows(
            input_size,
            steps,
            self.scaling == "window",
            pad,
            len(columns.past),
            len(columns.future),
            len(columns.static),
        )
        scaler = SeriesScaler.fit(series.values, self.scaling)
        covariate_scaler = CovariateScaler.fit(series.dynamic(), series.static_matrix())
        scaled = scaler.transform(series.values)
        inputs, targets = windows.training_rows(
            scaled, *covariate_scaler.transform(series.dynamic(), series.static_matrix())
        )
        season_length = self._resolve_season_length(series)
        if self.loss_weighting == "mase":
            weights = mase_window_weights(
                series.values, scaler.scale, windows.window_scales(scaled), season_length
            )
        else:
            weights = np.ones(len(targets), dtype=np.float32)
        rng = check_random_state(self.random_state)
        seeds = [int(rng.randint(MAX_SEED)) for _ in range(self.n_models)]
        batch_size = self._batch_size(len(targets))
        decay_steps = None
        if self.learning_rate_schedule == "cosine":
            decay_steps = self.epochs * -(-len(targets) // batch_size)
        self.windows_ = windows
        self.quantiles_ = levels
        self.scaler_ = scaler
        self.covariate_scaler_ = covariate_scaler
        self.series_ = series
        self.n_series_ = len(series)
        self.season_length_ = season_length
        members, histories = [], []
        for member, seed in enumerate(seeds):
            with seeded(seed):
                config = GRUConfig(
                    units=tuple(self.units),
                    cell=self.cell,
                    dropout=self.dropout,
                    learning_rate=self.learning_rate,
                    jit_compile=self.jit_compile,
                    seed=seed,
                )
                self.model_ = build_model(
                    config,
                    windows.model_input_shape,
                    task="regression",
                    n_outputs=steps * (1 + len(levels)),
                    loss=ForecastLoss(self.loss, levels),
                    name=f"gru_forecaster_{member}" if self.n_models > 1 else None,
                    decay_steps=decay_steps,
                )
                history = self.model_.fit(
                    **fit_arguments(
                        inputs,
                        targets,
                        weights,
                        batch_size=batch_size,
                        seed=seed,
                    ),
                    epochs=self.epochs,
                    verbose=self.verbose,
                    callbacks=list(callbacks),
                )
            members.append(self.model_)
            histories.append(history.history)
        if len(members) > 1:
            self.model_ = _averaged(members, windows.model_input_shape)
        self.device_ = training_device()
        self.history_ = {
            key: np.mean([h[key] for h in histories], axis=0).tolist() for key in histories[0]
        }
        return self

    def predict(self, X: Any = None, X_future: Any = None) -> pd.DataFrame:
        """The next ``horizon`` values after each series' end.

        Parameters
        ----------
        X : DataFrame or list of 1-D arrays, optional
            Histories to forecast from (each at least ``input_size`` values, scaled by its
            own statistics; with the covariate columns). None: the training series.
        X_future : DataFrame, optional
            With ``future_exog``, required: id, time and the future covariate columns at
            the ``horizon`` time stamps after each series' end (other rows are ignored).

        Returns
        -------
        DataFrame
            Long: id column, time column (the future time stamps), ``y_hat`` and one
            ``y_hat_qNN`` column per quantile level.
        """
        check_is_fitted(self, "model_")
        if X is None:
            series, scaler = self.series_, self.scaler_
        else:
            series = self._series(X)
            if not self.windows_.pad_short:
                self._check_lengths(
                    series, self.windows_.input_size, f"input_size {self.windows_.input_size}"
                )
            scaler = SeriesScaler.fit(series.values, self.scaling)
        if self.strategy == "direct":
            outputs = self._direct_outputs(series, scaler, X_future)
        else:
            outputs = self._recursive_outputs(series, scaler)
        outputs = outputs * scaler.scale[:, None, None] + scaler.centre[:, None, None]
        bands = np.sort(outputs[:, 1:, :], axis=1)  # quantiles must not cross
        ids = np.empty(len(series), dtype=object)
        ids[:] = series.ids
        frame = {
            self.id_col: np.repeat(ids, self.horizon),
            self.time_col: np.concatenate(
                [series.future_times(index, self.horizon) for index in range(len(series))]
            ),
            "y_hat": outputs[:, 0].ravel(),
        }
        for index, level in enumerate(self.quantiles_):
            frame[f"y_hat_q{round(level * 100):g}"] = bands[:, index].ravel()
        return pd.DataFrame(frame)

    def _outputs(self, inputs: np.ndarray) -> np.ndarray:
        # a direct call, not predict_on_batch: a search forecasts after every epoch of
        # every trial, and each new model would trace (and warn about) a predict function
        outputs = ops.convert_to_numpy(self.model_(inputs, training=False))
        return np.asarray(outputs, dtype=np.float64)

    def _direct_outputs(self, series: SeriesSet, scaler: SeriesScaler, X_future: Any) -> np.ndarray:
        """All ``horizon`` steps (and quantiles) in one call, ``(n_series, 1 + n_quantiles,
        horizon)``, in the series scaler's units."""
        inputs, centre, scale = self.windows_.last_inputs(
            scaler.transform(series.values),
            *self.covariate_scaler_.transform(series.dynamic(), series.static_matrix()),
            self._future_covariates(X_future, series),
        )
        outputs = self._outputs(inputs).reshape(len(series), 1 + len(self.quantiles_), -1)
        # back from the window scaling; it is increasing, so the quantiles' order holds
        return outputs * scale[:, :, None] + centre[:, :, None]

    def _recursive_outputs(self, series: SeriesSet, scaler: SeriesScaler) -> np.ndarray:
        """One step at a time, each forecast appended to the history the next step reads,
        ``(n_series, 1, horizon)``."""
        histories = scaler.transform(series.values)
        steps = []
        for _ in range(self.horizon):
            inputs, centre, scale = self.windows_.last_inputs(histories)
            step = self._outputs(inputs)[:, :1] * scale + centre
            histories = [np.append(h, s) for h, s in zip(histories, step[:, 0], strict=True)]
            steps.append(step)
        return np.concatenate(steps, axis=1)[:, None, :]

    def fitted_state(self) -> dict[str, Any]:
        """The fitted attributes as plain data (an export), model weights aside.

        The series keep only their last ``input_size`` values: what :meth:`predict`
        reads, with the scaler's statistics of the whole history.
        """
        check_is_fitted(self, "model_")
        return {
            **self.windows_.to_dict(),
            "quantiles": list(self.quantiles_),
            "season_length": self.season_length_,
            "scaler": self.scaler_.to_dict(),
            "covariate_scaler": self.covariate_scaler_.to_dict(),
            "series": self.series_.to_dict(self.windows_.input_size),
            "history": self.history_,
            "device": getattr(self, "device_", "unknown"),
        }

    def restore_fitted_state(self, state: dict[str, Any], model: Any) -> GRUForecaster:
        """Set the fitted attributes from :meth:`fitted_state`'s data and a loaded model,
        checking every value and that the model's input and output fit them."""
        windows = ForecastWindows.from_dict(state)
        if windows.horizon != (self.horizon if self.strategy == "direct" else 1):
            raise ValueError(
                f"a {self.strategy} forecaster of horizon {self.horizon} cannot hold a model "
                f"of {windows.horizon} step(s)"
            )
        levels = tuple(float(q) for q in state["quantiles"])
        if not all(0.0 < q < 1.0 for q in levels) or list(levels) != sorted(set(levels)):
            raise ValueError(f"quantiles must be sorted distinct levels in (0, 1), got {levels}")
        series = SeriesSet.from_dict(state["series"])
        if not windows.pad_short and any(len(v) < windows.input_size for v in series.values):
            raise ValueError(f"every stored series needs {windows.input_size} values")
        inputs = tuple(model.inputs[0].shape[1:])
        outputs = int(model.outputs[0].shape[-1])
        if inputs != windows.model_input_shape or outputs != windows.horizon * (1 + len(levels)):
            raise ValueError(
                f"input_size {windows.input_size}, horizon {windows.horizon} and "
                f"{len(levels)} quantile(s) need a model of input {windows.model_input_shape} "
                f"and {windows.horizon * (1 + len(levels))} outputs; the model has {inputs} "
                f"and {outputs}"
            )
        self.windows_ = windows
        self.quantiles_ = levels
        self.season_length_ = checked_count(state["season_length"], "season_length", 1)
        self.scaler_ = SeriesScaler.from_dict(state["scaler"], len(series))
        n_dynamic = windows.n_past + windows.n_future
        if len(series.covariate_names) != n_dynamic or len(series.static_names) != windows.n_static:
            raise ValueError("the stored series' covariates do not match the model's")
        self.covariate_scaler_ = CovariateScaler.from_dict(
            state.get("covariate_scaler", CovariateScaler.fit([], np.zeros((0, 0))).to_dict()),
            n_dynamic,
            windows.n_static,
        )
        self.series_ = series
        self.n_series_ = len(series)
        self.history_ = {
            str(k): [float(v) for v in values] for k, values in dict(state["history"]).items()
        }
        self.device_ = str(state.get("device", "unknown"))  # older exports did not say
        self.model_ = model
        return self

    def _resolve_season_length(self, series: SeriesSet) -> int:
        if self.season_length != "auto":
            return int(self.season_length)
        seasons = {season_length_of(step) for step in series.steps}
        return seasons.pop() if len(seasons) == 1 else 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.target_tags.required = False
        return tags


__all__ = [
    "FORECASTER_NOT_SEARCHABLE",
    "ForecastDataError",
    "ForecastLoss",
    "ForecastWindows",
    "GRUForecaster",
    "SeriesScaler",
    "SeriesSet",
    "check_series",
    "forecaster_constraints",
    "forecaster_searchable_parameters",
    "season_length_of",
]
