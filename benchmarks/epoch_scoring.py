"""What scoring the validation fold after every epoch costs a trial, side by side.

Usage::

    python benchmarks/epoch_scoring.py --dataset ItalyPowerDemand --repeats 20

A search trial scores its validation fold after every epoch, twice (the objective and the
validation-loss tie-breaker). This times, in one process and one after the other:

* one prediction of the validation fold through Keras' ``Model.predict`` (what the
  estimators used before) and through ``GRUClassifier.predict`` (``predict_on_batch`` on
  padded 128-row batches);
* both per-epoch scorers of a trial (``Objective`` and its validation loss);
* one epoch of training, for scale.

Prints milliseconds per call and the ratios.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def per_call(function, repeats: int) -> float:
    function()  # traced and compiled outside the timing
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    from bench_data import fit_and_validation, load

    from gru_search import GRUClassifier
    from gru_search.estimators import _PREDICT_BATCH, _pad_rows
    from gru_search.trials import Objective

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ItalyPowerDemand")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    data = load(args.dataset)
    X_fit, y_fit, X_val, y_val = fit_and_validation(data)
    n_val = len(y_val)
    estimator = GRUClassifier(epochs=20, random_state=0).fit(X_fit, y_fit)
    objective = Objective.create("accuracy", estimator)
    inputs = estimator._model_inputs(estimator._validate_X(X_val, reset=False))
    padded = _pad_rows(inputs, -n_val % _PREDICT_BATCH)

    timings = {
        "Model.predict (before)": per_call(
            lambda: estimator.model_.predict(padded, batch_size=_PREDICT_BATCH, verbose=0),
            args.repeats,
        ),
        "GRUClassifier.predict (predict_on_batch)": per_call(
            lambda: estimator.predict(X_val), args.repeats
        ),
        "both per-epoch scorers": per_call(
            lambda: (
                objective(estimator, X_val, y_val),
                objective.validation_loss(estimator, X_val, y_val),
            ),
            args.repeats,
        ),
    }
    epoch = float(np.median(estimator.epoch_seconds_[1:])) * 1000
    print(f"{args.dataset}: {len(y_fit)} training, {n_val} validation sequences")
    print("| call | ms per call | x one training epoch |")
    print("|---|---:|---:|")
    for name, ms in timings.items():
        print(f"| {name} | {ms:.1f} | {ms / epoch:.2f} |")
    print(f"| one training epoch (median) | {epoch:.1f} | 1.00 |")
    before = timings["Model.predict (before)"]
    after = timings["GRUClassifier.predict (predict_on_batch)"]
    print(f"\nModel.predict / GRUClassifier.predict: {before / after:.1f}x")


if __name__ == "__main__":
    main()
