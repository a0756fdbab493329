"""Published test accuracies of well-known classifiers, beside 1-NN DTW and ROCKET run here.

Usage::

    python benchmarks/reference_accuracy.py --datasets GunPoint ItalyPowerDemand ArrowHead

Prints a Markdown table: the published accuracy on the archive's default train/test split
of 1-NN DTW, ROCKET, FCN, ResNet and InceptionTime, and the accuracy of aeon's 1-NN DTW
(full window) and ROCKET (10,000 kernels) measured on this machine on the same split, as
a check that our data are the archive's.

Sources of the published numbers (each the source's own results file):

* 1-NN DTW, full warping window: the UCR archive's summary of error rates, Dau et al.,
  "The UCR time series archive", IEEE/CAA J. Autom. Sinica 6(6), 2019 (accuracy =
  1 - error).
* ROCKET: Dempster, Petitjean and Webb, "ROCKET: exceptionally fast and accurate time
  series classification using random convolutional kernels", Data Min. Knowl. Disc. 34,
  2020; ``results/results_ucr.csv`` of github.com/angus924/rocket (mean of 10 runs).
* FCN and ResNet: Ismail Fawaz et al., "Deep learning for time series classification: a
  review", Data Min. Knowl. Disc. 33, 2019; ``results/results-ucr.csv`` of
  github.com/hfawaz/dl-4-tsc (mean of 10 runs, two decimals as published).
* InceptionTime: Ismail Fawaz et al., "InceptionTime: finding AlexNet for time series
  classification", Data Min. Knowl. Disc. 34, 2020; ``results-InceptionTime-85.csv`` of
  github.com/hfawaz/InceptionTime (the ensemble of five networks).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

#: dataset -> classifier -> published test accuracy on the default split
PUBLISHED: dict[str, dict[str, float]] = {
    "GunPoint": {
        "1-NN DTW": 0.907,
        "ROCKET": 1.000,
        "FCN": 1.00,
        "ResNet": 0.99,
        "InceptionTime": 1.000,
    },
    "ItalyPowerDemand": {
        "1-NN DTW": 0.950,
        "ROCKET": 0.970,
        "FCN": 0.96,
        "ResNet": 0.96,
        "InceptionTime": 0.968,
    },
    "ArrowHead": {
        "1-NN DTW": 0.703,
        "ROCKET": 0.814,
        "FCN": 0.85,
        "ResNet": 0.84,
        "InceptionTime": 0.829,
    },
}
CLASSIFIERS = ("1-NN DTW", "ROCKET", "FCN", "ResNet", "InceptionTime")


def measured(name: str, seed: int) -> dict[str, float]:
    """Test accuracy of aeon's 1-NN DTW and ROCKET on the shipped split."""
    from aeon.classification.convolution_based import RocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
    from aeon.datasets import load_classification

    X_train, y_train = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    scores = {}
    for label, model in (
        ("1-NN DTW", KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1)),
        ("ROCKET", RocketClassifier(n_kernels=10_000, random_state=seed)),
    ):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        scores[label] = float(np.mean(model.predict(X_test) == y_test))
        scores[label + " seconds"] = time.perf_counter() - start
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(PUBLISHED))
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args()
    print(
        "| dataset | " + " | ".join(f"{c} (published)" for c in CLASSIFIERS) + " | "
        "1-NN DTW (here) | ROCKET (here) |"
    )
    print("|---|" + "---:|" * (len(CLASSIFIERS) + 2))
    for name in args.datasets:
        published = PUBLISHED.get(name, {})
        here = measured(name, args.random_state)
        cells = [f"{published[c]:.3f}" if c in published else "-" for c in CLASSIFIERS]
        print(
            f"| {name} | " + " | ".join(cells) + f" | {here['1-NN DTW']:.3f} | "
            f"{here['ROCKET']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
