"""Trials per hour of a search space with K concurrent trial processes on one device.

Small GRUs leave a GPU mostly idle, so ``gru-search run --gpus 0 --trials-per-gpu K``
packs K trial workers on a card. This measures what that buys: for each K, K processes
each run the space's trials (``GRUSearchCV``, its own in-memory study, on the same
generated dataset) for ``--seconds``, all at once on one device, with memory growth on
(as ``--trials-per-gpu`` sets it); trials per hour = finished trials / wall time. All K
are measured in one run, one after the other, so the ratios compare like with like.

Usage::

    python benchmarks/trials_per_hour.py --device gpu --k 1 2 4 8     # a GPU machine
    python benchmarks/trials_per_hour.py --device cpu --k 1 2          # this machine's CPU

On the CPU the K processes share the cores (each gets cores / K threads), so the
figure there says how much concurrency the CPU absorbs, not a GPU's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def generated_data(n: int, steps: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = np.linspace(0, 1, steps)
    X = np.sin(2 * np.pi * (y[:, None] + 1) * t[None, :]) + 0.5 * rng.normal(size=(n, steps))
    return X.astype("float32"), y


def worker(space: str, seconds: float, sequences: int, steps: int, seed: int) -> None:
    """One trial process: run the space's trials for ``seconds``; print what it did."""
    import optuna

    from gru_search import GRUClassifier, GRUSearchCV

    X, y = generated_data(sequences, steps)
    start = time.perf_counter()
    search = GRUSearchCV(
        GRUClassifier(),
        space=space,
        timeout=seconds,
        finalists=1,
        refit=False,
        trials_per_process=None,
        random_state=seed,
        verbose=0,
    ).fit(X, y)
    finished = [
        t
        for t in search.study_.trials
        if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    devices = sorted({t.user_attrs.get("device", "?") for t in finished})
    print(
        json.dumps(
            {
                "trials": len(finished),
                "seconds": time.perf_counter() - start,
                "devices": devices,
            }
        ),
        flush=True,
    )


def measure(k: int, args: argparse.Namespace) -> dict:
    from gru_search.cli import gpu_environment  # what --trials-per-gpu gives each worker

    env = dict(os.environ)
    env.update(gpu_environment("" if args.device == "cpu" else args.gpu, env))
    if args.device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        threads = str(max(1, (os.cpu_count() or 1) // k))
        env.update(TF_NUM_INTRAOP_THREADS=threads, OMP_NUM_THREADS=threads)
    command = [sys.executable, __file__, "--worker", "--space", args.space]
    command += ["--seconds", str(args.seconds), "--sequences", str(args.sequences)]
    command += ["--steps", str(args.steps)]
    start = time.perf_counter()
    processes = [
        subprocess.Popen([*command, "--seed", str(index)], env=env, stdout=subprocess.PIPE)
        for index in range(k)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a trial process of K={k} exited with {process.returncode}")
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    wall = time.perf_counter() - start
    trials = sum(r["trials"] for r in reports)
    devices = sorted({d for r in reports for d in r["devices"]})
    return {
        "k": k,
        "trials": trials,
        "wall": wall,
        "per_hour": trials * 3600 / wall,
        "devices": devices,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--gpu", default="0", help="the card (CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--space", default="default")
    parser.add_argument("--seconds", type=float, default=120.0, help="per K")
    parser.add_argument("--sequences", type=int, default=512)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.space, args.seconds, args.sequences, args.steps, args.seed)
        return
    rows = []
    for k in args.k:
        row = measure(k, args)
        rows.append(row)
        print(
            f"K={k}: {row['trials']} trials in {row['wall']:.0f} s, "
            f"{row['per_hour']:.0f} trials/hour on {','.join(row['devices'])}",
            flush=True,
        )
    base = rows[0]["per_hour"]
    print(f"\n| K ({args.device}) | trials | wall s | trials/hour | vs K={rows[0]['k']} |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['k']} | {row['trials']} | {row['wall']:.0f} | {row['per_hour']:.0f} | "
            f"{row['per_hour'] / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
