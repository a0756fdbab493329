"""Optuna storages set up for several readers and writers at once.

SQLite: the file is switched to write-ahead logging (readers such as optuna-dashboard no
longer block the study's writes; the setting persists in the file) and every connection
waits up to :data:`SQLITE_BUSY_TIMEOUT` seconds for a lock instead of failing with
"database is locked" after SQLite's default 5 s (optuna-dashboard issue #545).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import optuna

SQLITE_BUSY_TIMEOUT = 60.0


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for other URLs and in-memory SQLite."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        return None
    return Path(url[len(prefix) :])


def make_storage(storage: Any) -> Any:
    """An Optuna storage for ``storage``: None and storage objects pass through; URLs become
    an :class:`optuna.storages.RDBStorage` (SQLite tuned as described in the module)."""
    if storage is None or not isinstance(storage, str):
        return storage
    path = sqlite_path(storage)
    if path is None:
        try:
            return optuna.storages.RDBStorage(storage)
        except Exception as error:  # SQLAlchemy and drivers raise many types
            raise StorageError(f"cannot open storage {storage}: {error}") from None
    if not path.parent.is_dir():
        raise StorageError(f"cannot open storage {storage}: folder {path.parent} does not exist")
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    return optuna.storages.RDBStorage(
        storage, engine_kwargs={"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    )


class StorageError(ValueError):
    """A storage URL that cannot be opened; the message names it and why."""
