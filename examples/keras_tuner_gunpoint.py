"""KerasTuner's Hyperband over a gru-search space, its winner as a GRUClassifier.

    pip install "gru-search[keras-tuner]"
    python examples/keras_tuner_gunpoint.py [--space quick]

Both directions of gru_search.integrations.keras_tuner on aeon's GunPoint: the YAML space
becomes a KerasTuner HyperModel (same distributions, same model builder), and the best
hyperparameters KerasTuner found become a fitted scikit-learn estimator.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import keras_tuner
import numpy as np
from sklearn.preprocessing import LabelEncoder

from gru_search import GRUClassifier, load_space
from gru_search.datasets import load_aeon
from gru_search.integrations.keras_tuner import estimator_from_tuner, to_hypermodel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_aeon("GunPoint")
    space = load_space(args.space)
    labels = LabelEncoder().fit(data.y_train)
    y_train = labels.transform(data.y_train)
    rng = np.random.default_rng(args.seed)
    rows = rng.permutation(len(y_train))
    fit_rows, val_rows = rows[: int(0.8 * len(rows))], rows[int(0.8 * len(rows)) :]

    hypermodel = to_hypermodel(
        space, "classification", data.X_train.shape[1:], len(labels.classes_)
    )
    tuner = keras_tuner.Hyperband(
        hypermodel,
        objective="val_accuracy",
        max_epochs=space.training.epochs,
        seed=args.seed,
        directory=tempfile.mkdtemp(prefix="keras-tuner-"),
        project_name="gunpoint",
    )
    start = time.perf_counter()
    tuner.search(
        data.X_train[fit_rows],
        y_train[fit_rows],
        validation_data=(data.X_train[val_rows], y_train[val_rows]),
        verbose=0,
    )
    trials = len(tuner.oracle.trials)
    print(
        f"KerasTuner Hyperband over space {space.name!r}: {trials} trials in "
        f"{time.perf_counter() - start:.0f} s"
    )
    print("best hyperparameters:", tuner.get_best_hyperparameters(1)[0].values)

    estimator = estimator_from_tuner(tuner, GRUClassifier(random_state=args.seed), space)
    print(
        "as GRUClassifier parameters:",
        {
            k: v
            for k, v in estimator.get_params().items()
            if k in ("units", "cell", "learning_rate", "batch_size", "epochs", "recurrent_dropout")
        },
    )
    estimator.fit(data.X_train, data.y_train)
    accuracy = estimator.score(data.X_test, data.y_test)
    print(f"test accuracy of the fitted GRUClassifier: {accuracy:.4f}")


if __name__ == "__main__":
    main()
