"""Many processes, many machines, one study: the worker loop.

A study created by ``gru-search run`` records everything a worker needs (space, task,
metric, how to load the data, hold-out or CV settings, the target number of finished
trials), so every worker is the same command pointed at the same storage::

    gru-search worker --study NAME --storage postgresql://...

The loop uses Optuna's ask/tell interface rather than ``study.optimize`` because the
target is a property of the study, not of one process: a worker starts a trial only while
finished (COMPLETE or PRUNED) plus running trials stay below the target, so N workers
finish exactly the target between them; a trial whose worker died (no heartbeat within
the grace period) is marked FAIL and re-queued by whichever worker looks next, so the
target is still reached. SIGTERM and SIGINT fail the running trial cleanly, re-queue its
parameters and end the worker with status 0.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from gru_search.stopping import WorkerStopped, request_stop, withdraw_stop_request

#: Seconds between checks while the target is covered by other workers' running trials.
POLL_SECONDS = 2.0


@dataclass
class WorkerReport:
    """What one worker did."""

    finished: int = 0
    failed: int = 0
    surplus: int = 0
    stopped_by_signal: str | None = None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def count_states(study: optuna.Study) -> dict[TrialState, int]:
    counts = dict.fromkeys(TrialState, 0)
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state] += 1
    return counts


def is_surplus(study: optuna.Study, trial: optuna.Trial, target: int) -> bool:
    """Whether ``trial`` lies beyond the target among finished, running and queued trials.

    Trial numbers are handed out atomically by the storage, so when several workers ask
    at once, exactly the ones whose rank is below the target go ahead.
    """
    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    numbers = sorted(t.number for t in study.get_trials(deepcopy=False, states=live))
    return trial.number in numbers and numbers.index(trial.number) >= target


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Record the trial's heartbeat now and every interval until the block ends."""
    storage = study._storage  # Optuna exposes no public accessor
    interval = (
        storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    )
    if not interval:
        yield
        return
    trial_id = trial._trial_id  # the storage API is keyed by trial id
    storage.record_heartbeat(trial_id)
    done = threading.Event()

    def beat() -> None:
        while not done.wait(interval):
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # a lost connection: the next beat retries
                continue

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class SignalGuard:
    """SIGTERM/SIGINT set a flag; inside a trial they also ask it to stop.

    The handler never raises: the trial stops at its next safe point (after a batch) and
    raises :class:`WorkerStopped` there, so no storage query is cut in half.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self.in_trial = False
        self.wake = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        for number in (signal.SIGTERM, signal.SIGINT):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        withdraw_stop_request()

    def _handle(self, number: int, frame: object) -> None:
        self.received = signal.Signals(number).name
        self.wake.set()
        if self.in_trial:
            request_stop(self.received)


def run_worker_loop(
    study: optuna.Study,
    trial_function: Callable[[optuna.Trial], float],
    *,
    target: int | None,
    max_trials: int | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] = print,
) -> WorkerReport:
    """Run trials of ``study`` until its target, ``max_trials`` or ``timeout``.

    Parameters
    ----------
    study : optuna.Study
        Loaded on a storage shared by all workers (heartbeats need an RDB storage).
    trial_function : callable
        ``trial -> value``; raises :class:`optuna.TrialPruned` to prune.
    target : int or None
        Finished (COMPLETE + PRUNED) trials the study should reach; None runs until
        ``max_trials`` or ``timeout``.
    max_trials : int, optional
        Trials this worker may start.
    timeout : float, optional
        Seconds after which this worker starts no new trial.
    """
    if target is None and max_trials is None and timeout is None:
        raise ValueError("a worker needs a study target, max_trials or a timeout")
    report = WorkerReport()
    deadline = None if timeout is None else time.monotonic() + timeout
    with SignalGuard() as guard, warnings.catch_warnings():
        # ask/tell with heartbeats is this loop's design, not a mistake Optuna should flag;
        # fail_stale_trials has been "experimental" since Optuna 2.9. Only inside the loop:
        # the caller's own warning filters are put back when it ends.
        warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        while guard.received is None:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if max_trials is not None and report.finished + report.failed >= max_trials:
                break
            optuna.storages.fail_stale_trials(study)  # dead workers' trials: FAIL, re-queued
            if target is not None:
                counts = count_states(study)
                finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
                if finished >= target:
                    break
                if (
                    finished + counts[TrialState.RUNNING] >= target
                    and not counts[TrialState.WAITING]
                ):
                    guard.wake.wait(POLL_SECONDS)  # others hold the rest; one may still die
                    continue
            trial = study.ask()
            if target is not None and is_surplus(study, trial, target):
                trial.set_user_attr("fail_reason", "the study's target was reached meanwhile")
                study.tell(trial, state=TrialState.FAIL)
                report.surplus += 1
                continue
            state = _run_one(study, trial, trial_function, guard, log)
            if state == TrialState.FAIL:
                report.failed += 1
            else:
                report.finished += 1
    report.stopped_by_signal = guard.received
    return report


def _run_one(
    study: optuna.Study,
    trial: optuna.Trial,
    trial_function: Callable[[optuna.Trial], float],
    guard: SignalGuard,
    log: Callable[[str], None],
) -> TrialState:
    value: float | None = None
    with heartbeat(study, trial):
        try:
            guard.in_trial = True
            try:
                value = trial_function(trial)
            finally:
                guard.in_trial = False
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except WorkerStopped as stop:
            trial.set_user_attr("fail_reason", f"worker stopped by {stop}")
            study.tell(trial, state=TrialState.FAIL)
            # its configuration was never judged: queue it for another worker
            study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})
            log(
                f"[gru-search] trial {trial.number} failed: worker stopped by {stop}; "
                "its parameters are queued again"
            )
            return TrialState.FAIL
        except Exception as error:  # one broken trial must not end the worker
            trial.set_user_attr("fail_reason", f"{type(error).__name__}: {error}"[:1000])
            state = TrialState.FAIL
            log(f"[gru-search] trial {trial.number} failed: {type(error).__name__}: {error}")
        else:
            state = TrialState.COMPLETE
            if value is None or not math.isfinite(value):
                state = TrialState.FAIL
    if state == TrialState.COMPLETE:
        study.tell(trial, value)
    else:
        study.tell(trial, state=state)
    frozen = study.get_trials(deepcopy=False)[trial.number]
    seconds = frozen.user_attrs.get("train_seconds", float("nan"))
    shown = "" if frozen.value is None else f" value={frozen.value:.4f}"
    log(
        f"[gru-search] trial {trial.number} {state.name.lower()}{shown} in {seconds:.1f}s "
        f"({worker_id()})"
    )
    return state
