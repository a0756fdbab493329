"""Forecasting one or many series with one GRU (a global model): :class:`GRUForecaster`.

Input is a long table, one row per series and time stamp (``unique_id``, ``ds``, ``y``,
the layout of Nixtla's libraries), or a list of 1-D arrays (one per series, time stamps
0, 1, ...). Series are cut into windows of ``input_size`` past values followed by
``horizon`` future values, each window scaled by its own past (or each series by its
history), and one GRU learns to map a window's past to its whole future at once (direct
multi-step). ``predict`` returns the next ``horizon`` values after each series' last time
stamp, in the series' own units; with ``quantiles``, prediction quantiles as well
(pinball loss).

Not here yet (issue 14): exogenous and static columns, a recursive strategy, the
rolling-origin search, the CLI and the export format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from keras import ops
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gru_search.cells import VARIANTS
from gru_search.exceptions import GRUSearchError
from gru_search.feeding import fit_arguments
from gru_search.model import GRUConfig, build_model
from gru_search.seeding import seeded

SERIES_SCALINGS = ("window", "standard", "robust", "none")
_MAX_SEED = 2**31 - 1


class ForecastDataError(GRUSearchError):
    """Series that cannot be forecast as given (gaps, duplicates, NaN, too short...)."""


@dataclass(frozen=True)
class SeriesSet:
    """Validated series: ids, values and time stamps, in the order of first appearance.

    ``steps[i]`` is series ``i``'s time step: an integer for integer time stamps, a
    pandas offset for dates.
    """

    ids: tuple[Any, ...]
    values: tuple[np.ndarray, ...]
    times: tuple[np.ndarray, ...]
    steps: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def future_times(self, index: int, horizon: int) -> np.ndarray:
        """The ``horizon`` time stamps after series ``index``'s last one."""
        last, step = self.times[index][-1], self.steps[index]
        if isinstance(step, (int, np.integer)):
            return last + step * np.arange(1, horizon + 1)
        return pd.date_range(start=last, periods=horizon + 1, freq=step)[1:].to_numpy()


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
    X: Any, *, id_col: str = "unique_id", time_col: str = "ds", target_col: str = "y"
) -> SeriesSet:
    """Validate a long table or a list of 1-D arrays into a :class:`SeriesSet`.

    Raises
    ------
    ForecastDataError
        Missing columns, NaN targets or ids, duplicate time stamps, gaps; the message
        names the series.
    """
    if isinstance(X, pd.DataFrame):
        missing = [c for c in (id_col, time_col, target_col) if c not in X.columns]
        if missing:
            raise ForecastDataError(
                f"the table has no column {missing[0]!r}; expected columns {id_col!r}, "
                f"{time_col!r} and {target_col!r} (one row per series and time stamp), "
                f"got {list(X.columns)}"
            )
        if X[id_col].isna().any():
            raise ForecastDataError(f"column {id_col!r} has missing series ids")
        if X.empty:
            raise ForecastDataError("the table has no rows")
        ids, values, times, steps = [], [], [], []
        for name, rows in X.groupby(id_col, sort=False):
            rows = rows.sort_values(time_col, kind="stable")
            stamps = rows[time_col].to_numpy()
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
        return SeriesSet(tuple(ids), tuple(values), tuple(times), tuple(steps))
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
    """

    input_size: int
    horizon: int
    scale_windows: bool = False

    @property
    def model_input_shape(self) -> tuple[int, int]:
        return (self.input_size, 1)

    def _window_stats(self, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.scale_windows:
            return np.zeros((len(past), 1)), np.ones((len(past), 1))
        centre = past.mean(axis=1, keepdims=True)
        scale = past.std(axis=1, keepdims=True)
        return centre, np.where(scale < 1e-8, 1.0, scale)

    def training_rows(self, series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs (n, input_size, 1), targets (n, horizon))`` of every window."""
        span = self.input_size + self.horizon
        windows = np.concatenate(
            [np.lib.stride_tricks.sliding_window_view(values, span) for values in series]
        )
        past, future = windows[:, : self.input_size], windows[:, self.input_size :]
        centre, scale = self._window_stats(past)
        return (
            ((past - centre) / scale)[..., None].astype(np.float32),
            ((future - centre) / scale).astype(np.float32),
        )

    def last_inputs(
        self, series: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The input that forecasts past each series' end, ``(n_series, input_size, 1)``,
        with the centre and scale that turn the model's outputs back (``(n_series, 1)``)."""
        past = np.stack([s[-self.input_size :] for s in series])
        centre, scale = self._window_stats(past)
        return ((past - centre) / scale)[..., None].astype(np.float32), centre, scale


FORECAST_LOSSES = ("mse", "mae")


def forecast_loss(point: str, quantiles: Sequence[float]) -> Any:
    """The point forecast's loss (``"mse"`` or ``"mae"``) plus each quantile's pinball loss.

    The model's output row is the ``horizon`` point forecasts followed by ``horizon``
    values per quantile; ``y_true`` holds the ``horizon`` actual values.
    """
    levels = np.asarray(quantiles, dtype="float32")[None, :, None]

    def loss(y_true: Any, y_pred: Any) -> Any:
        horizon = ops.shape(y_true)[-1]
        error = y_true - y_pred[:, :horizon]
        total = ops.mean(ops.square(error) if point == "mse" else ops.abs(error), axis=-1)
        if len(quantiles):
            spread = ops.reshape(y_pred[:, horizon:], (-1, len(quantiles), horizon))
            below = ops.expand_dims(y_true, 1) - spread
            pinball = ops.maximum(levels * below, (levels - 1.0) * below)
            total = total + ops.mean(pinball, axis=(1, 2))
        return total

    return loss


class GRUForecaster(BaseEstimator):
    """Forecast the next ``horizon`` values of one or many series with one GRU.

    Parameters
    ----------
    horizon : int, default=1
        Steps to forecast after each series' end.
    input_size : int or "auto", default="auto"
        Past values the model reads (the window). ``"auto"``: 2 x ``horizon``, shortened
        when the shortest series could not otherwise give one training window.
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
    epochs : int, default=50
    loss : {"mse", "mae"}, default="mae"
        Loss of the point forecast (on scaled values): squared error (the mean) or
        absolute error (the median, which scale-free errors such as MASE reward).
    quantiles : tuple of float or None, default=None
        Levels in (0, 1) of prediction quantiles (``(0.1, 0.9)`` for an 80 % interval),
        learned with the pinball loss beside the point forecast; ``predict`` adds a column
        ``y_hat_q10`` (etc.) per level, sorted so that they never cross.
    id_col, time_col, target_col : str, default="unique_id", "ds", "y"
        Column names of a long table.
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
    n_series_ : int
    """

    _parameter_constraints: ClassVar[dict] = {
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "input_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "scaling": [StrOptions(set(SERIES_SCALINGS))],
        "units": [tuple, list],
        "cell": [StrOptions(set(VARIANTS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(FORECAST_LOSSES))],
        "quantiles": [tuple, list, None],
        "id_col": [str],
        "time_col": [str],
        "target_col": [str],
        "jit_compile": ["boolean", StrOptions({"auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        horizon: int = 1,
        *,
        input_size: int | str = "auto",
        scaling: str = "window",
        units: tuple[int, ...] = (64,),
        cell: str = "gru",
        dropout: float = 0.0,
        learning_rate: float = 3e-3,
        batch_size: int = 32,
        epochs: int = 50,
        loss: str = "mae",
        quantiles: Sequence[float] | None = None,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        jit_compile: bool | str = "auto",
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.horizon = horizon
        self.input_size = input_size
        self.scaling = scaling
        self.units = units
        self.cell = cell
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.loss = loss
        self.quantiles = quantiles
        self.id_col = id_col
        self.time_col = time_col
        self.target_col = target_col
        self.jit_compile = jit_compile
        self.random_state = random_state
        self.verbose = verbose

    def _series(self, X: Any) -> SeriesSet:
        return check_series(
            X, id_col=self.id_col, time_col=self.time_col, target_col=self.target_col
        )

    def _resolve_input_size(self, series: SeriesSet) -> int:
        shortest = min(len(v) for v in series.values)
        if self.input_size != "auto":
            return int(self.input_size)
        return max(1, min(2 * self.horizon, shortest - self.horizon))

    def _levels(self) -> tuple[float, ...]:
        levels = tuple(float(q) for q in (self.quantiles or ()))
        if not all(0.0 < q < 1.0 for q in levels) or len(set(levels)) != len(levels):
            raise ValueError(
                f"quantiles must be distinct levels in (0, 1), got {list(self.quantiles)}"
            )
        return tuple(sorted(levels))

    def _check_lengths(self, series: SeriesSet, needed: int, what: str) -> None:
        for name, values in zip(series.ids, series.values, strict=True):
            if len(values) < needed:
                raise ForecastDataError(
                    f"series {name!r} has {len(values)} values; {what} need at least {needed}"
                )

    def fit(self, X: Any, y: None = None) -> GRUForecaster:
        """Train on every window of every series.

        Parameters
        ----------
        X : DataFrame (long: id, time, target columns) or list of 1-D arrays
        y : None
            Unused; the targets are the series themselves.

        Returns
        -------
        self
        """
        self._validate_params()
        levels = self._levels()
        series = self._series(X)
        input_size = self._resolve_input_size(series)
        self._check_lengths(
            series,
            input_size + self.horizon,
            f"input_size {input_size} + horizon {self.horizon}",
        )
        windows = ForecastWindows(input_size, self.horizon, self.scaling == "window")
        scaler = SeriesScaler.fit(series.values, self.scaling)
        inputs, targets = windows.training_rows(scaler.transform(series.values))
        seed = int(check_random_state(self.random_state).randint(_MAX_SEED))
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
                n_outputs=self.horizon * (1 + len(levels)),
                loss=forecast_loss(self.loss, levels),
            )
            history = self.model_.fit(
                **fit_arguments(
                    inputs,
                    targets,
                    np.ones(len(targets), dtype=np.float32),
                    batch_size=min(self.batch_size, len(targets)),
                    seed=seed,
                ),
                epochs=self.epochs,
                verbose=self.verbose,
            )
        self.windows_ = windows
        self.quantiles_ = levels
        self.scaler_ = scaler
        self.series_ = series
        self.n_series_ = len(series)
        self.history_ = {k: [float(v) for v in values] for k, values in history.history.items()}
        return self

    def predict(self, X: Any = None) -> pd.DataFrame:
        """The next ``horizon`` values after each series' end.

        Parameters
        ----------
        X : DataFrame or list of 1-D arrays, optional
            Histories to forecast from (each at least ``input_size`` values, scaled by its
            own statistics). None: the training series.

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
            self._check_lengths(
                series, self.windows_.input_size, f"input_size {self.windows_.input_size}"
            )
            scaler = SeriesScaler.fit(series.values, self.scaling)
        inputs, centre, scale = self.windows_.last_inputs(scaler.transform(series.values))
        outputs = np.asarray(self.model_.predict_on_batch(inputs), dtype=np.float64)
        outputs = outputs.reshape(len(series), 1 + len(self.quantiles_), self.horizon)
        # back to each series' units; both scalings are increasing, so the order holds
        outputs = outputs * scale[:, :, None] + centre[:, :, None]
        outputs = outputs * scaler.scale[:, None, None] + scaler.centre[:, None, None]
        bands = np.sort(outputs[:, 1:, :], axis=1)  # quantiles must not cross
        frames = []
        for index, name in enumerate(series.ids):
            frame = {
                self.id_col: [name] * self.horizon,
                self.time_col: series.future_times(index, self.horizon),
                "y_hat": outputs[index, 0],
            }
            for level, band in zip(self.quantiles_, bands[index], strict=True):
                frame[f"y_hat_q{round(level * 100):g}"] = band
            frames.append(pd.DataFrame(frame))
        return pd.concat(frames, ignore_index=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.target_tags.required = False
        return tags


__all__ = [
    "ForecastDataError",
    "ForecastWindows",
    "GRUForecaster",
    "SeriesScaler",
    "SeriesSet",
    "check_series",
]
