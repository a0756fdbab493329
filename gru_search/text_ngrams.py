"""A linear bag-of-n-grams model inside Keras, the "wide" part of a text classifier.

:class:`GRUTextClassifier` with ``ngram_weight > 0`` averages its GRU's class
probabilities with those of a logistic regression on TF-IDF word 1-2-grams (sublinear
term frequency, smoothed idf, rows scaled to unit length: scikit-learn's
``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)`` on Keras' tokens). On short
texts word pairs carry much of the signal and a GRU trained from scratch learns them
slowly; the two models err differently, so their average beats either.

The regression is fitted by scikit-learn (a convex problem: no epochs to choose) and
then lives in Keras layers: a ``TextVectorization`` holding the n-gram vocabulary
(sparse counts) and :class:`NgramLogits` holding the idf weights and coefficients. The
exported model therefore reads raw strings with no side file, and loads with
``safe_mode=True``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import scipy.sparse as sp

# The counts are sparse (hundreds of thousands of n-grams, a dozen per text): only
# TensorFlow's sparse ops keep them so. Text models need TensorFlow anyway (the
# vectoriser is a TensorFlow layer).
import tensorflow as tf
from sklearn.linear_model import LogisticRegression

#: Texts vectorised per call while fitting (bounds the memory of the sparse counts).
_CHUNK = 4096


@keras.saving.register_keras_serializable(package="gru_search")
class NgramLogits(keras.layers.Layer):
    """Logits of a linear model on TF-IDF features, from sparse n-gram counts.

    ``(1 + log count) * idf`` per n-gram, each row scaled to unit length, times
    ``kernel`` plus ``bias``. The weights are set from a fitted regression, not trained.

    Parameters
    ----------
    vocabulary_size : int
        Columns of the counts (the vectoriser's vocabulary, its unknown token included).
    n_outputs : int
        Logits per text: 1 for two classes (sigmoid), else one per class (softmax).
    """

    def __init__(self, vocabulary_size: int, n_outputs: int, **kwargs: Any) -> None:
        kwargs["trainable"] = False  # set from a fitted regression, never trained
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.n_outputs = n_outputs
        self.idf = self.add_weight(
            shape=(vocabulary_size,), initializer="ones", trainable=False, name="idf"
        )
        self.kernel = self.add_weight(
            shape=(vocabulary_size, n_outputs), initializer="zeros", trainable=False, name="kernel"
        )
        self.bias = self.add_weight(
            shape=(n_outputs,), initializer="zeros", trainable=False, name="bias"
        )

    def call(self, counts: Any) -> Any:
        counts = tf.sparse.reorder(counts)
        rows, columns = counts.indices[:, 0], counts.indices[:, 1]
        values = (1.0 + tf.math.log(tf.cast(counts.values, "float32"))) * tf.gather(
            self.idf, columns
        )
        squares = tf.math.unsorted_segment_sum(values**2, rows, tf.shape(counts, "int64")[0])
        values = values / tf.maximum(tf.gather(tf.sqrt(squares), rows), 1e-12)
        features = tf.SparseTensor(counts.indices, values, counts.dense_shape)
        return tf.sparse.sparse_dense_matmul(features, self.kernel) + self.bias

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.n_outputs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "n_outputs": self.n_outputs,
        }


def tfidf_features(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """What :class:`NgramLogits` computes before its kernel, in SciPy (for the fit)."""
    features = counts.astype(np.float64)
    features.data = 1.0 + np.log(features.data)
    features = features.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ features


def ngram_counts(vectorizer: keras.layers.TextVectorization, texts: np.ndarray) -> sp.csr_matrix:
    """The vectoriser's sparse counts of ``texts`` (1-D strings) as a CSR matrix."""
    chunks = []
    for start in range(0, len(texts), _CHUNK):
        counts = vectorizer(texts[start : start + _CHUNK, None])
        indices = counts.indices.numpy()
        chunks.append(
            sp.csr_matrix(
                (counts.values.numpy(), (indices[:, 0], indices[:, 1])),
                shape=tuple(counts.dense_shape.numpy()),
            )
        )
    return sp.vstack(chunks).tocsr()


def predict_strings(model: keras.Model, texts: np.ndarray) -> np.ndarray:
    """``model``'s outputs for 1-D strings, in chunks (``Model.predict`` refuses object
    arrays; ``predict_on_batch`` takes them)."""
    column = np.asarray(texts, dtype=object).reshape(-1, 1)
    return np.concatenate(
        [
            np.asarray(model.predict_on_batch(column[start : start + _CHUNK]))
            for start in range(0, len(column), _CHUNK)
        ]
    )


def fit_ngram_model(
    texts: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray,
    *,
    C: float,
    max_tokens: int,
    seed: int,
) -> keras.Model:
    """Fit the n-gram regression and return it as a Keras model of raw strings.

    Parameters
    ----------
    texts : ndarray of str, shape (n_samples,)
    targets : ndarray of int, shape (n_samples,)
        Class indices ``0 .. n_classes - 1``, every class present.
    n_classes : int
        Classes; two get one sigmoid output, more a softmax (the GRU's outputs).
    sample_weight : ndarray of shape (n_samples,)
        Weights of the samples (class weights folded in).
    C : float
        Inverse regularisation strength of the logistic regression.
    max_tokens : int
        Largest n-gram vocabulary (the most frequent word 1-2-grams).
    seed : int
        Seeds the regression's solver.

    Returns
    -------
    keras.Model
        Input ``(n, 1)`` strings, output ``(n, 1)`` probabilities of the second class
        (two classes) or ``(n, n_classes)`` probabilities, as the GRU's.
    """
    counter = keras.layers.TextVectorization(
        max_tokens=max_tokens, ngrams=2, output_mode="count", sparse=True
    )
    counter.adapt(texts, batch_size=_CHUNK)
    vocabulary = counter.get_vocabulary(include_special_tokens=False)
    counts = ngram_counts(counter, texts)
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + len(texts)) / (1.0 + document_frequency)) + 1.0  # smoothed
    regression = LogisticRegression(C=C, max_iter=1000, random_state=seed).fit(
        tfidf_features(counts, idf), targets, sample_weight=sample_weight
    )

    text = keras.Input((1,), dtype="string", name="text")
    vectorizer = keras.layers.TextVectorization(
        vocabulary=vocabulary, ngrams=2, output_mode="count", sparse=True, name="ngrams"
    )
    n_outputs = 1 if n_classes == 2 else n_classes
    logits_layer = NgramLogits(counts.shape[1], n_outputs, name="ngram_logits")
    logits = logits_layer(vectorizer(text))
    activation = "sigmoid" if n_outputs == 1 else "softmax"
    outputs = keras.layers.Activation(activation, name="ngram_probabilities")(logits)
    logits_layer.idf.assign(idf.astype(np.float32))
    logits_layer.kernel.assign(regression.coef_.T.astype(np.float32))
    logits_layer.bias.assign(regression.intercept_.astype(np.float32))
    return keras.Model(text, outputs, name="ngram_regression")


__all__ = ["NgramLogits", "fit_ngram_model", "ngram_counts", "predict_strings", "tfidf_features"]
