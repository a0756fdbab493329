"""What a search trial spends outside its training steps, before and after, side by side.

Usage::

    python benchmarks/trial_overhead.py --dataset ItalyPowerDemand --rounds 3

On a few dozen series an epoch is four optimiser steps, so the fixed costs around them
decide how many trials fit in a budget. This times, in one process, interleaved round by
round, one trial's fit (``GRUClassifier()``'s defaults, 100 epochs, the validation fold
scored after every epoch as a search trial does):

* **before**: the rows given to ``Model.fit`` as arrays (Keras builds two ``tf.data``
  iterators an epoch) and the two per-epoch scorers predicting the fold twice;
* **after**: the rows fed from one repeated pipeline (:mod:`gru_search.feeding`) and both
  scores from one prediction (``Objective.score_and_loss``).

``jit_compile=False`` in both, so that XLA's compile time (seconds, the same either way)
does not blur the comparison. Prints the median seconds of each and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def main() -> None:
    from bench_data import fit_and_validation, load

    from gru_search import GRUClassifier, feeding
    from gru_search.trials import EpochReporter, Objective, release_keras_memory

    class SeparateScoring(EpochReporter):
        """The reporter as it was: the objective and the loss each predict the fold."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.values.append(self.objective(self.estimator, self.X_val, self.y_val))
            self.losses.append(
                self.objective.validation_loss(self.estimator, self.X_val, self.y_val)
            )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ItalyPowerDemand")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    data = load(args.dataset)
    X_fit, y_fit, X_val, y_val = fit_and_validation(data)
    n_val = len(y_val)
    pipeline_bytes = feeding.PIPELINE_MAX_BYTES

    def trial_fit(before: bool) -> tuple[float, float]:
        feeding.PIPELINE_MAX_BYTES = 0 if before else pipeline_bytes
        estimator = GRUClassifier(jit_compile=False, random_state=0)
        objective = Objective.create("accuracy", estimator)
        reporter = (SeparateScoring if before else EpochReporter)(
            estimator, objective, X_val, y_val, None
        )
        start = time.perf_counter()
        estimator.fit(X_fit, y_fit, callbacks=[reporter])
        seconds = time.perf_counter() - start
        release_keras_memory()
        return seconds, float(np.median(estimator.epoch_seconds_[1:]))

    results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        for name in results:
            results[name].append(trial_fit(before=name == "before"))
            fit_s, epoch_s = results[name][-1]
            print(f"round {round_ + 1} {name}: fit {fit_s:.1f} s, epoch {epoch_s * 1000:.0f} ms")
    feeding.PIPELINE_MAX_BYTES = pipeline_bytes

    print(f"\n{args.dataset}: {len(y_fit)} training, {n_val} validation sequences, 100 epochs")
    print("| | fit s (median) | training epoch ms (median) |")
    print("|---|---:|---:|")
    medians = {}
    for name, runs in results.items():
        medians[name] = statistics.median(s for s, _ in runs)
        epoch_ms = statistics.median(e for _, e in runs) * 1000
        print(f"| {name} | {medians[name]:.1f} | {epoch_ms:.0f} |")
    print(f"\nbefore / after: {medians['before'] / medians['after']:.2f}x")


if __name__ == "__main__":
    main()
