"""Run a study's trials in child processes that exit after a few trials.

TensorFlow keeps memory from every model a process built (XLA executables, traced
functions), and ``keras.backend.clear_session()`` gives little of it back: measured here,
60 small trials in one process grew its resident memory from 1.3 GiB after trial 10 to
3.7 GiB after trial 60 (``benchmarks/memory.py``). A child process that runs
``trials_per_process`` trials and exits returns all of it to the system.

The children share the study through its storage. A search that keeps its study in memory
runs it in a temporary SQLite file instead and copies it into memory at the end.
Children are started with ``spawn`` (forking a process that has started TensorFlow is not
safe), so the estimator, data and callbacks must be picklable.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from gru_search.exceptions import TrialProcessError
from gru_search.lifeline import EXIT_GRACE_SECONDS, exit_with_parent, terminate_as_interrupt
from gru_search.studies import finished_trial_count

#: Seconds a child has to stop on its own after the parent's Ctrl-C before it is told to.
_CTRL_C_SECONDS = 2.0
#: Seconds between progress refreshes while a child runs.
WAIT_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ChildTask:
    """Everything a child needs to run its share of the study, but the share itself.

    ``run_share(task, share)`` is a module-level function (pickled by name) that runs
    ``share.n_trials`` trials of the study; ``payload`` is whatever it needs (estimator,
    data, callbacks). This module only runs processes: what a trial is belongs to the
    caller (:func:`gru_search.engine.run_child_share`).

    The task is written to a file once per search, not sent through the pipe that starts
    each child: a child that dies while starting never reads that pipe, and a parent
    writing megabytes of data into it would block forever.
    """

    run_share: Callable[[ChildTask, ChildShare], None]
    storage_url: str
    study_name: str
    payload: Any


@dataclass(frozen=True)
class ChildShare:
    """One child's part: trials, seconds and sampler seed.

    ``messages`` is a queue for the child's log lines: the parent prints them (to a
    notebook's output, above its progress bar) instead of the child writing to the
    process's standard error.
    """

    n_trials: int
    timeout: float | None
    sampler_seed: int
    messages: Any


def main_module_problem() -> str | None:
    """Why spawned children could not start here, or None when they can.

    ``spawn`` re-imports the main script in every child. A script read from standard
    input (``python - < script.py``) has no file to re-import, so every child would die
    while starting.
    """
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None):
        return None  # python -m package.module: imported by name
    path = getattr(main, "__file__", None)
    if path is None or os.path.isfile(path):
        return None  # interactive sessions and notebooks have no file to re-run
    return (
        f"the main script {path!r} is not a file that a trial process can re-import "
        "(a script piped into python?)"
    )


def _child_main(task_path: str, share: ChildShare, parent_pid: int, error_path: str) -> None:
    """Entry point of a child process (module level, so ``spawn`` can import it)."""
    exit_with_parent(parent_pid)  # never outlive the search, even after its SIGKILL
    try:
        with open(task_path, "rb") as handle:
            task: ChildTask = pickle.load(handle)
        _run_share(task, share)
    except BaseException as error:
        if not isinstance(error, KeyboardInterrupt):
            # the parent's error names this; the traceback is printed here as well
            Path(error_path).write_text(f"{type(error).__name__}: {error}", encoding="utf-8")
        raise


def _run_share(task: ChildTask, share: ChildShare) -> None:
    with terminate_as_interrupt():
        task.run_share(task, share)


def _fail_orphans(study: optuna.Study) -> None:
    """Trials a crashed child left RUNNING can never finish: mark them FAIL."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(
            trial._trial_id, "fail_reason", "its trial process ended while it ran"
        )
        study.tell(trial.number, state=TrialState.FAIL)


def _stop(child: Any) -> None:
    """Stop a child as Ctrl-C would, then harder: it never outlives this call."""
    child.join(_CTRL_C_SECONDS)  # a terminal's Ctrl-C reached it too
    if child.is_alive() and child.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGINT)  # only this process was interrupted
        child.join(EXIT_GRACE_SECONDS)
    if child.is_alive():
        child.terminate()
        child.join(5)
    if child.is_alive():
        child.kill()
        child.join()


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"was killed by signal {name}{hint}"
    return f"exited with status {code}"


def _relay(messages: Any, log: Callable[[str], None]) -> None:
    """Print the log lines children queued."""
    while not messages.empty():
        log(messages.get())


