"""KerasTuner interoperability: our search spaces under KerasTuner, its results in our estimators.

Optuna is gru-search's engine; this module is for people who already use KerasTuner
(``pip install "gru-search[keras-tuner]"``, which also installs ``tensorboard``:
keras-tuner 1.4.8 fails every trial on tensorflow-cpu without it).

* :func:`to_hypermodel` turns a :class:`~gru_search.spaces.SearchSpace` into a
  ``keras_tuner.HyperModel`` whose ``build(hp)`` declares exactly the space's
  distributions (per-layer widths and ``when:`` conditions through KerasTuner's
  conditional scopes) and builds the very model :func:`gru_search.build_model` builds for
  that configuration. Its ``fit`` scales and patches the sequences as ``GRUClassifier``
  does, so the tuner is given raw ``(n, time, features)`` arrays.
* :func:`params_from_hyperparameters` and :func:`estimator_from_tuner` turn KerasTuner's
  best hyperparameters into estimator parameters and a configured (unfitted) estimator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from sklearn.base import clone

from gru_search.data import check_sequences, resolve_patch_size
from gru_search.estimators import GRUClassifier
from gru_search.exceptions import SpaceError
from gru_search.model import GRUConfig, Task, build_model
from gru_search.preprocessing import SequencePreprocessor
from gru_search.spaces import Param, SearchSpace, load_space


def _keras_tuner() -> Any:
    try:
        import keras_tuner
    except ImportError:
        raise ImportError(
            "gru_search.integrations.keras_tuner needs keras-tuner: "
            'pip install "gru-search[keras-tuner]" (it also installs tensorboard, without '
            "which keras-tuner 1.4.8 fails every trial on tensorflow-cpu)"
        ) from None
    return keras_tuner


def _declare(hp: Any, param: Param, name: str | None = None) -> Any:
    """Declare one distribution on ``hp`` (KerasTuner's counterpart of Optuna's suggest)."""
    name = name or param.name
    if param.kind == "categorical":
        return hp.Choice(name, list(param.choices), ordered=False)
    sampling = "log" if param.log else "linear"
    if param.kind == "int":
        return hp.Int(
            name,
            param.low,
            param.high,
            step=param.step if not param.log else None,
            sampling=sampling,
        )
    return hp.Float(name, param.low, param.high, step=param.step, sampling=sampling)


def _depth_values(depth: Param) -> list[int]:
    if depth.kind == "categorical":
        return sorted(int(v) for v in depth.choices)
    step = depth.step if depth.kind == "int" else 1
    return list(range(int(depth.low), int(depth.high) + 1, step))


@contextmanager
def _scopes(hp: Any, conditions: tuple[tuple[str, tuple[Any, ...]], ...]) -> Iterator[None]:
    with ExitStack() as stack:
        for parent, values in conditions:
            stack.enter_context(hp.conditional_scope(parent, list(values)))
        yield


def declare_space(hp: Any, space: SearchSpace) -> dict[str, Any]:
    """Declare every distribution of ``space`` on ``hp``; return the active trial params."""
    values: dict[str, Any] = {}
    depths = _depth_values(space.depth)
    values["n_layers"] = n_layers = _declare(hp, space.depth)
    for index in range(max(depths)):
        deeper = [d for d in depths if d > index]
        # a width exists only in configurations that have that layer
        with hp.conditional_scope("n_layers", deeper):
            width = _declare(hp, space.units, f"units_{index}")
        if index < n_layers:
            values[f"units_{index}"] = width
    for param in space.params:
        with _scopes(hp, param.when):
            value = _declare(hp, param)
        if all(values.get(key) in allowed for key, allowed in param.when):
            values[param.name] = value
    return values


def _active_values(hp: Any, space: SearchSpace) -> dict[str, Any]:
    """The active hyperparameters, categorical values mapped back to the space's own
    (KerasTuner stores the choices ``[false, true]`` as 0 and 1)."""
    active = {name: value for name, value in hp.values.items() if hp.is_active(name)}
    for param in space.params:
        if param.kind == "categorical" and param.name in active:
            value = active[param.name]
            active[param.name] = next((c for c in param.choices if c == value), value)
    return active


def _sequence_space(space: SearchSpace | str) -> SearchSpace:
    """The space, refused by name when it is a forecasting space (KerasTuner's models here
    are GRUClassifier/GRURegressor models)."""
    loaded = load_space(space)
    if loaded.task != "sequences":
        raise SpaceError(
            f"space {loaded.name!r} is a {loaded.task} space ({loaded.source}); the KerasTuner "
            "bridge searches spaces for labelled sequences"
        )
    return loaded


def params_from_hyperparameters(hp: Any, space: SearchSpace | str) -> dict[str, Any]:
    """Estimator parameters of a KerasTuner ``HyperParameters`` object for ``space``."""
    space = _sequence_space(space)
    active = _active_values(hp, space)
    if "n_layers" not in active:
        raise ValueError(
            f"these hyperparameters were not declared by space {space.name!r} "
            f"(no n_layers among {sorted(hp.values)})"
        )
    return space.to_estimator_params(active)


def _config(params: dict[str, Any], seed: int | None) -> GRUConfig:
    # the estimator owns the mapping from its parameters to a model configuration
    return GRUClassifier().set_params(**params).model_config(seed)


def to_hypermodel(
    space: SearchSpace | str,
    task: Task,
    input_shape: tuple[int, int],
    n_outputs: int,
    *,
    seed: int | None = 0,
    jit_compile: bool | str | None = None,
) -> Any:
    """A ``keras_tuner.HyperModel`` searching ``space`` with gru-search's model builder.

    Parameters
    ----------
    space : SearchSpace or str
        A space object, a shipped space name or a YAML path.
    task : {"classification", "regression"}
    input_shape : (n_timesteps, n_features)
        Shape of one raw sequence, as passed to the tuner's ``search``.
    n_outputs : int
        Number of classes (labels encoded 0..n-1) or of regression targets.
    seed : int or None, default=0
        Seed of dropout masks in the built models.
    jit_compile : bool, "auto" or None, default=None
        Overrides the space's (or the builder's default) XLA setting.

    Returns
    -------
    keras_tuner.HyperModel
        ``build(hp)`` returns the compiled model ``gru_search.build_model`` builds for the
        configuration; ``fit(hp, model, x, y, ...)`` standardises ``x`` per feature and
        reads it in patches exactly as ``GRUClassifier`` does (``validation_data`` too),
        and uses the space's ``batch_size`` when it has one.
    """
    keras_tuner = _keras_tuner()
    space = _sequence_space(space)
    steps, features = input_shape

    class GRUSpaceHyperModel(keras_tuner.HyperModel):
        """Generated from a gru-search space; see :func:`to_hypermodel`."""

        def build(self, hp: Any) -> Any:
            declare_space(hp, space)
            params = space.to_estimator_params(_active_values(hp, space))
            if jit_compile is not None:
                params["jit_compile"] = jit_compile
            patch = resolve_patch_size(params.get("patch_size", "auto"), steps)
            model_shape = (-(-steps // patch), features * patch)
            return build_model(_config(params, seed), model_shape, task=task, n_outputs=n_outputs)

        def fit(self, hp: Any, model: Any, x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
            params = space.to_estimator_params(_active_values(hp, space))
            # the estimators' own fitted preprocessing: scaling, patches (and masks)
            preprocessor = SequencePreprocessor.fit(
                check_sequences(x),
                scaling=params.get("scaling", "standard"),
                patch_size=params.get("patch_size", "auto"),
            )

            def prepare(values: Any) -> Any:
                return preprocessor.transform(check_sequences(values))

            if kwargs.get("validation_data") is not None:
                x_val, *rest = kwargs["validation_data"]
                kwargs["validation_data"] = (prepare(x_val), *rest)
            if "batch_size" in params:
                kwargs["batch_size"] = params["batch_size"]
            return model.fit(prepare(x), y, *args, **kwargs)

    return GRUSpaceHyperModel(name=f"gru_search_{space.name}")


def estimator_from_tuner(tuner: Any, estimator: Any, space: SearchSpace | str) -> Any:
    """A clone of ``estimator`` set to the tuner's best hyperparameters (not yet fitted).

    Parameters
    ----------
    tuner : keras_tuner.Tuner
        A tuner whose search ran over ``to_hypermodel(space, ...)``.
    estimator : GRUClassifier or GRURegressor
        Supplies every parameter the space does not set (random_state, epochs, ...).
    space : SearchSpace or str
        The space the tuner searched.
    """
    best = tuner.get_best_hyperparameters(num_trials=1)
    if not best:
        raise ValueError("the tuner has no finished trial yet; run tuner.search(...) first")
    return clone(estimator).set_params(**params_from_hyperparameters(best[0], space))
