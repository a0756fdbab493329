"""GRUTextClassifier: raw strings in, the vocabulary inside the Keras model."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from gru_search import GRUTextClassifier, load, save
from gru_search.exceptions import DataError

POSITIVE = ["good", "great", "love", "fine", "nice"]
NEGATIVE = ["bad", "awful", "hate", "poor", "worst"]
FILLER = ["the", "film", "plot", "was", "a", "it", "very", "and", "so"]


def reviews(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Short reviews whose one opinion word, anywhere among filler words, is the label."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        positive = bool(rng.integers(0, 2))
        words = list(rng.choice(FILLER, rng.integers(1, 8)))
        words.insert(
            int(rng.integers(0, len(words) + 1)), rng.choice(POSITIVE if positive else NEGATIVE)
        )
        texts.append(" ".join(words).capitalize() + rng.choice(["", ".", "!"]))
        labels.append("pos" if positive else "neg")
    return texts, np.asarray(labels)


def small(**params) -> GRUTextClassifier:
    defaults = dict(units=(16,), embedding_dim=16, epochs=6, random_state=0, jit_compile=False)
    return GRUTextClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted():
    texts, labels = reviews(300)
    return small().fit(texts, labels), texts, labels


def test_raw_strings_are_learned_and_predicted(fitted):
    classifier, _, _ = fitted
    test_texts, test_labels = reviews(100, seed=1)
    assert classifier.score(test_texts, test_labels) > 0.9
    assert list(classifier.predict(["I LOVE it!", "the worst plot"])) == ["pos", "neg"]
    # the model itself reads strings: the vocabulary lives inside it
    assert "string" in str(classifier.model_.inputs[0].dtype)
    assert classifier.vocabulary_size_ == len(POSITIVE + NEGATIVE + FILLER) + 2


def test_padding_is_masked_so_the_padded_length_changes_nothing():
    texts, labels = reviews(120)
    short = small(sequence_length=9, epochs=2).fit(texts, labels)
    padded = small(sequence_length=40, epochs=2).fit(texts, labels)
    probe = reviews(20, seed=2)[0]
    # 31 more padding steps per text, read by an unmasked GRU, would change the model
    np.testing.assert_allclose(short.predict_proba(probe), padded.predict_proba(probe), atol=1e-5)


def test_the_automatic_length_is_the_95th_percentile_of_the_texts():
    texts = ["word " * n for n in range(1, 101)]
    labels = ["a", "b"] * 50
    classifier = small(epochs=1).fit(texts, labels)
    assert classifier.sequence_length_ == 96
    assert small(epochs=1, sequence_length=7).fit(texts, labels).sequence_length_ == 7


@pytest.mark.parametrize("ngram_weight", [0.0, 0.5])
def test_a_saved_text_classifier_predicts_raw_strings_identically_in_a_fresh_process(
    fitted, tmp_path, ngram_weight
):
    classifier, texts, labels = fitted
    if ngram_weight:  # the n-gram vocabulary and regression travel inside the model too
        classifier = small(epochs=1, ngram_weight=ngram_weight).fit(texts, labels)
    save(classifier, tmp_path / "model")
    sentences = ["a new review i love", "", "hate hate hate", "unseen words only"]
    script = (
        "import sys, json, gru_search\n"
        "model = gru_search.load(sys.argv[1])\n"
        "print(json.dumps(model.predict_proba(json.loads(sys.argv[2])).tolist()))\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(tmp_path / "model"),
            pd.Series(sentences).to_json(orient="values"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    fresh = np.asarray(json.loads(result.stdout))
    np.testing.assert_array_equal(fresh, classifier.predict_proba(sentences))
    assert list((tmp_path / "model").iterdir()) and load(tmp_path / "model").sequence_length_ == (
        classifier.sequence_length_
    )


def test_scikit_learn_clone_pipeline_grid_search_and_cross_validation(fitted):
    _, texts, labels = fitted
    assert clone(small()).get_params() == small().get_params()
    pipeline = make_pipeline(
        FunctionTransformer(lambda x: [t.replace("!", "") for t in x]), small(epochs=3)
    )
    assert pipeline.fit(texts, labels).score(texts, labels) > 0.8
    scores = cross_val_score(small(epochs=3), np.asarray(texts, dtype=object), labels, cv=2)
    assert scores.shape == (2,) and scores.min() > 0.7
    grid = GridSearchCV(small(epochs=3), {"embedding_dim": [4, 16]}, cv=2).fit(
        pd.Series(texts), labels
    )
    assert grid.best_params_["embedding_dim"] in (4, 16) and grid.best_score_ > 0.7


def test_token_id_sequences_train_and_unseen_ids_read_as_unknown():
    rng = np.random.default_rng(0)
    sequences = [list(rng.integers(2, 30, rng.integers(1, 9))) for _ in range(200)]
    labels = np.array(["has 1" if 1 in s else "no 1" for s in sequences])
    for s, label in zip(sequences, labels, strict=True):
        if label == "no 1" and rng.random() < 0.5:
            s.insert(0, 1)  # now about half the sequences hold a 1
    labels = np.array(["has 1" if 1 in s else "no 1" for s in sequences])
    classifier = small(epochs=10).fit(sequences, labels)
    assert classifier.model_.inputs[0].shape[1] == classifier.sequence_length_
    assert classifier.score(sequences, labels) > 0.9
    assert classifier.predict([[1, 500, 10_000]]).shape == (1,)  # ids never seen: unknown
    with pytest.raises(DataError, match="was fitted on token-id sequences"):
        classifier.predict(["text"])


def test_class_weights_weigh_the_loss(fitted):
    _, texts, labels = fitted
    ignoring_pos = small(epochs=3, class_weight={"pos": 0.0, "neg": 1.0}).fit(texts, labels)
    assert set(ignoring_pos.predict(texts)) == {"neg"}
    assert small(epochs=1, class_weight="balanced").fit(texts, labels).score(texts, labels) > 0.5
    with pytest.raises(ValueError, match="class_weight names 'neutral'"):
        small(class_weight={"neutral": 2.0}).fit(texts, labels)


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["good", None, "bad"], ["a", "b", "a"], r"the text at index 1 is missing \(None/NaN\)"),
        (["good", float("nan")], ["a", "b"], r"the text at index 1 is missing"),
        (["good", 3, "bad"], ["a", "b", "a"], r"the text at index 1 is int: 3"),
        (["good", "bad"], ["a", "a"], "needs samples of at least 2 classes"),
        (["!!", "", "..."], ["a", "b", "a"], "the training texts hold no words"),
        ([], [], "needs at least one text"),
        ([[1, -2], [3]], ["a", "b"], "token ids must be non-negative integers; sequence 0"),
    ],
)
def test_bad_texts_get_an_error_that_says_which(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        small(epochs=1).fit(texts, labels)


def test_empty_texts_read_as_one_unknown_word_and_a_large_vocabulary_shrinks_to_the_data():
    texts, labels = reviews(60)
    classifier = small(epochs=1, max_tokens=1_000_000, pooling="mean").fit(
        [*texts, ""], [*labels, "pos"]
    )
    assert classifier.vocabulary_size_ == len(POSITIVE + NEGATIVE + FILLER) + 2
    probabilities = classifier.predict_proba(["", "   ", "?!"])
    assert np.isfinite(probabilities).all()  # no 0/0 from a text without words


def test_an_ngram_share_averages_a_word_pair_regression_with_the_unchanged_gru(fitted):
    _, texts, labels = fitted
    probe = ["a new review i love", "", "not good, not bad", "the worst film"]
    alone = small(epochs=1).fit(texts, labels)
    epoch_end = []  # what a search's per-epoch scoring sees during training
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: epoch_end.append(blended.predict_proba(probe))
    )
    blended = small(epochs=1, ngram_weight=0.25)
    blended.fit(texts, labels, callbacks=[record])
    ngram = (
        np.asarray(
            blended.model_.get_layer("ngram_regression").predict_on_batch(
                np.asarray(probe, dtype=object)[:, None]
            )
        )
        .reshape(-1)
        .astype(np.float64)
    )
    # the regression is fitted apart and leaves the GRU's training as it was
    expected = 0.75 * alone.predict_proba(probe)[:, 1] + 0.25 * ngram
    np.testing.assert_allclose(blended.predict_proba(probe)[:, 1], expected, atol=1e-6)
    np.testing.assert_allclose(epoch_end[0], blended.predict_proba(probe), atol=1e-6)
    test_texts, test_labels = reviews(100, seed=1)
    assert small(epochs=1, ngram_weight=0.9).fit(texts, labels).score(
        test_texts, test_labels
    ) > max(0.95, alone.score(test_texts, test_labels))


def test_the_ngram_layer_computes_sublinear_tfidf_of_unit_length():
    from sklearn.feature_extraction.text import TfidfTransformer

    from gru_search.text_ngrams import NgramLogits, ngram_counts, tfidf_features

    texts = np.asarray(["good good film", "bad film", "film", "", "good bad bad bad"])
    vectorizer = keras.layers.TextVectorization(ngrams=2, output_mode="count", sparse=True)
    vectorizer.adapt(texts)
    counts = ngram_counts(vectorizer, texts)
    reference = TfidfTransformer(sublinear_tf=True).fit(counts)  # scikit-learn's TF-IDF
    features = tfidf_features(counts, reference.idf_)
    np.testing.assert_allclose(features.toarray(), reference.transform(counts).toarray())
    layer = NgramLogits(counts.shape[1], 2)
    kernel = np.random.default_rng(0).normal(size=(counts.shape[1], 2)).astype(np.float32)
    layer.idf.assign(reference.idf_.astype(np.float32))
    layer.kernel.assign(kernel)
    layer.bias.assign(np.array([0.5, -0.5], dtype=np.float32))
    logits = np.asarray(layer(vectorizer(texts[:, None])))
    np.testing.assert_allclose(logits, features @ kernel + [0.5, -0.5], rtol=1e-5, atol=1e-5)


def test_an_ngram_share_needs_raw_strings():
    with pytest.raises(DataError, match="ngram_weight > 0 needs raw strings"):
        small(epochs=1, ngram_weight=0.5).fit([[1, 2], [3], [2, 2]], ["a", "b", "a"])


TINY_TEXT_SPACE = {
    "task": "text",
    "name": "tiny-text",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [8, 16]},
    },
    "params": {
        "embedding_dim": {"type": "categorical", "choices": [8, 16]},
        "pooling": {"type": "categorical", "choices": ["last", "mean"]},
        "ngram_weight": {"type": "categorical", "choices": [0.0, 0.5]},
    },
    "fixed": {"jit_compile": False, "batch_size": 32},
    "training": {"epochs": 4, "metric": "f1_macro", "pruning_warmup": 2, "finalists": 1},
}


def test_grusearchcv_searches_a_text_space_and_refits_a_string_model(fitted):
    from gru_search import GRUClassifier, GRUSearchCV, SpaceError
    from gru_search.spaces import SearchSpace

    _, texts, labels = fitted
    space = SearchSpace.from_dict(TINY_TEXT_SPACE)
    search = GRUSearchCV(
        GRUTextClassifier(), space=space, n_trials=2, random_state=0, trials_per_process=None
    ).fit(texts, labels)
    assert isinstance(search.best_estimator_, GRUTextClassifier)
    assert search.best_params_["embedding_dim"] in (8, 16)
    assert search.predict(["i love this film"]).shape == (1,)
    with pytest.raises(SpaceError, match="goes with GRUTextClassifier, and only with it"):
        GRUSearchCV(GRUClassifier(), space=space, n_trials=1).fit(texts, labels)
    with pytest.raises(SpaceError, match="goes with GRUTextClassifier, and only with it"):
        GRUSearchCV(GRUTextClassifier(), space="quick", n_trials=1).fit(texts, labels)
    with pytest.raises(SpaceError, match="unknown GRUTextClassifier parameter"):
        SearchSpace.from_dict({**TINY_TEXT_SPACE, "fixed": {"scaling": "standard"}})
