"""A request to stop the running trial at its next safe point.

A worker's SIGTERM/SIGINT handler must not raise inside the trial: the signal can land
while the trial is inside a storage query (reporting an epoch, say), and an exception
there leaves the database connection mid-command ("another command is already in
progress"). The handler only records the request; the training loop checks it after
every batch (:class:`gru_search.trials.EpochReporter` stops Keras), and the trial raises
:class:`WorkerStopped` between training runs, where no query is in flight.
"""

from __future__ import annotations

_reason: str | None = None


class WorkerStopped(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a running trial, at a safe point, after SIGTERM or SIGINT reached its worker."""


def request_stop(reason: str) -> None:
    """Ask the running trial to stop; ``reason`` names the signal (e.g. ``"SIGTERM"``)."""
    global _reason
    _reason = reason


def withdraw_stop_request() -> None:
    """Forget a request (the worker loop that made it has ended)."""
    global _reason
    _reason = None


def stop_requested() -> str | None:
    """The reason of the pending request, or None."""
    return _reason


def raise_if_stop_requested() -> None:
    """Raise :class:`WorkerStopped` when a stop was requested."""
    if _reason is not None:
        raise WorkerStopped(_reason)
