"""Covariates of forecast series: past-only, future-known and static columns.

A long table may carry, beside each series' target, columns that help forecast it:

- *past* covariates (``past_exog``), known up to each series' end only (a sensor beside
  the one forecast, yesterday's sales of a related product);
- *future* covariates (``future_exog``), known in advance over the horizon too (calendar
  effects, planned prices or promotions): :meth:`GRUForecaster.predict` needs their values
  at the ``horizon`` time stamps after each series' end (``X_future``);
- *static* covariates (``static_exog``), one value per series (a store's size, a region
  code), constant over its rows.

All are numbers, standardised per column by their training mean and standard deviation
(over every series: a covariate means the same thing in every series). How they reach
the GRU: see :class:`gru_search.forecasting.ForecastWindows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gru_search.exceptions import ForecastDataError
from gru_search.preprocessing import checked_numbers


@dataclass(frozen=True)
class CovariateColumns:
    """The covariate column names of one forecaster, by kind."""

    past: tuple[str, ...] = ()
    future: tuple[str, ...] = ()
    static: tuple[str, ...] = ()

    @classmethod
    def of(cls, past: Any, future: Any, static: Any) -> CovariateColumns:
        """Checked column lists (None for none): strings, no name twice."""
        columns = cls(
            _names(past, "past_exog"), _names(future, "future_exog"), _names(static, "static_exog")
        )
        every = columns.dynamic + columns.static
        repeated = sorted({name for name in every if every.count(name) > 1})
        if repeated:
            raise ForecastDataError(
                f"column {repeated[0]!r} is named more than once among past_exog, "
                "future_exog and static_exog; each covariate has one kind"
            )
        return columns

    @property
    def dynamic(self) -> tuple[str, ...]:
        """Past then future columns: the per-time-stamp values a series carries."""
        return self.past + self.future

    def __bool__(self) -> bool:
        return bool(self.past or self.future or self.static)


def _names(value: Any, parameter: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ForecastDataError(f"{parameter} must be a list of column names, got {value!r}")
    return tuple(value)


def _numbers(rows: pd.DataFrame, column: str, series: Any, time_col: str) -> np.ndarray:
    values = pd.to_numeric(rows[column], errors="coerce").to_numpy(np.float64)
    if not np.all(np.isfinite(values)):
        at = rows[time_col].to_numpy()[~np.isfinite(values)][0]
        raise ForecastDataError(
            f"series {series!r} has a missing or non-numeric covariate {column!r} at "
            f"{time_col} = {at}; covariates must be numbers at every time stamp (encode "
            "categories as numbers, fill gaps first)"
        )
    return values


def dynamic_values(
    rows: pd.DataFrame, columns: Sequence[str], series: Any, time_col: str
) -> np.ndarray:
    """One series' (time-sorted) covariate values, ``(n_rows, len(columns))``."""
    if not columns:
        return np.zeros((len(rows), 0))
    return np.stack([_numbers(rows, c, series, time_col) for c in columns], axis=1)


def static_values(
    rows: pd.DataFrame, columns: Sequence[str], series: Any, time_col: str
) -> np.ndarray:
    """One series' static covariates, ``(len(columns),)``; each must be constant."""
    values = []
    for column in columns:
        column_values = _numbers(rows, column, series, time_col)
        if np.ptp(column_values) > 0:
            raise ForecastDataError(
                f"series {series!r} has more than one value of static covariate {column!r} "
                f"({column_values.min():g} to {column_values.max():g}); a static covariate "
                "is one value per series (pass it as past_exog or future_exog instead)"
            )
        values.append(column_values[0])
    return np.asarray(values, dtype=np.float64)


def missing_columns(frame: pd.DataFrame, columns: CovariateColumns) -> None:
    """Raise when ``frame`` lacks a covariate column, naming it and its kind."""
    for kind, names in (
        ("past_exog", columns.past),
        ("future_exog", columns.future),
        ("static_exog", columns.static),
    ):
        absent = [name for name in names if name not in frame.columns]
        if absent:
            raise ForecastDataError(
                f"the table has no column {absent[0]!r} (named in {kind}); got columns "
                f"{list(frame.columns)}"
            )