def _wait_for(
    child: Any,
    messages: Any,
    log: Callable[[str], None],
    while_waiting: Callable[[], None] | None,
) -> None:
    """Join ``child``; meanwhile relay its log lines and call ``while_waiting``."""
    while child.is_alive():
        # a child blocks on a full queue: drain it while waiting, never only after
        child.join(WAIT_POLL_SECONDS)
        _relay(messages, log)
        if while_waiting is not None:
            while_waiting()
    _relay(messages, log)


def _write_task(task: ChildTask, path: Path) -> None:
    try:
        with open(path, "wb") as handle:
            pickle.dump(task, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise TrialProcessError(
            "trial processes need the estimator, data and callbacks to be picklable, but "
            f"pickling failed: {error}; trials_per_process=None runs the trials in this "
            "process instead"
        ) from None


def optimize_in_children(
    study: optuna.Study,
    task: ChildTask,
    *,
    n_trials: int | None,
    timeout: float | None,
    trials_per_process: int,
    base_seed: int,
    log: Callable[[str], None],
    hopeless: Callable[[optuna.Study], str | None],
    while_waiting: Callable[[], None] | None = None,
) -> bool:
    """Run ``n_trials`` (or until ``timeout``) in successive children; True if interrupted.

    Each child gets its own sampler seed (``base_seed + index``), so children never repeat
    the random start-up proposals of the ones before them, and a rerun repeats them all.
    A child that dies before finishing a trial ends the search with a
    :class:`~gru_search.exceptions.TrialProcessError` that says why; ``hopeless(study)``
    returning a reason stops the search before another child starts. Ctrl-C or SIGTERM
    stops the running child (it fails its trial) and returns True; no child outlives
    this function. The children's log lines come back through a queue to ``log``;
    ``while_waiting`` (a progress bar's refresh) is called about every second while a
    child runs.
    """
    if problem := main_module_problem():
        raise TrialProcessError(
            f"cannot run trials in child processes: {problem}; save the script to a file, "
            "or pass trials_per_process=None to run the trials in this process"
        )
    context = multiprocessing.get_context("spawn")
    deadline = None if timeout is None else time.monotonic() + timeout
    remaining = n_trials
    index = 0
    # the children's log lines come back here: printed by this process, they reach a
    # notebook's output and stay above a progress bar (a child writes to the real stderr)
    messages = context.SimpleQueue()
    with tempfile.TemporaryDirectory(prefix="gru-search-trials-") as folder:
        task_path = Path(folder) / "task.pickle"
        _write_task(task, task_path)
        while remaining is None or remaining > 0:
            left = None if deadline is None else deadline - time.monotonic()
            if (left is not None and left <= 0) or hopeless(study):
                break
            share = trials_per_process if remaining is None else min(trials_per_process, remaining)
            before = finished_trial_count(study)
            error_path = Path(folder) / f"error-{index}.txt"
            child = context.Process(
                target=_child_main,
                args=(
                    str(task_path),
                    ChildShare(share, left, base_seed + index, messages),
                    os.getpid(),
                    str(error_path),
                ),
                name=f"gru-search-trials-{index}",
            )
            try:
                with terminate_as_interrupt():
                    child.start()
                    _wait_for(child, messages, log, while_waiting)
            except KeyboardInterrupt:
                _stop(child)
                _relay(messages, log)
                _fail_orphans(study)
                return True
            if child.exitcode != 0:
                log(
                    f"[gru-search] trial process {index} {_describe_exit(child.exitcode)}; "
                    "its running trial is marked failed"
                )
                _fail_orphans(study)
            done = finished_trial_count(study) - before
            if done == 0 and child.exitcode != 0:
                reason = error_path.read_text(encoding="utf-8") if error_path.is_file() else ""
                raise TrialProcessError(
                    f"the trial process {_describe_exit(child.exitcode)} before finishing "
                    "any trial"
                    + (f": {reason}" if reason else " (its error is printed above)")
                    + ". Trial processes are started with 'spawn': a script that runs the "
                    'search must do so under `if __name__ == "__main__":`, and the '
                    "estimator, data and callbacks must be picklable; "
                    "trials_per_process=None runs the trials in this process instead"
                )
            if remaining is not None:
                remaining -= done
            index += 1
    return False


def temporary_storage_url(folder: str) -> str:
    return f"sqlite:///{folder}/study.db"


def copy_to_memory(study: optuna.Study) -> optuna.Study:
    """The same study, copied into an in-memory storage (the temporary file goes away)."""
    memory = optuna.storages.InMemoryStorage()
    optuna.copy_study(
        from_study_name=study.study_name,
        from_storage=study._storage,  # the storage object the study was opened on
        to_storage=memory,
    )
    return optuna.load_study(
        study_name=study.study_name, storage=memory, sampler=study.sampler, pruner=study.pruner
    )
