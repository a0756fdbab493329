"""scikit-learn estimators around the Keras GRU models: ``GRUClassifier`` and ``GRURegressor``.

Pickling a fitted estimator stores its Keras model in the ``.keras`` format and loads it
back with ``safe_mode=True``. As with any pickle, only unpickle estimators you trust.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from gru_search.accelerators import training_device
from gru_search.cells import VARIANTS
from gru_search.data import (
    SCALINGS,
    SequenceBatch,
    SequenceScaler,
    check_sequences,
)
from gru_search.feeding import fit_arguments
from gru_search.model import OPTIMIZERS, GRUConfig, Task, build_model
from gru_search.preprocessing import SequencePreprocessor, TargetScaler
from gru_search.seeding import MAX_SEED, seeded


class EpochTimer(keras.callbacks.Callback):
    """Records wall-clock seconds of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


_PREDICT_BATCH = 128


def _pad_rows(inputs: Any, extra: int) -> Any:
    """Append ``extra`` copies of the first row to an array or a dict of arrays."""
    if isinstance(inputs, dict):
        return {key: _pad_rows(value, extra) for key, value in inputs.items()}
    return np.concatenate([inputs, np.repeat(inputs[:1], extra, axis=0)])


def _take_rows(inputs: Any, start: int, count: int) -> Any:
    """Rows ``start:start + count`` of an array or a dict of arrays."""
    if isinstance(inputs, dict):
        return {key: value[start : start + count] for key, value in inputs.items()}
    return inputs[start : start + count]


@contextlib.contextmanager
def reusing_predictions(estimator: Any) -> Iterator[None]:
    """Within the block, ``estimator`` predicting the same ``X`` object reuses the outputs.

    Scoring a trial's epoch asks for the metric and the validation loss: two scikit-learn
    scorers, each predicting the same rows with the same weights. The memo lives only for
    the block, so training between two blocks cannot serve stale outputs.
    """
    estimator._prediction_memo = None
    try:
        yield
    finally:
        del estimator._prediction_memo


