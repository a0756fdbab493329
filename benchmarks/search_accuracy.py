"""Test accuracy of ``GRUSearchCV`` with the default space and a wall-clock budget.

Usage::

    python benchmarks/search_accuracy.py --datasets GunPoint ItalyPowerDemand --timeout 300

Runs ``GRUSearchCV(GRUClassifier(), space=SPACE, timeout=T, random_state=SEED)`` on the
shipped train split of each aeon dataset and scores the refit best estimator on the test
split. Prints one Markdown row per dataset.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bench_data import load

from gru_search import GRUClassifier, GRUSearchCV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["GunPoint", "ItalyPowerDemand"])
    parser.add_argument("--space", default="default")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--cv", type=int, default=None, help="folds (default: one 20%% validation split)"
    )
    args = parser.parse_args()
    rows = []
    for name in args.datasets:
        data = load(name)
        X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
        start = time.perf_counter()
        search = GRUSearchCV(
            GRUClassifier(),
            space=args.space,
            timeout=args.timeout,
            cv=args.cv,
            random_state=args.random_state,
        ).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        board = search.leaderboard()
        rows.append(
            f"| {name} | {search.score(X_test, y_test):.3f} | {search.study_.best_value:.3f} | "
            f"{len(board)} ({(board['state'] == 'PRUNED').sum()} pruned) | "
            f"{search.best_params_} | {seconds:.0f} |"
        )
        print(rows[-1], flush=True)
    print("| dataset | test accuracy | best validation | trials | best params | seconds |")
    print("|---|---:|---:|---|---|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
