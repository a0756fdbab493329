"""The errors gru-search raises for users' mistakes, under one base class.

Every class here derives from :class:`GRUSearchError` (and from :class:`ValueError`, as
they always have, so existing ``except ValueError`` code keeps working). The command line
prints any of them as one line and exits with status 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations


class GRUSearchError(ValueError):
    """Base class of every user-facing gru-search error; the message says what to fix."""


class DataError(GRUSearchError):
    """Data that cannot be loaded or used; the message says what was expected."""


class ForecastDataError(GRUSearchError):
    """Series that cannot be forecast as given (gaps, duplicates, NaN, too short, missing
    covariates...); the message names the series."""


class SpaceError(GRUSearchError):
    """A search-space file that does not validate; the message names file, key and rule."""


class ExportError(GRUSearchError):
    """A folder that is not a valid gru-search export, or one that cannot be written."""


class StorageError(GRUSearchError):
    """A storage URL that cannot be opened; the message names it (password hidden) and why."""


class StudyNameTakenError(GRUSearchError, ValueError):
    """A name gru-search gives a study of its own (``NAME:finalists``) belongs to another."""


class StudyMismatchError(GRUSearchError):
    """An existing study was created for a different space, task, metric or validation."""


class SearchFailedError(GRUSearchError):
    """Every trial of a search failed; the message gives the most common reason."""


class TrialProcessError(GRUSearchError):
    """A trial process died before it could finish a trial; the message says why."""


class CommandError(GRUSearchError):
    """A command-line mistake (a bad path, port or combination of options)."""


__all__ = [
    "CommandError",
    "DataError",
    "ExportError",
    "ForecastDataError",
    "GRUSearchError",
    "SearchFailedError",
    "SpaceError",
    "StorageError",
    "StudyMismatchError",
    "StudyNameTakenError",
    "TrialProcessError",
]