def checked_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Sample weights as float32; negative, NaN or infinite weights are refused."""
    placeholder = np.empty((n_samples, 1))
    try:
        weights = _check_sample_weight(sample_weight, placeholder, dtype=np.float64)
    except ValueError as error:
        if "NaN" in str(error) or "infinity" in str(error):
            raise ValueError(f"sample_weight must be finite and >= 0: {error}") from None
        raise
    negative = weights < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise ValueError(
            f"sample_weight must be finite and >= 0; {int(negative.sum())} are negative "
            f"(the first at index {first}: {weights[first]})"
        )
    return weights.astype(np.float32)


def validate_params(estimator: BaseEstimator) -> None:
    """Check an estimator's parameters against its constraints (scikit-learn's rules).

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        A ``ValueError`` naming the parameter, the value and what is allowed.
    """
    estimator._validate_params()


#: Parameters a search space may not set: ``units`` comes from the space's ``layers``; the
#: search seeds every trial itself; trials stop by pruning and are refit for their best
#: epoch count, which the estimator's own early stopping would fight.
NOT_SEARCHABLE = (
    "units",
    "random_state",
    "verbose",
    "early_stopping",
    "validation_fraction",
    "patience",
)


def searchable_parameters() -> tuple[str, ...]:
    """Estimator parameters a search space may search or fix, in constructor order.

    Derived from the estimators' parameter constraints: a new parameter with a constraint
    is searchable without touching the space code.
    """
    return tuple(name for name in parameter_constraints() if name not in NOT_SEARCHABLE)


def parameter_constraints() -> dict[str, list[Any]]:
    """The estimators' parameter constraints (scikit-learn's format), by parameter name.

    The one source of the rules: ``fit`` checks its parameters against them, and search
    spaces check every value they may give an estimator against them when they load.
    """
    return dict(_BaseGRU._parameter_constraints)


def check_targets(estimator: BaseEstimator, y: Any) -> None:
    """Check ``y`` as ``estimator.fit`` would (classes, finiteness), without training.

    A search calls it once before its first trial, so that a target every trial would
    reject (one class, NaN, text for a regressor) fails at once with the reason.
    """
    clone(estimator)._prepare_targets(y)


class _BaseGRU(BaseEstimator):
    """Shared fit/predict machinery; subclasses define the task-specific target handling."""

    _task: Task
    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's convention
        "units": ["array-like", Interval(Integral, 1, None, closed="left")],
        "cell": [StrOptions(set(VARIANTS))],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "recurrent_dropout": [Interval(Real, 0, 1, closed="left")],
        "layer_norm": ["boolean"],
        "pooling": [StrOptions({"last", "mean"})],
        "head_units": ["array-like"],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "clipnorm": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_patience": [Interval(Integral, 1, None, closed="left"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "scaling": [StrOptions(set(SCALINGS))],
        "patch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "jit_compile": ["boolean", StrOptions({"auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        units: tuple[int, ...] = (64,),
        cell: str = "gru",
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        pooling: str = "last",
        head_units: tuple[int, ...] = (),
        optimizer: str = "adam",
        learning_rate: float = 3e-3,
        clipnorm: float | None = 1.0,
        batch_size: int = 16,
        epochs: int = 100,
        lr_patience: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 20,
        scaling: str = "standard",
        patch_size: int | str = "auto",
        jit_compile: bool | str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.units = units
        self.cell = cell
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
        self.scaling = scaling
        self.patch_size = patch_size
        self.jit_compile = jit_compile
        self.random_state = random_state
        self.verbose = verbose

    # -- steps, each overridable -----------------------------------------------------
    def model_config(self, seed: int | None = None) -> GRUConfig:
        """The architecture and optimiser these parameters describe (validated).

        Parameters
        ----------
        seed : int or None
            Seed of the initialisers and dropout masks of the model built from it.

        Returns
        -------
        GRUConfig
        """
        # every GRUConfig field but the seed is an estimator parameter of the same name
        fields = (f.name for f in dataclasses.fields(GRUConfig) if f.name != "seed")
        return GRUConfig(**{name: getattr(self, name) for name in fields}, seed=seed)

    def _validate_X(self, X: Any, *, reset: bool) -> SequenceBatch:
        name = type(self).__name__
        if reset:
            batch = check_sequences(X, estimator_name=name)
            if batch.layout == "2d":
                # scikit-learn's own bookkeeping: n_features_in_ and feature_names_in_
                validate_data(self, X, reset=True, dtype=None, ensure_all_finite=False)
            else:
                self.n_features_in_ = batch.n_features
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            return batch
        check_is_fitted(self)
        batch = check_sequences(X, estimator_name=name)
        if batch.layout == "2d" and self.preprocessor_.layout == "2d":
            validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False)
        if batch.n_features != self.input_shape_[1]:
            raise ValueError(
                f"X has {batch.n_features} features per time step, but {name} is expecting "
                f"{self.input_shape_[1]} features per time step as input."
            )
        fitted_steps = self.input_shape_[0]
        if fitted_steps is not None and batch.n_timesteps != fitted_steps:
            raise ValueError(
                f"X has {batch.n_timesteps} time steps, but {name} was fitted on sequences "
                f"of {fitted_steps} time steps; fit on a list of sequences to accept any "
                "length."
            )
        return batch

    def _model_inputs(self, batch: SequenceBatch) -> Any:
        return self.preprocessor_.transform(batch)

    # the preprocessor's parts, as fitted attributes of their own (documented API)
    @property
    def input_shape_(self) -> tuple[int | None, int]:
        return self.preprocessor_.input_shape

    @property
    def scaler_(self) -> SequenceScaler:
        return self.preprocessor_.scaler

    @property
    def patch_size_(self) -> int:
        return self.preprocessor_.patch_size

    def _sample_weights(self, sample_weight: Any, targets: np.ndarray) -> np.ndarray:
        """Per-sample weights of the loss (float32), checked."""
        return checked_sample_weight(sample_weight, len(targets))

    def _fit_preprocessor(self, batch: SequenceBatch) -> SequencePreprocessor:
        """Learn what turns inputs into model inputs (layout, scaling, patches)."""
        return SequencePreprocessor.fit(batch, scaling=self.scaling, patch_size=self.patch_size)

    def _build_model(self, config: GRUConfig, n_outputs: int) -> keras.Model:
        """The compiled Keras model to train, for the fitted preprocessor."""
        return build_model(
            config,
            self.preprocessor_.model_input_shape,
            task=self._task,
            n_outputs=n_outputs,
            masked=self.preprocessor_.masked,
        )

    def _prepare_targets(self, y: Any) -> tuple[np.ndarray, int]:
        """Encode targets for Keras; return (encoded, n_outputs)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _split_validation(
        self, n_samples: int, y: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        indices = np.arange(n_samples)
        stratify = y if self._task == "classification" else None
        try:
            return train_test_split(
                indices, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError:  # too few samples of some class to stratify
            return train_test_split(indices, test_size=self.validation_fraction, random_state=seed)

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        callbacks: list[keras.callbacks.Callback] | None = None,
    ) -> _BaseGRU:
        """Train the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features]) or list of arrays
            2-D: univariate sequences; 3-D: channels last; a list of 1-D or 2-D arrays:
            sequences of uneven length (right-padded and masked).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (strings or integers) or regression targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        callbacks : list of keras.callbacks.Callback, default=None
            Extra Keras callbacks for the training run (the search uses one to score and
            prune every epoch). They may use this estimator's ``predict`` at epoch end:
            every fitted attribute is set before training starts.

        Returns
        -------
        self
        """
        self._validate_params()
        batch = self._validate_X(X, reset=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        check_consistent_length(batch.values, y)
        targets, n_outputs = self._prepare_targets(y)
        weights = self._sample_weights(sample_weight, targets)

        seed = int(check_random_state(self.random_state).randint(MAX_SEED))
        # seeded for reproducible weights and shuffling; the caller's random state is
        # restored afterwards
        with seeded(seed):
            config = self.model_config(seed)  # validates the architecture parameters

            self.preprocessor_ = self._fit_preprocessor(batch)
            self._fit_companion(batch, targets, weights, n_outputs, seed)
            self.model_ = self._build_model(config, n_outputs)
            self.device_ = training_device()

            callbacks = [timer := EpochTimer(), *(callbacks or [])]
            if self.lr_patience:
                callbacks.append(
                    keras.callbacks.ReduceLROnPlateau(
                        monitor="loss", factor=0.5, patience=self.lr_patience, min_lr=1e-5
                    )
                )
            fit_rows = np.arange(batch.n_samples)
            validation_data = None
            monitor = "loss"
            if self.early_stopping:
                fit_rows, held_out = self._split_validation(batch.n_samples, targets, seed)
                validation_data = (
                    self._model_inputs(batch.take(held_out)),
                    targets[held_out],
                    weights[held_out],
                )
                monitor = "val_loss"
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor=monitor, patience=self.patience, restore_best_weights=True
                    )
                )
            history = self.model_.fit(
                **fit_arguments(
                    self._model_inputs(batch.take(fit_rows)),
                    targets[fit_rows],
                    weights[fit_rows],
                    batch_size=min(self.batch_size, len(fit_rows)),
                    seed=seed,
                ),
                epochs=self.epochs,
                validation_data=validation_data,
                callbacks=callbacks,
                verbose=self.verbose,
            )
            self.history_ = {
                key: [float(v) for v in values] for key, values in history.history.items()
            }
            self.epoch_seconds_ = timer.seconds
            self.n_iter_ = len(timer.seconds)
            losses = self.history_[monitor]
            self.best_epoch_ = int(np.nanargmin(losses)) + 1 if np.isfinite(losses).any() else 0
        return self

    def _fit_companion(
        self, batch: Any, targets: np.ndarray, weights: np.ndarray, n_outputs: int, seed: int
    ) -> None:
        """Fit a model that predicts beside the network (none here; see GRUTextClassifier).

        Called before the network is built and trained, so that the per-epoch scores a
        search prunes on already include it.
        """

    def _raw_predict(self, X: Any) -> np.ndarray:
        memo = getattr(self, "_prediction_memo", False)
        if memo and memo[0] is X:
            return memo[1]
        outputs = self._predict_outputs(X)
        if memo is not False:
            self._prediction_memo = (X, outputs)
        return outputs

    def _predict_outputs(self, X: Any) -> np.ndarray:
        batch = self._validate_X(X, reset=False)
        inputs = self._model_inputs(batch)
        # Every call sees batches of exactly _PREDICT_BATCH rows (the last one padded):
        # float32 matrix products round differently for different batch shapes, so this
        # makes a sample's prediction independent of what it is predicted with, and the
        # compiled predict function is traced once instead of once per input size.
        n_rows = batch.n_samples
        padded = -n_rows % _PREDICT_BATCH
        if padded:
            inputs = _pad_rows(inputs, padded)
        # predict_on_batch, not predict: Model.predict builds a data adapter and epoch
        # iterator per call (~100 ms on CPU), which dominated per-epoch scoring in trials
        outputs = [
            np.asarray(self.model_.predict_on_batch(_take_rows(inputs, start, _PREDICT_BATCH)))
            for start in range(0, n_rows + padded, _PREDICT_BATCH)
        ]
        return np.concatenate(outputs)[:n_rows]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # -- pickling: the Keras model travels as a .keras archive ---------------------------
    def __getstate__(self) -> dict[str, Any]:
        # a copy: on Python >= 3.11 the default state is the instance's own __dict__
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                model.save(path)
                with open(path, "rb") as handle:
                    state["_model_archive"] = handle.read()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        archive = state.pop("_model_archive", None)
        super().__setstate__(state)
        if archive is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                with open(path, "wb") as handle:
                    handle.write(archive)
                self.model_ = keras.saving.load_model(path, safe_mode=True)


