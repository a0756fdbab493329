"""gru-search against KerasTuner and hand-written Optuna, side by side on UCR/UEA datasets.

Usage::

    pip install -e ".[bench]"
    python benchmarks/compare_tuners.py --datasets GunPoint ItalyPowerDemand ArrowHead \\
        --budget 300 --out benchmarks/results

For every dataset the three tools run one after the other in this process, each with the
same wall-clock search budget, the same training/validation rows and the same test split:

gru-search
    ``GRUSearchCV(GRUClassifier(), space="default", timeout=budget)``, validated on the
    shared rows (``cv=[(fit_rows, validation_rows)]``); the user gets the refit best
    estimator.
KerasTuner
    ``keras_tuner.Hyperband(objective="val_accuracy", max_epochs=30)`` with its documented
    defaults (factor 3, batch size 32) over the common space of the issue: 1-3 GRU layers
    of 16-128 units, dropout 0-0.5, learning rate 1e-4..1e-2 (log), at most 30 epochs.
    ``hyperband_iterations`` is raised so that it searches until the budget is spent (one
    iteration can end early) and no trial starts after the budget; the user gets
    ``tuner.get_best_models(1)[0]``.
Optuna
    A hand-written study over the same common space: TPE, ``HyperbandPruner`` and
    ``optuna_integration.KerasPruningCallback`` on ``val_accuracy``,
    ``study.optimize(timeout=budget)``; the user refits the best parameters on all the
    training rows for 30 epochs, as its tutorials do.

The validation score of a trial is its best epoch's validation accuracy for all three.
Every tool's timeline (seconds since its start, best validation accuracy so far) gives the
time it took to reach each other tool's best. Written to ``--out``: ``results.csv`` (one row
per dataset and tool), ``timelines.csv``, ``results.md`` and ``accuracy_vs_time.png``.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

TOOLS = ("gru-search", "keras-tuner", "optuna")
MAX_EPOCHS = 30  # the common space's epoch budget per trial (KerasTuner's max_epochs)
PEER_BATCH_SIZE = 32  # Keras' default, which both peers' tutorials keep


@dataclass
class Outcome:
    """What one tool achieved on one dataset."""

    dataset: str
    tool: str
    trials_finished: int
    trials_pruned: int
    best_validation: float
    test_accuracy: float
    search_seconds: float
    total_seconds: float
    timeline: list[tuple[float, float]] = field(repr=False)

    def seconds_to_reach(self, score: float) -> float | None:
        """Seconds until this tool's best validation accuracy first reached ``score``."""
        for seconds, best in self.timeline:
            if best >= score - 1e-9:
                return seconds
        return None


class Timeline:
    """Best validation score so far, stamped with seconds since the tool started."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.points: list[tuple[float, float]] = []

    def record(self, score: float | None) -> None:
        if score is None or not math.isfinite(score):
            return
        best = max(score, self.points[-1][1]) if self.points else score
        self.points.append((round(time.perf_counter() - self.start, 2), float(best)))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


# -- the common space, as users of the peers write it ----------------------------------
def build_peer_model(
    n_layers: int,
    units: list[int],
    dropout: float,
    learning_rate: float,
    input_shape: tuple[int, int],
    n_classes: int,
):
    """A stacked GRU classifier of the common space, compiled for integer labels."""
    import keras

    model = keras.Sequential([keras.Input(shape=input_shape)])
    for index in range(n_layers):
        model.add(keras.layers.GRU(units[index], return_sequences=index < n_layers - 1))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(n_classes, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@dataclass
class Split:
    """One dataset, its labels encoded to 0..k-1, and the shared validation rows."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    fit_rows: np.ndarray
    val_rows: np.ndarray
    n_classes: int

    @property
    def X_fit(self) -> np.ndarray:
        return self.X_train[self.fit_rows]

    @property
    def y_fit(self) -> np.ndarray:
        return self.y_train[self.fit_rows]

    @property
    def X_val(self) -> np.ndarray:
        return self.X_train[self.val_rows]

    @property
    def y_val(self) -> np.ndarray:
        return self.y_train[self.val_rows]