def future_rows(
    X_future: pd.DataFrame,
    columns: Sequence[str],
    ids: Sequence[Any],
    future_times: Sequence[np.ndarray],
    *,
    id_col: str,
    time_col: str,
    source: str = "X_future",
) -> tuple[np.ndarray, ...]:
    """The future covariates at each series' forecast time stamps, ``(horizon, k)`` each.

    ``X_future`` is a long table (id, time and the future covariate columns); rows at
    other time stamps or of other series are ignored. ``source`` names it in errors (the
    command line says ``--future FILE``).
    """
    if not isinstance(X_future, pd.DataFrame):
        raise ForecastDataError(
            f"{source} must be a DataFrame with columns {id_col!r}, {time_col!r} and "
            f"{list(columns)}, got {type(X_future).__name__}"
        )
    absent = [c for c in (id_col, time_col, *columns) if c not in X_future.columns]
    if absent:
        raise ForecastDataError(
            f"{source} has no column {absent[0]!r}; expected {id_col!r}, {time_col!r} and the "
            f"future covariates {list(columns)}, got {list(X_future.columns)}"
        )
    groups = dict(tuple(X_future.groupby(id_col, sort=False)))
    result = []
    for name, times in zip(ids, future_times, strict=True):
        if name not in groups:
            raise ForecastDataError(
                f"{source} has no rows for series {name!r}; expected its future covariates "
                f"at the {len(times)} time stamps after its end, from {_shown(times[0])}"
            )
        rows = groups[name]
        stamps = rows[time_col].to_numpy()
        if np.issubdtype(np.asarray(times).dtype, np.datetime64):
            stamps = pd.to_datetime(stamps).to_numpy().astype("datetime64[ns]")
        position = pd.Index(stamps)
        if position.has_duplicates:
            raise ForecastDataError(f"{source} has more than one row per time stamp of {name!r}")
        absent_times = [t for t in times if t not in position]
        if absent_times:
            raise ForecastDataError(
                f"{source} has no row for series {name!r} at {time_col} = "
                f"{_shown(absent_times[0])}; "
                f"expected rows at the {len(times)} time stamps after its end"
            )
        chosen = rows.iloc[position.get_indexer(times)]
        result.append(dynamic_values(chosen, columns, name, time_col))
    return tuple(result)


def _shown(stamp: Any) -> str:
    """A time stamp as a user wrote it: a date, a date and time, or an integer."""
    if isinstance(stamp, np.datetime64):
        stamp = pd.Timestamp(stamp)
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    return str(stamp)


@dataclass(frozen=True)
class CovariateScaler:
    """Each covariate column's training mean and standard deviation (1 when constant)."""

    centre: np.ndarray
    scale: np.ndarray
    static_centre: np.ndarray
    static_scale: np.ndarray

    @classmethod
    def fit(cls, dynamic: Sequence[np.ndarray], statics: np.ndarray) -> CovariateScaler:
        rows = np.concatenate(dynamic) if dynamic else np.zeros((0, 0))
        centre, scale = _moments(rows)
        static_centre, static_scale = _moments(statics)
        return cls(centre, scale, static_centre, static_scale)

    def transform(
        self, dynamic: Sequence[np.ndarray], statics: np.ndarray
    ) -> tuple[list[np.ndarray], np.ndarray]:
        return (
            [(d - self.centre) / self.scale for d in dynamic],
            (statics - self.static_centre) / self.static_scale,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k).tolist() for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, state: dict[str, Any], n_dynamic: int, n_static: int) -> CovariateScaler:
        """The inverse of :meth:`to_dict`, every value checked (ValueError otherwise)."""
        return cls(
            checked_numbers(state["centre"], "covariate centre", n_dynamic),
            checked_numbers(state["scale"], "covariate scale", n_dynamic, positive=True),
            checked_numbers(state["static_centre"], "static covariate centre", n_static),
            checked_numbers(
                state["static_scale"], "static covariate scale", n_static, positive=True
            ),
        )


def _moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if rows.size == 0:
        width = rows.shape[1] if rows.ndim == 2 else 0
        return np.zeros(width), np.ones(width)
    scale = rows.std(axis=0)
    return rows.mean(axis=0), np.where(scale < 1e-12, 1.0, scale)


__all__ = [
    "CovariateColumns",
    "CovariateScaler",
    "dynamic_values",
    "future_rows",
    "missing_columns",
    "static_values",
]