_SHARED_PARAMETERS = """
    units : tuple of int, default=(64,)
        Width of each recurrent layer; its length is the number of layers.
    cell : str, default="gru"
        Gate variant, one of :data:`gru_search.cells.VARIANTS`.
    bidirectional : bool, default=False
        Read sequences in both directions.
    dropout, recurrent_dropout : float, default=0.0
        Input and recurrent dropout of the recurrent layers, in ``[0, 1)``.
    layer_norm : bool, default=False
        Layer normalisation between recurrent layers.
    pooling : {"last", "mean"}, default="last"
        Classify from the final state, or from the mean state over the time steps.
    head_units : tuple of int, default=()
        Hidden ReLU layers before the output layer.
    optimizer : {"adam", "adamw", "rmsprop", "sgd", "nadam"}, default="adam"
    learning_rate : float, default=3e-3
    clipnorm : float or None, default=1.0
        Gradient norm clipping.
    batch_size : int, default=16
        Capped at the number of training sequences.
    epochs : int, default=100
        Maximum number of passes over the data.
    lr_patience : int or None, default=None
        Halve the learning rate when the training loss has not improved for this many
        epochs (down to 1e-5); None keeps it constant.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for classifiers), stop
        when its loss has not improved for ``patience`` epochs, and keep the best weights.
    validation_fraction : float, default=0.1
    patience : int, default=20
        GRU learning curves often plateau for tens of epochs before they drop; a short
        patience stops exactly those runs.
    scaling : {"standard", "sequence", "none"}, default="standard"
        Per-feature standardisation learned in ``fit``, per-sequence z-normalisation, or
        none.
    patch_size : int or "auto", default="auto"
        Consecutive time steps read as one recurrent step (their features side by side).
        ``"auto"`` reads sequences of up to 32 steps as they are and longer ones in
        ``ceil(n_timesteps / 32)``-step patches, which trains far more reliably on long
        series and cuts the sequential work by the same factor (see
        :func:`gru_search.data.resolve_patch_size`).
    jit_compile : bool or "auto", default="auto"
        XLA compilation; ``"auto"`` uses it whenever the layers allow (see
        :class:`gru_search.model.GRUConfig`).
    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout and shuffling; the same integer gives identical predictions
        on a CPU.
    verbose : int, default=0
        Keras' ``fit`` verbosity (0 silent, 1 progress bar, 2 one line per epoch).
"""

