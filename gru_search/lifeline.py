"""Child processes that never outlive their parent, and SIGTERM handled like Ctrl-C.

Trial processes and local workers watch the process that started them: when it is gone
(SIGKILL, a crash, a closed terminal) the child interrupts itself as Ctrl-C would, so
Optuna marks its running trial failed, and it exits; a child that does not manage to
within :data:`EXIT_GRACE_SECONDS` is ended outright. A parent that receives SIGTERM
treats it as Ctrl-C, which stops and waits for its children the same way.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

#: Environment variable naming the process a worker must not outlive.
PARENT_PID_VARIABLE = "GRU_SEARCH_PARENT_PID"
#: Seconds between checks that the parent is still there.
POLL_SECONDS = 0.5
#: Seconds a child has, after its parent died, to fail its trial before it is ended.
EXIT_GRACE_SECONDS = 15.0


def _parent_alive(parent_pid: int) -> bool:
    # an orphan is adopted by init or a subreaper: its parent id changes
    return os.getppid() == parent_pid


def exit_with_parent(parent_pid: int | None = None) -> threading.Thread | None:
    """Start a daemon thread that interrupts this process once ``parent_pid`` is gone.

    Parameters
    ----------
    parent_pid : int, optional
        The process to outlive by at most a few seconds; default: the current parent.

    Returns
    -------
    threading.Thread or None
        The watching thread, or None when there is nothing to watch (no parent, or the
        parent already gone, in which case this process is interrupted at once).
    """
    parent_pid = os.getppid() if parent_pid is None else parent_pid
    if parent_pid <= 1:
        return None

    def watch() -> None:
        while _parent_alive(parent_pid):
            time.sleep(POLL_SECONDS)
        # as Ctrl-C: the running trial fails cleanly, the process winds down
        _thread.interrupt_main(signal.SIGINT)
        time.sleep(EXIT_GRACE_SECONDS)
        os._exit(1)

    thread = threading.Thread(target=watch, name="gru-search-lifeline", daemon=True)
    thread.start()
    return thread


def exit_with_parent_from_environment() -> threading.Thread | None:
    """:func:`exit_with_parent` for the pid in ``GRU_SEARCH_PARENT_PID``, if it is set."""
    value = os.environ.get(PARENT_PID_VARIABLE, "")
    return exit_with_parent(int(value)) if value.isdigit() else None


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt in the main thread (as Ctrl-C).

    Outside the main thread signal handlers cannot be installed; the block then changes
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(number).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
