"""Text classification with a GRU: :class:`GRUTextClassifier` reads raw strings.

``fit(texts, y)`` learns a vocabulary (``keras.layers.TextVectorization``: lower case,
punctuation stripped, split on white space) and trains an embedding, the recurrent
layers and a softmax on the texts' token ids, padded with 0 and masked so that a short
text is not read as a run of padding. The fitted ``model_`` takes the raw strings: its
first layer is the vectoriser, so the vocabulary is saved inside the ``.keras`` file and
``gru_search.load(folder).predict(["a new review"])`` needs no side file.

Token-id sequences (lists of non-negative ints, of any lengths) work too, for text
tokenised elsewhere: id ``k`` becomes ``k + 2`` (0 is padding, 1 an unknown token) and
ids beyond those seen in training read as unknown.

With ``ngram_weight > 0`` the predicted probabilities are a weighted average of the
GRU's and those of a logistic regression on TF-IDF word 1-2-grams, fitted on the same
texts (:mod:`gru_search.text_ngrams`); both parts are inside the one Keras model.

Text models run on the TensorFlow backend (the vectoriser is a TensorFlow layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import keras
import numpy as np
import pandas as pd
from keras import ops
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gru_search.estimators import NOT_SEARCHABLE, GRUClassifier
from gru_search.exceptions import DataError
from gru_search.model import GRUConfig, compile_model, recurrent_head
from gru_search.preprocessing import checked_count
from gru_search.text_ngrams import fit_ngram_model, predict_strings

#: The longest ``sequence_length="auto"`` picks (tokens); longer texts are truncated.
MAX_AUTO_SEQUENCE_LENGTH = 256
#: Token ids below this are reserved: 0 padding, 1 an unknown (out-of-vocabulary) token.
RESERVED_IDS = 2


@dataclass(frozen=True)
class TextBatch:
    """Validated texts (``kind="text"``: an object array of str) or token-id sequences
    (``kind="tokens"``: a list of int64 arrays)."""

    kind: str
    values: Any

    @property
    def n_samples(self) -> int:
        return len(self.values)

    def take(self, rows: np.ndarray) -> TextBatch:
        if self.kind == "text":
            return TextBatch(self.kind, self.values[rows])
        return TextBatch(self.kind, [self.values[i] for i in rows])


def check_texts(X: Any, estimator_name: str = "GRUTextClassifier") -> TextBatch:
    """Strings (a list, 1-D array or Series) or token-id sequences, checked.

    Raises
    ------
    DataError
        None/NaN or non-string entries, negative or non-integer token ids, no samples;
        the message gives the index of the first bad entry.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise DataError(
                f"{estimator_name} reads one text column; got a table of {X.shape[1]} "
                "columns (select the text column: X['text'])"
            )
        X = X.iloc[:, 0]
    values = list(X.tolist() if isinstance(X, (pd.Series, np.ndarray)) else X)
    if not values:
        raise DataError(f"{estimator_name} needs at least one text, got none")
    if all(isinstance(v, str) for v in values):
        return TextBatch("text", np.asarray(values, dtype=object))
    if all(_is_token_sequence(v) for v in values):
        tokens = [np.asarray(v, dtype=np.int64) for v in values]
        for index, row in enumerate(tokens):
            if row.size and row.min() < 0:
                raise DataError(
                    f"token ids must be non-negative integers; sequence {index} holds "
                    f"{int(row.min())}"
                )
        return TextBatch("tokens", tokens)
    index, value = next((i, v) for i, v in enumerate(values) if not isinstance(v, str) or v != v)
    what = "missing (None/NaN)" if value is None or value != value else type(value).__name__
    raise DataError(
        f"{estimator_name} reads strings (or token-id sequences); the text at index "
        f"{index} is {what}: {value!r}. Drop or fill missing texts first"
    )


def _is_token_sequence(value: Any) -> bool:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
        return False
    array = np.asarray(value)
    return array.ndim == 1 and (array.size == 0 or np.issubdtype(array.dtype, np.integer))


