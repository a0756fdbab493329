"""Finished trials per hour with 1 and with N local workers on one PostgreSQL study.

Usage::

    URL=$(bash .ci/postgres.sh)
    python benchmarks/scaling.py --storage $URL --workers 1 2 --timeout 120

Runs ``gru-search run`` once per worker count, one after the other, with the same data,
space and wall-clock budget, each on a fresh study, then counts the finished (COMPLETE +
PRUNED) trials in the storage. Prints a Markdown table with the ratio to one worker.
Target (issue 4): 2 workers >= 1.6x on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna


def finished_trials(storage: str, name: str) -> int:
    study = optuna.load_study(study_name=name, storage=storage)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="PostgreSQL URL")
    parser.add_argument("--data", default="aeon:GunPoint")
    parser.add_argument("--space", default="quick")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--timeout", type=float, default=120, help="seconds per run")
    args = parser.parse_args()
    rows = []
    for workers in args.workers:
        name = f"scaling-{workers}-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory() as out:
            command = [
                sys.executable,
                "-m",
                "gru_search.cli",
                "run",
                "--data",
                args.data,
                "--space",
                args.space,
                "--timeout",
                str(args.timeout),
                "--storage",
                args.storage,
                "--study-name",
                name,
                "--out",
                str(Path(out) / "run"),
                "--no-progress",
                "--workers",
                str(workers),
            ]
            start = time.perf_counter()
            subprocess.run(
                command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            seconds = time.perf_counter() - start
        count = finished_trials(args.storage, name)
        rows.append((workers, count, count * 3600 / args.timeout, seconds))
        print(
            f"{workers} worker(s): {count} finished trials in {args.timeout:.0f} s "
            f"(whole command {seconds:.0f} s)",
            flush=True,
        )
    base = rows[0][2]
    print(f"\n{args.data}, space {args.space}, {args.timeout:.0f} s per run\n")
    print("| workers | finished trials | trials per hour | ratio |")
    print("|---:|---:|---:|---:|")
    for workers, count, per_hour, _ in rows:
        print(f"| {workers} | {count} | {per_hour:.0f} | {per_hour / base:.2f}x |")


if __name__ == "__main__":
    main()