def load_split(name: str, seed: int) -> Split:
    from bench_data import holdout, load
    from sklearn.preprocessing import LabelEncoder

    data = load(name)
    encoder = LabelEncoder().fit(data.y_train)
    X_train = np.asarray(data.X_train, dtype=np.float32)
    y_train = encoder.transform(data.y_train)
    fit_rows, val_rows = holdout(y_train, seed)
    return Split(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=np.asarray(data.X_test, dtype=np.float32),
        y_test=encoder.transform(data.y_test),
        fit_rows=fit_rows,
        val_rows=val_rows,
        n_classes=len(encoder.classes_),
    )


def test_accuracy(model, split: Split) -> float:
    probabilities = model.predict(split.X_test, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == split.y_test))


# -- the three tools -------------------------------------------------------------------
def run_gru_search(split: Split, budget: float, seed: int) -> Outcome:
    import optuna

    from gru_search import GRUClassifier, GRUSearchCV

    timeline = Timeline()
    search = GRUSearchCV(
        GRUClassifier(),
        space="default",
        timeout=budget,
        cv=[(split.fit_rows, split.val_rows)],
        random_state=seed,
        verbose=0,
    )
    search.fit(split.X_train, split.y_train)
    accuracy = float(search.score(split.X_test, split.y_test))
    total = timeline.elapsed()
    # trials run in recycled child processes: the timeline comes from the stored trials
    timeline.points = study_timeline(search.study_, timeline.start)
    states = [t.state for t in search.study_.trials]
    pruned = sum(s == optuna.trial.TrialState.PRUNED for s in states)
    complete = sum(s == optuna.trial.TrialState.COMPLETE for s in states)
    return Outcome(
        dataset=split.name,
        tool="gru-search",
        trials_finished=complete + pruned,
        trials_pruned=pruned,
        # the study's best, as for the peers (the refit trial may be a finalist below it)
        best_validation=float(search.study_.best_value),
        test_accuracy=accuracy,
        search_seconds=round(last_trial_end(search.study_, timeline.start), 1),
        total_seconds=round(total, 1),
        timeline=timeline.points,
    )


def _seconds_since(start_perf: float, wall_time: float) -> float:
    """A wall-clock timestamp as seconds since the ``time.perf_counter()`` value given."""
    begin = time.time() - (time.perf_counter() - start_perf)
    return wall_time - begin


def last_trial_end(study, start_perf: float) -> float:
    ends = [t.datetime_complete.timestamp() for t in study.trials if t.datetime_complete]
    return _seconds_since(start_perf, max(ends)) if ends else 0.0


