"""Resident memory of a long search: does it grow from trial to trial?

Usage::

    python benchmarks/memory.py --trials 60                          # one process
    python benchmarks/memory.py --trials 60 --trials-per-process 10  # recycled children

Runs ``GRUSearchCV`` with a small space (one GRU-family layer, a few epochs per trial,
every trial a new Keras model) on generated data, records the process's resident set
size (RSS, from /proc, Linux; with child processes, the child's plus the main process's)
after every trial, and compares trial 60 with trial 10.
Target (issue 3): within 10 %.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import optuna

from gru_search import GRUClassifier, GRUSearchCV, SearchSpace

SPACE = {
    "name": "memory",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 2},
        "units": {"type": "categorical", "choices": [8, 16, 32]},
    },
    "params": {
        "cell": {"type": "categorical", "choices": ["gru", "gru_v1", "mgu", "mingru"]},
        "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
    },
    "fixed": {"batch_size": 32},
    "training": {"epochs": 3, "pruning_warmup": 3, "finalists": 1},  # measures the study
}


def rss_mib(pid: int | str = "self") -> float:
    """Current resident set size of a process in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssLog:
    """Optuna callback: after every trial, append the RSS of the trial's process and of
    the search's main process (they differ when trials run in child processes)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        own = rss_mib()
        parent = rss_mib(os.getppid()) if os.getpid() != MAIN_PID else 0.0
        with open(self.path, "a") as handle:
            handle.write(f"{own + parent}\n")


MAIN_PID = os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--jit", choices=("auto", "off"), default="auto")
    parser.add_argument(
        "--trials-per-process",
        type=int,
        default=None,
        help="run trials in child processes recycled after this many (default: in-process)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    X = np.linspace(-1, 1, 40)[None, :] * (2 * y[:, None] - 1) + rng.normal(size=(120, 40))
    handle, log = tempfile.mkstemp(suffix=".rss")
    os.close(handle)

    estimator = GRUClassifier(jit_compile="auto" if args.jit == "auto" else False)
    search = GRUSearchCV(
        estimator,
        space=SearchSpace.from_dict(SPACE),
        n_trials=args.trials,
        pruner="none",
        refit=False,
        random_state=0,
        trials_per_process=args.trials_per_process,
        verbose=0,
    )
    search.fit(X, y, callbacks=[RssLog(log)])
    with open(log) as handle:
        readings = [float(line) for line in handle]
    os.unlink(log)
    for index in range(9, len(readings), 10):
        print(f"after trial {index + 1}: {readings[index]:.0f} MiB")
    at10, last = readings[9], readings[-1]
    mode = (
        f"{args.trials_per_process} trials per process"
        if args.trials_per_process
        else ("all trials in one process")
    )
    print(mode)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"RSS after trial 10: {at10:.0f} MiB; after trial {len(readings)}: {last:.0f} MiB; "
        f"growth {100 * (last - at10) / at10:+.1f}% (target within 10%); peak {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
