"""Series for the forecasting command line: long tables and aeon's shipped series.

``--data`` is a long CSV or Parquet file (one row per series and time stamp: id, time and
target columns, Nixtla's ``unique_id``, ``ds``, ``y`` by default), or ``aeon:NAME`` for a
forecasting series shipped inside aeon (no download): ``aeon:airline`` (monthly
passengers, 1949-1960), or a Monash ``.tsf`` set such as ``aeon:m1_yearly_dataset``.
``--future`` is a table of future covariates (id, time and the ``--future-exog`` columns
at the next ``--horizon`` time stamps of every series).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from gru_search.exceptions import DataError

#: Pandas frequencies of the Monash ``.tsf`` frequency names.
_TSF_FREQUENCIES = {
    "yearly": "YS",
    "quarterly": "QS",
    "monthly": "MS",
    "weekly": "W",
    "daily": "D",
    "hourly": "h",
}


def load_series(
    source: str, *, id_col: str = "unique_id", time_col: str = "ds", target_col: str = "y"
) -> tuple[pd.DataFrame, str]:
    """A long table of series and a short name for it (study and folder names).

    Raises
    ------
    DataError
        A missing or unreadable file, an unknown aeon name, or a table without the named
        columns; the message says what was expected.
    """
    if source.startswith("aeon:"):
        frame = _aeon_series(source[len("aeon:") :])
        return frame.rename(columns={"unique_id": id_col, "ds": time_col, "y": target_col}), (
            source[len("aeon:") :]
        )
    frame = _read_table(
        source,
        "--data",
        (id_col, time_col, target_col),
        "Name the columns with --series, --time and --target (defaults unique_id, ds, y)",
        f"a long CSV/Parquet table (columns {id_col}, {time_col}, {target_col}) or aeon:airline",
    )
    return _with_dates(frame, time_col), Path(source).stem


def load_future(source: str, *, id_col: str, time_col: str, columns: Sequence[str]) -> pd.DataFrame:
    """A table of future covariates (``--future``): id, time and ``columns``, one row per
    series and future time stamp.

    Raises
    ------
    DataError
        A missing or unreadable file, or a table without the named columns.
    """
    needed = (id_col, time_col, *columns)
    frame = _read_table(
        source,
        "--future",
        needed,
        "It needs the future covariates (--future-exog) at the next --horizon time stamps "
        "of every series",
        f"a CSV/Parquet table with columns {', '.join(needed)}",
    )
    return _with_dates(frame, time_col)


def _read_table(
    source: str, option: str, needed: Sequence[str], hint: str, expected: str
) -> pd.DataFrame:
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{option} {source}: no such file; expected {expected}")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix.lower() == ".csv":
            frame = pd.read_csv(path)
        else:
            raise DataError(f"{option} {source}: expected a .csv or .parquet file")
    except (ValueError, OSError, ImportError) as error:
        raise DataError(f"{option} {source}: cannot read it: {error}") from None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{option} {source} has no column {missing[0]!r}; it has {list(frame.columns)}. " + hint
        )
    return frame


def _with_dates(frame: pd.DataFrame, time_col: str) -> pd.DataFrame:
    column = frame[time_col]
    # dates in a CSV arrive as text: object dtype on pandas 2, str on pandas 3
    if not pd.api.types.is_datetime64_any_dtype(column) and pd.api.types.is_string_dtype(column):
        parsed = pd.to_datetime(frame[time_col], errors="coerce")
        if parsed.notna().all():
            frame[time_col] = parsed
    return frame


def _aeon_series(name: str) -> pd.DataFrame:
    import aeon.datasets

    if name.lower() == "airline":
        path = Path(aeon.datasets.__file__).parent / "data" / "Airline" / "Airline.csv"
        table = pd.read_csv(path)
        return pd.DataFrame(
            {
                "unique_id": "airline",
                "ds": pd.to_datetime(table["Date"]),
                "y": table["Passengers"].astype(float),
            }
        )
    try:
        table, metadata = aeon.datasets.load_forecasting(name, return_metadata=True)
    except Exception as error:  # aeon raises several types for an unknown or absent name
        raise DataError(
            f"aeon:{name}: not a forecasting dataset shipped with aeon ({error}); try "
            "aeon:airline or aeon:m1_yearly_dataset"
        ) from None
    frequency = _TSF_FREQUENCIES.get(str(metadata.get("frequency")))
    frames = []
    for _, row in table.iterrows():
        values = pd.Series(row["series_value"], dtype=float).to_numpy()
        if frequency and "start_timestamp" in row:
            stamps = pd.date_range(row["start_timestamp"], periods=len(values), freq=frequency)
        else:
            stamps = range(len(values))
        frames.append(pd.DataFrame({"unique_id": row["series_name"], "ds": stamps, "y": values}))
    return pd.concat(frames, ignore_index=True)


__all__ = ["load_future", "load_series"]