@keras.saving.register_keras_serializable(package="gru_search")
class NonEmptyTokens(keras.layers.Layer):
    """Turns an all-padding row (an empty text) into one unknown token (id 1), so that
    every text has a real step to read (mean pooling over no steps would be 0 / 0)."""

    def call(self, ids: Any) -> Any:
        empty = ops.all(ops.equal(ids, 0), axis=1, keepdims=True)
        first = ops.equal(ops.arange(ops.shape(ids)[1]), 0)[None, :]
        return ops.where(ops.logical_and(empty, first), ops.ones_like(ids), ids)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


@dataclass(frozen=True)
class TextPreprocessor:
    """What the fit learned about the input: its kind, the padded length and the number
    of token ids the embedding knows (reserved ids included)."""

    kind: str
    sequence_length: int
    vocabulary_size: int
    masked: ClassVar[bool] = False  # the mask travels with the embedding's output

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_kind": self.kind,
            "sequence_length": self.sequence_length,
            "vocabulary_size": self.vocabulary_size,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TextPreprocessor:
        """The inverse of :meth:`to_dict`, every value checked (ValueError otherwise)."""
        if state["input_kind"] not in ("text", "tokens"):
            raise ValueError(f"input_kind must be text or tokens, got {state['input_kind']!r}")
        return cls(
            state["input_kind"],
            checked_count(state["sequence_length"], "sequence_length", 1),
            checked_count(state["vocabulary_size"], "vocabulary_size", RESERVED_IDS + 1),
        )

    def token_ids(self, tokens: Sequence[np.ndarray]) -> np.ndarray:
        """Token-id sequences as the model's ``(n, sequence_length)`` int32 input: shifted
        past the reserved ids, unknown ids as 1, truncated, right-padded with 0."""
        ids = np.zeros((len(tokens), self.sequence_length), dtype=np.int32)
        for row, sequence in enumerate(tokens):
            shifted = sequence[: self.sequence_length] + RESERVED_IDS
            ids[row, : len(shifted)] = np.where(shifted < self.vocabulary_size, shifted, 1)
        return ids


