"""How well a search's validation ranking predicts test accuracy after the refit.

Runs ``GRUSearchCV(GRUClassifier(), space=SPACE, timeout=T, random_state=SEED)`` on an aeon
dataset (study kept in a SQLite file), then refits every completed trial whose validation
score lies within ``--tolerance`` of the best one on all the training data, for its best
epoch count, with several seeds, and prints each refit's test accuracy beside the trial's
validation score, validation loss and (for the finalists) cross-validated accuracy. It
shows whether the trial the search picks is the one that generalises best, or one of
several that tie on a small validation set.

Example: ``python benchmarks/refit_ties.py --dataset ItalyPowerDemand --timeout 300``
(about 10 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_data import load

from gru_search import GRUClassifier, GRUSearchCV
from gru_search.datasets import Dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ItalyPowerDemand")
    parser.add_argument("--space", default="default")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--refit-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--tolerance", type=float, default=0.08, help="validation score below the best"
    )
    args = parser.parse_args(argv)

    data = load(args.dataset)
    with tempfile.TemporaryDirectory() as folder:
        search = GRUSearchCV(
            GRUClassifier(),
            space=args.space,
            timeout=args.timeout,
            random_state=args.random_state,
            storage=f"sqlite:///{Path(folder) / 'study.db'}",
            study_name=args.dataset,
            verbose=0,
        ).fit(data.X_train, data.y_train)
        report(search, data, args)


def report(search: GRUSearchCV, data: Dataset, args: argparse.Namespace) -> None:
    """Refit the trials near the best one and print the Markdown table."""
    picked = search.best_trial_.number
    print(
        f"{args.dataset}: {len(search.study_.trials)} trials; the search picked trial {picked}, "
        f"test accuracy {search.score(data.X_test, data.y_test):.3f}\n"
    )
    seeds = ", ".join(str(seed) for seed in args.refit_seeds)
    print(
        "| trial | picked | validation | validation loss | finalist CV | best epoch "
        f"| test accuracy of refits (seeds {seeds}) | configuration |"
    )
    print("|---:|---|---:|---:|---:|---:|---|---|")
    completed = [t for t in search.study_.trials if t.state.name == "COMPLETE"]
    best_value = max(t.value for t in completed)
    cross_validated = dict(
        zip(search.finalists_["trial"], search.finalists_["cv_accuracy"], strict=True)
    )
    for trial in completed:
        if trial.value < best_value - args.tolerance:
            continue
        params = search.space_.to_estimator_params(trial.params)
        epochs = int(trial.user_attrs["best_epoch"])
        accuracies = [
            GRUClassifier(**{**params, "epochs": epochs, "random_state": seed})
            .fit(data.X_train, data.y_train)
            .score(data.X_test, data.y_test)
            for seed in args.refit_seeds
        ]
        shown = {k: v for k, v in params.items() if k != "epochs"}
        print(
            f"| {trial.number} | {'yes' if trial.number == picked else ''} "
            f"| {trial.value:.3f} | {trial.user_attrs['validation_loss']:.4f} "
            f"| {cross_validated.get(trial.number, float('nan')):.3f} | {epochs} "
            f"| {', '.join(f'{a:.3f}' for a in accuracies)} | {shown} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
