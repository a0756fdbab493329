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
import time
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState


@dataclass(frozen=True)
class ChildTask:
    """Everything a child needs to run its share of the study."""

    search_params: dict[str, Any]
    storage_url: str
    study_name: str
    setup: Any
    X: Any
    y: Any
    sample_weight: Any
    n_trials: int
    timeout: float | None
    sampler_seed: int
    callbacks: list[Any]


def _child_main(task: ChildTask) -> None:
    """Entry point of a child process (module level, so ``spawn`` can import it)."""
    from gru_search.search import GRUSearchCV, make_pruner, make_sampler, quiet_optuna
    from gru_search.storage import make_storage

    search = GRUSearchCV(**task.search_params)
    space = task.setup.space
    with quiet_optuna(search.verbose):
        study = optuna.load_study(
            study_name=task.study_name,
            storage=make_storage(task.storage_url),
            sampler=make_sampler(search.sampler, task.sampler_seed, parallel=False),
            pruner=make_pruner(search.pruner, space.training.pruning_warmup, space.training.epochs),
        )
        # on Ctrl-C Optuna marks the running trial FAIL; the parent decides what is next
        with contextlib.suppress(KeyboardInterrupt):
            study.optimize(
                search._trial_function(task.setup, task.X, task.y, task.sample_weight),
                n_trials=task.n_trials,
                timeout=task.timeout,
                catch=(Exception,),
                callbacks=[search._trial_logger(space, task.setup.objective), *task.callbacks],
                gc_after_trial=False,
            )


def _finished(study: optuna.Study) -> int:
    return len(
        study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        )
    )


def _fail_orphans(study: optuna.Study) -> None:
    """Trials a crashed child left RUNNING can never finish: mark them FAIL."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)


def optimize_in_children(
    study: optuna.Study,
    storage_url: str,
    make_task: Any,
    *,
    n_trials: int | None,
    timeout: float | None,
    trials_per_process: int,
    base_seed: int,
    log: Any,
) -> bool:
    """Run ``n_trials`` (or until ``timeout``) in successive children; True if interrupted.

    ``make_task(n_trials, timeout, seed)`` builds each child's :class:`ChildTask`. Each
    child gets its own sampler seed (``base_seed + index``), so children never repeat the
    random start-up proposals of the ones before them, and a rerun repeats them all.
    """
    context = multiprocessing.get_context("spawn")
    deadline = None if timeout is None else time.monotonic() + timeout
    remaining = n_trials
    index = 0
    while remaining is None or remaining > 0:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        share = trials_per_process if remaining is None else min(trials_per_process, remaining)
        before = _finished(study)
        child = context.Process(
            target=_child_main,
            args=(make_task(share, left, base_seed + index),),
            name=f"gru-search-trials-{index}",
        )
        child.start()
        try:
            child.join()
        except KeyboardInterrupt:
            child.join()  # the child got the same Ctrl-C and fails its trial itself
            _fail_orphans(study)
            return True
        if child.exitcode != 0:
            log(
                f"[gru-search] trial process {index} exited with {child.exitcode}; "
                "its running trial is marked failed"
            )
            _fail_orphans(study)
        done = _finished(study) - before
        if done == 0 and child.exitcode != 0:
            raise RuntimeError(
                f"the trial process exited with {child.exitcode} before finishing any trial "
                "(its error is printed above). Trial processes are started with 'spawn': a "
                'script that runs the search must do so under `if __name__ == "__main__":`, '
                "and the estimator, data and callbacks must be picklable; "
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