class GRUTextClassifier(GRUClassifier):
    """Text classifier: vocabulary, embedding and GRU layers in one Keras model.

    Parameters
    ----------
    max_tokens : int, default=20000
        Largest vocabulary (the most frequent words of the training texts, plus padding
        and unknown). A corpus with fewer distinct words gets them all:
        ``vocabulary_size_`` says how many.
    sequence_length : int or "auto", default="auto"
        Tokens read per text (longer texts are truncated, shorter ones padded and
        masked). ``"auto"``: the 95th percentile of the training texts' lengths, at most
        256.
    embedding_dim : int, default=64
        Width of the learned token vectors.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss (scikit-learn's convention), multiplied with
        ``sample_weight``.
    ngram_weight : float in [0, 1), default=0.0
        Share of a linear bag-of-n-grams model in the predicted probabilities: a
        logistic regression on TF-IDF word 1-2-grams (sublinear term frequency, rows of
        unit length), fitted on the same texts and weights before the GRU trains. 0: the
        GRU alone. On short texts (tweets) a GRU averaged with such a model beats both
        (``benchmarks/RESULTS.md``). Raw strings only.
    ngram_C : float, default=3.0
        Inverse regularisation strength of that regression (scikit-learn's ``C``).
    ngram_max_tokens : int, default=200000
        Largest n-gram vocabulary of that regression (the most frequent 1-2-grams).
    units, cell, bidirectional, dropout, recurrent_dropout, layer_norm, pooling, \
head_units, optimizer, learning_rate, clipnorm, batch_size, epochs, lr_patience, \
early_stopping, validation_fraction, patience, jit_compile, random_state, verbose
        As :class:`~gru_search.GRUClassifier`'s (``pooling="mean"`` averages the states
        over the real tokens only).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    model_ : keras.Model
        Takes raw strings, shape ``(n, 1)`` (or token ids, ``(n, sequence_length_)``,
        when fitted on token ids).
    vocabulary_size_ : int
        Token ids the embedding knows, padding and unknown included.
    sequence_length_ : int
        ``sequence_length`` as resolved.
    history_, epoch_seconds_, n_iter_, best_epoch_
        As :class:`~gru_search.GRUClassifier`'s.

    Examples
    --------
    >>> from gru_search import GRUTextClassifier
    >>> texts = ["good film", "great plot", "bad acting", "awful film"] * 5
    >>> labels = ["pos", "pos", "neg", "neg"] * 5
    >>> clf = GRUTextClassifier(units=(8,), epochs=3, random_state=0).fit(texts, labels)
    >>> clf.predict(["a good plot"]).shape
    (1,)
    """

    _parameter_constraints: ClassVar[dict] = {
        **{
            k: v
            for k, v in GRUClassifier._parameter_constraints.items()
            if k not in ("scaling", "patch_size")
        },
        "max_tokens": [Interval(Integral, 1, None, closed="left")],
        "sequence_length": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "ngram_weight": [Interval(Real, 0, 1, closed="left")],
        "ngram_C": [Interval(Real, 0, None, closed="neither")],
        "ngram_max_tokens": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        units: tuple[int, ...] = (64,),
        cell: str = "gru",
        *,
        max_tokens: int = 20000,
        sequence_length: int | str = "auto",
        embedding_dim: int = 64,
        class_weight: dict | str | None = None,
        ngram_weight: float = 0.0,
        ngram_C: float = 3.0,
        ngram_max_tokens: int = 200000,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        pooling: str = "last",
        head_units: tuple[int, ...] = (),
        optimizer: str = "adam",
        learning_rate: float = 3e-3,
        clipnorm: float | None = 1.0,
        batch_size: int = 32,
        epochs: int = 10,
        lr_patience: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 3,
        jit_compile: bool | str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.units = units
        self.cell = cell
        self.max_tokens = max_tokens
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.class_weight = class_weight
        self.ngram_weight = ngram_weight
        self.ngram_C = ngram_C
        self.ngram_max_tokens = ngram_max_tokens
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.layer_norm = layer_norm
        self.pooling = pooling
        self.head_units = head_units
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.batch_size = batch_size
        self.epochs = epochs
        self.lr_patience = lr_patience
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.jit_compile = jit_compile
        self.random_state = random_state
        self.verbose = verbose

    # -- the hooks of GRUClassifier.fit ---------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        callbacks: list[keras.callbacks.Callback] | None = None,
    ) -> GRUTextClassifier:
        """Learn the vocabulary and train on ``X`` (strings or token-id sequences).

        Parameters
        ----------
        X : list, array or Series of str, or list of int sequences
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional
        callbacks : list of keras.callbacks.Callback, optional
            As :meth:`GRUClassifier.fit`'s.

        Returns
        -------
        self
        """
        try:
            super().fit(X, y, sample_weight, callbacks=callbacks)
        finally:  # a failed fit leaves no Keras layer behind (it would not pickle)
            vectorizer = self.__dict__.pop("_vectorizer", None)
            ngram_model = self.__dict__.pop("_ngram_model", None)
        if vectorizer is not None:  # from now on the model reads the raw strings
            text = keras.Input((1,), dtype="string", name="text")
            outputs = self.model_(vectorizer(text))
            if ngram_model is not None:
                outputs = keras.layers.Add(name="blend")(
                    [
                        keras.layers.Rescaling(1.0 - self.ngram_weight, name="gru_share")(outputs),
                        keras.layers.Rescaling(self.ngram_weight, name="ngram_share")(
                            ngram_model(text)
                        ),
                    ]
                )
            self.model_ = keras.Model(text, outputs, name=f"gru_search_text_{self.cell}")
        return self

    def _fit_companion(
        self, batch: TextBatch, targets: np.ndarray, weights: np.ndarray, n_outputs: int, seed: int
    ) -> None:
        if not self.ngram_weight:
            return
        if batch.kind != "text":
            raise DataError(
                f"{type(self).__name__}: ngram_weight > 0 needs raw strings (its n-grams "
                "are words); for token-id sequences set ngram_weight=0"
            )
        self._ngram_model = fit_ngram_model(
            batch.values,
            targets,
            n_outputs,
            weights,
            C=self.ngram_C,
            max_tokens=self.ngram_max_tokens,
            seed=seed,
        )

    def _predict_outputs(self, X: Any) -> np.ndarray:
        outputs = super()._predict_outputs(X)
        ngram_model = self.__dict__.get("_ngram_model")
        if ngram_model is None:  # not training, or no n-gram part: model_ has it all
            return outputs
        # during training model_ is the GRU on token ids; the epoch scores blend here
        ngram = predict_strings(ngram_model, self._validate_X(X, reset=False).values)
        return (1.0 - self.ngram_weight) * outputs + self.ngram_weight * ngram

    def _validate_X(self, X: Any, *, reset: bool) -> TextBatch:  # type: ignore[override]
        batch = check_texts(X, type(self).__name__)
        if reset:
            return batch
        check_is_fitted(self)
        if batch.kind != self.preprocessor_.kind:
            fitted = "strings" if self.preprocessor_.kind == "text" else "token-id sequences"
            raise DataError(f"{type(self).__name__} was fitted on {fitted}; give it the same")
        return batch

    def _fit_preprocessor(self, batch: TextBatch) -> TextPreprocessor:  # type: ignore[override]
        if batch.kind == "tokens":
            lengths = np.array([len(t) for t in batch.values])
            highest = max((int(t.max()) for t in batch.values if t.size), default=0)
            size = min(highest + 1, self.max_tokens) + RESERVED_IDS
            return TextPreprocessor("tokens", self._length(lengths), size)
        counter = keras.layers.TextVectorization(max_tokens=self.max_tokens + RESERVED_IDS)
        counter.adapt(batch.values)
        vocabulary = counter.get_vocabulary(include_special_tokens=False)
        if not vocabulary:
            raise DataError(
                f"{type(self).__name__}: the training texts hold no words (empty or "
                "punctuation only); nothing to learn a vocabulary from"
            )
        lengths = np.count_nonzero(np.asarray(counter(batch.values[:, None])), axis=1)
        length = self._length(lengths)
        self._vectorizer = keras.layers.TextVectorization(
            max_tokens=self.max_tokens + RESERVED_IDS,
            output_sequence_length=length,
            vocabulary=vocabulary,
            name="vectorize",
        )
        return TextPreprocessor("text", length, len(vocabulary) + RESERVED_IDS)

    def _length(self, lengths: np.ndarray) -> int:
        if self.sequence_length != "auto":
            return int(self.sequence_length)
        wanted = int(np.ceil(np.percentile(lengths, 95))) if len(lengths) else 1
        return int(np.clip(wanted, 1, MAX_AUTO_SEQUENCE_LENGTH))

    def _build_model(self, config: GRUConfig, n_outputs: int) -> keras.Model:
        preprocessor = self.preprocessor_
        ids = keras.Input((preprocessor.sequence_length,), dtype="int32", name="token_ids")
        x = NonEmptyTokens(name="non_empty")(ids)
        x = keras.layers.Embedding(
            preprocessor.vocabulary_size, self.embedding_dim, mask_zero=True, name="embedding"
        )(x)
        outputs, loss = recurrent_head(config, x, task=self._task, n_outputs=n_outputs)
        model = keras.Model(ids, outputs, name=f"gru_search_tokens_{config.cell}")
        return compile_model(model, config, self._task, loss)

    def _model_inputs(self, batch: TextBatch) -> np.ndarray:  # type: ignore[override]
        if batch.kind == "tokens":
            return self.preprocessor_.token_ids(batch.values)
        strings = batch.values[:, None]
        vectorizer = getattr(self, "_vectorizer", None)
        if vectorizer is not None:  # training: the token-id model, ids computed once
            return np.asarray(vectorizer(strings), dtype=np.int32)
        return strings

    # -- export ---------------------------------------------------------------------------
    @property
    def vocabulary_size_(self) -> int:
        return self.preprocessor_.vocabulary_size

    @property
    def sequence_length_(self) -> int:
        return self.preprocessor_.sequence_length

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.input_tags.string = True
        return tags


def text_constraints() -> dict[str, list[Any]]:
    """GRUTextClassifier's parameter constraints (scikit-learn's format), by name."""
    return dict(GRUTextClassifier._parameter_constraints)


def text_searchable_parameters() -> tuple[str, ...]:
    """GRUTextClassifier parameters a ``task: text`` space may search or fix."""
    return tuple(name for name in text_constraints() if name not in NOT_SEARCHABLE)


__all__ = [
    "GRUTextClassifier",
    "NonEmptyTokens",
    "TextBatch",
    "TextPreprocessor",
    "check_texts",
    "text_constraints",
    "text_searchable_parameters",
]
