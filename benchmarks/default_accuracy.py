"""Test accuracy of ``GRUClassifier()`` with default parameters on UCR datasets shipped in aeon.

Usage::

    python benchmarks/default_accuracy.py --datasets GunPoint ItalyPowerDemand --seeds 0 1 2 3 4

Prints one Markdown row per dataset and seed, then the mean per dataset.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from bench_data import load

from gru_search import GRUClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["GunPoint"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    print("| dataset | random_state | test accuracy | patch_size_ | fit seconds |")
    print("|---|---:|---:|---:|---:|")
    summary = {}
    for name in args.datasets:
        data = load(name)
        X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
        scores = []
        for seed in args.seeds:
            start = time.perf_counter()
            model = GRUClassifier(random_state=seed).fit(X_train, y_train)
            seconds = time.perf_counter() - start
            scores.append(model.score(X_test, y_test))
            print(
                f"| {name} | {seed} | {scores[-1]:.3f} | {model.patch_size_} | {seconds:.1f} |",
                flush=True,
            )
        summary[name] = (np.mean(scores), np.min(scores))
    for name, (mean, worst) in summary.items():
        print(f"{name}: mean {mean:.3f}, worst {worst:.3f} over seeds {args.seeds}")


if __name__ == "__main__":
    main()