_SHARED_ATTRIBUTES = """
    model_ : keras.Model
        The trained Keras model.
    input_shape_ : tuple (n_timesteps or None, n_features)
        Shape of one sequence; ``None`` time steps when fitted on a list of sequences.
    n_features_in_ : int
        Columns of 2-D ``X`` (its time steps, scikit-learn's convention), or features per
        time step of 3-D or list ``X``.
    feature_names_in_ : ndarray of str
        Column names of a 2-D DataFrame ``X``; only then defined.
    preprocessor_ : SequencePreprocessor
        Layout, scaling and patch size learned in ``fit``: the path from ``X`` to the
        model's inputs (:mod:`gru_search.preprocessing`).
    scaler_ : SequenceScaler
        The input scaling learned in ``fit`` (``preprocessor_.scaler``).
    patch_size_ : int
        Time steps per recurrent step, ``patch_size`` resolved for the training data.
    history_ : dict of str to list of float
        Per-epoch metrics as Keras recorded them.
    epoch_seconds_ : list of float
        Wall-clock seconds of every epoch (the first includes compiling the model).
    device_ : str
        ``"GPU"`` or ``"CPU"``: where the Keras backend trained the model.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        Epoch (1-based) with the lowest monitored loss (validation loss with early
        stopping, training loss otherwise).
"""