def study_timeline(study, start_perf: float) -> list[tuple[float, float]]:
    """Best value so far at each completed trial's end, in seconds since ``start_perf``."""
    import optuna

    complete = sorted(
        (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
        key=lambda t: t.datetime_complete,
    )
    points: list[tuple[float, float]] = []
    best = -math.inf
    for trial in complete:
        best = max(best, float(trial.value))
        seconds = _seconds_since(start_perf, trial.datetime_complete.timestamp())
        points.append((round(seconds, 2), best))
    return points


def run_keras_tuner(split: Split, budget: float, seed: int) -> Outcome:
    import keras
    import keras_tuner

    def build(hp):
        n_layers = hp.Int("num_layers", 1, 3)
        units = [hp.Int(f"units_{i}", 16, 128, step=16) for i in range(n_layers)]
        return build_peer_model(
            n_layers,
            units,
            hp.Float("dropout", 0.0, 0.5, step=0.1),
            hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
            split.X_fit.shape[1:],
            split.n_classes,
        )

    timeline = Timeline()
    statuses: list[str] = []

    class TimedHyperband(keras_tuner.Hyperband):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            statuses.append(str(trial.status))
            timeline.record(trial.score)

    with tempfile.TemporaryDirectory(prefix="kt-") as folder:
        tuner = TimedHyperband(
            build,
            objective="val_accuracy",
            max_epochs=MAX_EPOCHS,
            hyperband_iterations=1000,  # searched until the budget is spent
            seed=seed,
            directory=folder,
            project_name=split.name,
            overwrite=True,
        )
        populate = tuner.oracle.populate_space

        def populate_within_budget(trial_id):
            if timeline.elapsed() >= budget:  # no trial starts after the budget
                return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}
            return populate(trial_id)

        tuner.oracle.populate_space = populate_within_budget
        tuner.search(
            split.X_fit,
            split.y_fit,
            validation_data=(split.X_val, split.y_val),
            batch_size=PEER_BATCH_SIZE,
            verbose=0,
        )
        searched = timeline.elapsed()
        best = tuner.oracle.get_best_trials(1)[0]
        model = tuner.get_best_models(1)[0]
        accuracy = test_accuracy(model, split)
    keras.backend.clear_session()
    return Outcome(
        dataset=split.name,
        tool="keras-tuner",
        trials_finished=sum(status == "COMPLETED" for status in statuses),
        trials_pruned=0,  # Hyperband stops trials by its brackets, not by pruning
        best_validation=float(best.score),
        test_accuracy=accuracy,
        search_seconds=round(searched, 1),
        total_seconds=round(timeline.elapsed(), 1),
        timeline=timeline.points,
    )


def run_optuna(split: Split, budget: float, seed: int) -> Outcome:
    import keras
    import optuna
    from optuna_integration import KerasPruningCallback

    def suggest(trial) -> dict:
        n_layers = trial.suggest_int("num_layers", 1, 3)
        return {
            "n_layers": n_layers,
            "units": [trial.suggest_int(f"units_{i}", 16, 128, step=16) for i in range(n_layers)],
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        }

    def objective(trial) -> float:
        keras.backend.clear_session()
        model = build_peer_model(
            **suggest(trial), input_shape=split.X_fit.shape[1:], n_classes=split.n_classes
        )
        history = model.fit(
            split.X_fit,
            split.y_fit,
            validation_data=(split.X_val, split.y_val),
            epochs=MAX_EPOCHS,
            batch_size=PEER_BATCH_SIZE,
            callbacks=[KerasPruningCallback(trial, "val_accuracy")],
            verbose=0,
        )
        return float(max(history.history["val_accuracy"]))

    timeline = Timeline()

    def record(study, trial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            timeline.record(trial.value)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, timeout=budget, callbacks=[record])
    searched = timeline.elapsed()
    keras.backend.clear_session()
    final = build_peer_model(
        **suggest(optuna.trial.FixedTrial(study.best_params)),
        input_shape=split.X_fit.shape[1:],
        n_classes=split.n_classes,
    )
    final.fit(
        split.X_train, split.y_train, epochs=MAX_EPOCHS, batch_size=PEER_BATCH_SIZE, verbose=0
    )
    states = [t.state for t in study.trials]
    return Outcome(
        dataset=split.name,
        tool="optuna",
        trials_finished=sum(
            s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states
        ),
        trials_pruned=sum(s == optuna.trial.TrialState.PRUNED for s in states),
        best_validation=float(study.best_value),
        test_accuracy=test_accuracy(final, split),
        search_seconds=round(searched, 1),
        total_seconds=round(timeline.elapsed(), 1),
        timeline=timeline.points,
    )


RUNNERS: dict[str, Callable[[Split, float, int], Outcome]] = {
    "gru-search": run_gru_search,
    "keras-tuner": run_keras_tuner,
    "optuna": run_optuna,
}


# -- reporting ---------------------------------------------------------------------------
def own_best_seconds(outcome: Outcome) -> float | None:
    return outcome.seconds_to_reach(outcome.best_validation)


