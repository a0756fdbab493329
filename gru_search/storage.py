"""Optuna storages set up for several readers and writers at once.

SQLite: the file is switched to write-ahead logging (readers such as optuna-dashboard no
longer block the study's writes; the setting persists in the file) and every connection
waits up to :data:`SQLITE_BUSY_TIMEOUT` seconds for a lock instead of failing with
"database is locked" after SQLite's default 5 s (optuna-dashboard issue #545).
"""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Any

import optuna

from gru_search.exceptions import StorageError

SQLITE_BUSY_TIMEOUT = 60.0
#: Seconds between heartbeats of a running trial on an RDB storage.
HEARTBEAT_INTERVAL = 20


def _parsed(url: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database, whatever its driver (``sqlite+pysqlite``)."""
    parsed = _parsed(url)
    return parsed is not None and parsed.get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (any driver), or None for other URLs and in-memory SQLite."""
    parsed = _parsed(url)
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:") or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def make_storage(
    storage: Any,
    *,
    heartbeat_interval: int | None = HEARTBEAT_INTERVAL,
    grace_period: int | None = None,
    create_tables: bool = True,
) -> Any:
    """An Optuna storage for ``storage``.

    None and storage objects pass through. URLs become an
    :class:`optuna.storages.RDBStorage` whose running trials send a heartbeat every
    ``heartbeat_interval`` seconds; a trial silent for ``grace_period`` seconds (default
    three intervals) is marked FAIL by the next worker that looks and re-queued once more
    (up to three times) with the same parameters. SQLite is tuned as the module describes.
    ``create_tables=False`` never creates the schema: workers joining an existing study use
    it, so that many of them starting at once cannot race on ``CREATE TABLE`` (Optuna
    issues #1092, #4621).
    """
    if storage is None or not isinstance(storage, str):
        return storage
    options: dict[str, Any] = {"skip_table_creation": not create_tables}
    if heartbeat_interval:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
        options.update(
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period or 3 * heartbeat_interval,
            heartbeat_stale_trial_callback=retry,
        )
    if _parsed(storage) is None:
        raise StorageError(
            f"cannot open storage {redact(storage)}: not a database URL; expected e.g. "
            "sqlite:///study.db or postgresql://user:password@host/db"
        )
    path = sqlite_path(storage)
    if path is not None:
        if not path.parent.is_dir():
            raise StorageError(
                f"cannot open storage {storage}: folder {path.parent} does not exist"
            )
        if path.is_dir():
            raise StorageError(f"cannot open storage {storage}: {path} is a folder, not a file")
        connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
        options["engine_kwargs"] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(storage, **options)
    except Exception as error:  # SQLAlchemy and the drivers raise many types
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise StorageError(f"cannot open storage {redact(storage)}: {reason}") from None


def release_connections(storage: Any) -> None:
    """Close the pooled database connections of ``storage`` (a storage or a study).

    SQLAlchemy keeps every connection it opened in a pool until its engine is garbage
    collected; a long notebook session or test run that opens many studies would otherwise
    hold dozens of idle connections and can exhaust PostgreSQL's ``max_connections``. The
    storage stays usable: the next query opens a fresh connection.
    """
    storage = getattr(storage, "_storage", storage)  # a Study: Optuna has no public accessor
    storage = getattr(storage, "_backend", storage)  # Optuna's _CachedStorage wrapper
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs.

    SQLAlchemy's own rendering where it parses the URL (a password given as a query
    parameter, ``?password=``, is hidden too); a plain text fallback where it does not.
    """
    parsed = _parsed(url)
    if parsed is not None:
        if parsed.password is None and "password" not in parsed.query:
            return url  # nothing to hide: keep it as the user wrote it
        if "password" in parsed.query:
            parsed = parsed.update_query_dict({"password": "***"})
        return parsed.render_as_string(hide_password=True)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if has_password else ''}@{host}"