class GRUClassifier(ClassifierMixin, _BaseGRU):
    __doc__ = f"""Sequence classifier built on a GRU (or any gate variant) in Keras.

    Parameters
    ----------{_SHARED_PARAMETERS}    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss (scikit-learn's convention: ``{{label:
        weight}}``, or ``"balanced"`` for ``n_samples / (n_classes * count)``), multiplied
        with ``sample_weight``. For unbalanced classes.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, as given.{_SHARED_ATTRIBUTES}
    Examples
    --------
    >>> from gru_search import GRUClassifier
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 12))
    >>> y = (X[:, :6].sum(axis=1) > 0).astype(int)
    >>> clf = GRUClassifier(units=(8,), epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _task: Task = "classification"
    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's convention
        **_BaseGRU._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        units: tuple[int, ...] = (64,),
        cell: str = "gru",
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        pooling: str = "last",
        head_units: tuple[int, ...] = (),
        optimizer: str = "adam",
        learning_rate: float = 3e-3,
        clipnorm: float | None = 1.0,
        batch_size: int = 16,
        epochs: int = 100,
        lr_patience: int | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 20,
        scaling: str = "standard",
        patch_size: int | str = "auto",
        jit_compile: bool | str = "auto",
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        # scikit-learn reads the parameters from this signature: all of them are listed
        super().__init__(
            units,
            cell,
            bidirectional=bidirectional,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            layer_norm=layer_norm,
            pooling=pooling,
            head_units=head_units,
            optimizer=optimizer,
            learning_rate=learning_rate,
            clipnorm=clipnorm,
            batch_size=batch_size,
            epochs=epochs,
            lr_patience=lr_patience,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            scaling=scaling,
            patch_size=patch_size,
            jit_compile=jit_compile,
            random_state=random_state,
            verbose=verbose,
        )
        self.class_weight = class_weight

    def _sample_weights(self, sample_weight: Any, targets: np.ndarray) -> np.ndarray:
        weights = checked_sample_weight(sample_weight, len(targets))
        if self.class_weight is None:
            return weights
        per_class = compute_sample_weight(self.class_weight, self.classes_[targets])
        return (weights * per_class).astype(np.float32)

    def _check_class_weight(self) -> None:
        if isinstance(self.class_weight, dict):
            unknown = [c for c in self.class_weight if c not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight names {unknown[0]!r}, which is not a class of y "
                    f"({self.classes_.tolist()})"
                )

    def _prepare_targets(self, y: Any) -> tuple[np.ndarray, int]:
        y = column_or_1d(y, warn=True)
        missing = pd.isna(y)
        if missing.any():
            raise ValueError(
                f"y has {int(missing.sum())} missing labels (NaN or None), the first at index "
                f"{int(np.flatnonzero(missing)[0])}; every sequence needs a class label"
            )
        check_classification_targets(y)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but y contains "
                f"only one class: {self.classes_[0]!r}"
            )
        self._check_class_weight()
        return self._label_encoder.transform(y).astype(np.int32), len(self.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        output = self._raw_predict(X).astype(np.float64)
        if len(self.classes_) == 2:
            positive = output.reshape(-1)
            return np.column_stack([1.0 - positive, positive])
        return output / output.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class GRURegressor(RegressorMixin, _BaseGRU):
    __doc__ = f"""Sequence regressor (one or several targets) built on a GRU in Keras.

    Targets are standardised inside ``fit`` and predictions mapped back, so their scale
    does not affect training.

    Parameters
    ----------{_SHARED_PARAMETERS}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    target_scaler_ : TargetScaler
        The targets' per-output mean and scale (the model learns standardised targets;
        predictions come back in the targets' units).{_SHARED_ATTRIBUTES}
    Examples
    --------
    >>> from gru_search import GRURegressor
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 12))
    >>> reg = GRURegressor(units=(8,), epochs=5, random_state=0).fit(X, X.sum(axis=1))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _task: Task = "regression"

    def _prepare_targets(self, y: Any) -> tuple[np.ndarray, int]:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{type(self).__name__} needs numeric targets, got dtype {y.dtype}"
                ) from None
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; expected finite targets")
        self.target_scaler_ = TargetScaler.fit(y)
        self.n_outputs_ = self.target_scaler_.n_outputs
        return self.target_scaler_.transform(y), self.n_outputs_

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when fitted on a 1-D ``y``.
        """
        check_is_fitted(self)
        return self.target_scaler_.inverse_transform(self._raw_predict(X).astype(np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