def rows_of(outcomes: list[Outcome]) -> list[dict]:
    rows = []
    for outcome in outcomes:
        row = {k: v for k, v in asdict(outcome).items() if k != "timeline"}
        row["seconds_to_own_best"] = own_best_seconds(outcome)
        for peer in outcomes:
            if peer.dataset == outcome.dataset and peer.tool != outcome.tool:
                key = f"seconds_to_reach_{peer.tool.replace('-', '_')}_best"
                row[key] = outcome.seconds_to_reach(peer.best_validation)
        rows.append(row)
    return rows


def markdown(outcomes: list[Outcome], budget: float) -> str:
    def fmt(value: float | None) -> str:
        return "not reached" if value is None else f"{value:.0f}"

    lines = [
        f"Budget {budget:.0f} s of search per tool and dataset.",
        "",
        "| dataset | tool | trials (pruned) | best validation | test accuracy | s to own best "
        "| s to reach KerasTuner's best | s to reach Optuna's best | search s | total s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for outcome in outcomes:
        peers = {o.tool: o for o in outcomes if o.dataset == outcome.dataset}
        kt, op = peers.get("keras-tuner"), peers.get("optuna")
        lines.append(
            f"| {outcome.dataset} | {outcome.tool} | {outcome.trials_finished} "
            f"({outcome.trials_pruned}) | {outcome.best_validation:.3f} | "
            f"**{outcome.test_accuracy:.3f}** | {fmt(own_best_seconds(outcome))} | "
            + (fmt(outcome.seconds_to_reach(kt.best_validation)) if kt else "-")
            + " | "
            + (fmt(outcome.seconds_to_reach(op.best_validation)) if op else "-")
            + f" | {outcome.search_seconds:.0f} | {outcome.total_seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def plot(outcomes: list[Outcome], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(o.dataset for o in outcomes))
    figure, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        for outcome in (o for o in outcomes if o.dataset == dataset):
            if outcome.timeline:
                # from the first finished trial: before it the tool had no score at all
                seconds, best = zip(*outcome.timeline, strict=True)
                axis.step(
                    (*seconds, outcome.search_seconds),
                    (*best, best[-1]),
                    where="post",
                    marker="o",
                    markevery=list(range(len(seconds))),
                    label=f"{outcome.tool} (test {outcome.test_accuracy:.3f})",
                )
        axis.set_xlim(left=0)
        axis.set_title(dataset)
        axis.set_xlabel("seconds of search")
        axis.set_ylabel("best validation accuracy so far")
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["GunPoint", "ItalyPowerDemand", "ArrowHead"]
    )
    parser.add_argument("--budget", type=float, default=300, help="search seconds per tool")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    outcomes: list[Outcome] = []
    for name in args.datasets:
        split = load_split(name, args.random_state)
        for tool in args.tools:
            print(f"[compare] {name}: {tool} for {args.budget:.0f} s ...", flush=True)
            outcome = RUNNERS[tool](split, args.budget, args.random_state)
            outcomes.append(outcome)
            print(
                f"[compare] {name}: {tool}: {outcome.trials_finished} trials, best validation "
                f"{outcome.best_validation:.3f}, test accuracy {outcome.test_accuracy:.3f}",
                flush=True,
            )
            # written after every tool, so an interrupted run keeps what it measured
            pd.DataFrame(rows_of(outcomes)).to_csv(args.out / "results.csv", index=False)
    pd.DataFrame(
        [
            {"dataset": o.dataset, "tool": o.tool, "seconds": s, "best_validation": b}
            for o in outcomes
            for s, b in o.timeline
        ]
    ).to_csv(args.out / "timelines.csv", index=False)
    table = markdown(outcomes, args.budget)
    (args.out / "results.md").write_text(table, encoding="utf-8")
    plot(outcomes, args.out / "accuracy_vs_time.png")
    print(table)
    print(f"written to {args.out}/: results.csv, timelines.csv, results.md, accuracy_vs_time.png")


if __name__ == "__main__":
    main()
