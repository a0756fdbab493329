"""Search spaces as data: YAML files validated into frozen objects.

A space file (``search_spaces/*.yaml``) looks like::

    name: quick
    description: one line for `gru-search spaces list`
    layers:
      count: {type: int, low: 1, high: 2}          # depth
      units: {type: categorical, choices: [16, 32]} # sampled per layer: units_0, units_1, ...
    params:                                          # estimator parameters to search
      cell: {type: categorical, choices: [gru, mgu]}
      dropout: {type: float, low: 0.0, high: 0.3, step: 0.05}
      learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
      recurrent_dropout: {type: float, low: 0.0, high: 0.3, when: {cell: [mgu]}}
    fixed:                                           # estimator parameters held constant
      batch_size: 16
    training:
      epochs: 60             # epoch budget of one trial
      metric: accuracy       # a scikit-learn scorer name, or "loss"
      direction: maximize    # must agree with the metric
      pruning_warmup: 20     # epochs before a trial may be pruned
      finalists: 3           # best hold-out trials cross-validated before the refit
      finalist_folds: 5      # folds of that cross-validation
    start_from:              # trials evaluated first (Optuna's enqueue_trial)
      - {n_layers: 1, units_0: 32, cell: gru, dropout: 0.0, learning_rate: 3.0e-3}

A space for forecasting starts with ``task: forecasting``: its parameters are then
:class:`~gru_search.forecasting.GRUForecaster`'s (``input_size_multiplier``, ``scaling``,
``loss``, ...), checked against that estimator's constraints; its metric is ``mase``
(default) or ``smape``, minimised; ``training.windows`` is the number of rolling-origin
windows on which finalists are judged (``finalist_folds`` has no meaning there).

Every distribution is Optuna's own object (``IntDistribution``, ``FloatDistribution``,
``CategoricalDistribution``), built when the file loads, so Optuna's rules for bounds, log
scales and steps apply there, with the file and key in the message; trials draw through
``suggest_int`` / ``suggest_float`` / ``suggest_categorical``. Every value a space can give
an estimator is checked against the estimator's own parameter constraints.

A parameter with ``when: {other: [values]}`` is sampled only in
trials where ``other`` took one of ``values`` (define-by-run). One pure function,
:meth:`SearchSpace.to_estimator_params`, turns a trial's parameters into estimator
parameters (``n_layers=2, units_0=64, units_1=32`` becomes ``units=(64, 32)``).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)

from gru_search.estimators import parameter_constraints, searchable_parameters
from gru_search.exceptions import SpaceError
from gru_search.forecasting import forecaster_constraints, forecaster_searchable_parameters
from gru_search.text import text_constraints, text_searchable_parameters

#: Folder of the spaces shipped with the package (``load_space("quick")``). In a checkout it
#: is a link to the top-level ``search_spaces/``; wheels carry the files themselves.
SPACES_DIR = Path(__file__).resolve().parent / "search_spaces"

#: Estimator parameters a space may search or fix (``units`` comes from ``layers``): every
#: parameter of the estimators but the few they mark unsearchable.
ESTIMATOR_PARAMS = searchable_parameters()
_METRICS_MINIMIZED = ("loss",)
_CONSTRAINTS = parameter_constraints()
#: What a space is for (its top-level ``task`` key): labelled sequences (the default,
#: GRUClassifier/GRURegressor), forecasting (GRUForecaster) or text (GRUTextClassifier).
SPACE_TASKS = ("sequences", "forecasting", "text")
#: Errors a forecasting space may minimise (``gru_search.forecast_validation``).
FORECAST_METRICS = ("mase", "smape")
_FORECAST_PARAMS = forecaster_searchable_parameters()
_FORECAST_CONSTRAINTS = forecaster_constraints()
_TEXT_PARAMS = text_searchable_parameters()
_TEXT_CONSTRAINTS = text_constraints()

#: Upper bounds a space may not exceed: larger values exhaust memory or time long before
#: they could win (the estimators themselves accept them, for whoever really means it).
LIMITS = {
    "n_layers": 16,
    "units": 4096,
    "head_units": 4096,
    "epochs": 100_000,
    "batch_size": 65_536,
}
#: A space file larger than this is refused unread.
MAX_FILE_BYTES = 1024 * 1024
#: Values a parsed space document may hold, counting every use of a YAML alias: a few
#: hundred are real; an alias "bomb" expands to billions.
MAX_DOCUMENT_NODES = 100_000


@dataclass(frozen=True)
class Param:
    """One searched parameter: its name, Optuna's distribution and when it is active.

    The distribution is Optuna's own object (``IntDistribution``, ``FloatDistribution``
    or ``CategoricalDistribution``), so its rules (bounds, log scale, step) are Optuna's;
    ``when`` holds ``(other parameter, values)`` pairs that must all hold for this
    parameter to be sampled.
    """

    name: str
    distribution: optuna.distributions.BaseDistribution
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def kind(self) -> str:
        """``"int"``, ``"float"`` or ``"categorical"``."""
        if isinstance(self.distribution, optuna.distributions.IntDistribution):
            return "int"
        if isinstance(self.distribution, optuna.distributions.FloatDistribution):
            return "float"
        return "categorical"

    @property
    def choices(self) -> tuple[Any, ...]:
        return tuple(self.distribution.choices)

    @property
    def low(self) -> float:
        return self.distribution.low

    @property
    def high(self) -> float:
        return self.distribution.high

    @property
    def step(self) -> float | None:
        return self.distribution.step

    @property
    def log(self) -> bool:
        return self.distribution.log

    def suggest(self, trial: Any) -> Any:
        """Draw the value through Optuna's public ``trial.suggest_*``."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        suggest = trial.suggest_int if self.kind == "int" else trial.suggest_float
        return suggest(self.name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class TrainingSettings:
    """How one trial trains and is judged.

    Attributes
    ----------
    epochs : int
        Epoch budget of one trial (the refit uses the best trial's best epoch).
    metric : str
        A scikit-learn scorer name computed on the validation data after every epoch, or
        ``"loss"`` (the validation loss). ``None`` picks ``accuracy`` or ``r2`` by task.
    direction : {"maximize", "minimize"}
        Scorers are maximised, ``"loss"`` minimised.
    pruning_warmup : int
        Epochs before a trial may be pruned: GRU curves often plateau for tens of epochs
        before they drop (docs/design.md §5), so an early cut kills the winners.
    finalists : int
        With a hold-out, the best trials that are cross-validated on all the data before
        the refit (the best mean fold score is refit); 1 refits the best trial as it is.
        A dozen validation sequences cannot separate near-equal configurations.
    finalist_folds : int
        Folds of that cross-validation.
    """

    epochs: int = 100
    metric: str | None = None
    direction: str = "maximize"
    pruning_warmup: int = 30
    finalists: int = 3
    finalist_folds: int = 5
    windows: int = 3


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space. Build with :func:`load_space` or :meth:`from_dict`."""

    name: str
    description: str
    depth: Param
    units: Param
    params: tuple[Param, ...]
    fixed: tuple[tuple[str, Any], ...] = ()
    training: TrainingSettings = field(default_factory=TrainingSettings)
    start_from: tuple[tuple[tuple[str, Any], ...], ...] = ()
    source: str = "<dict>"
    task: str = "sequences"

    # -- sampling --------------------------------------------------------------------
    def sample(self, trial: Any) -> dict[str, Any]:
        """Draw one configuration through ``trial.suggest_*`` (define-by-run).

        Returns the estimator parameters of the trial (see :meth:`to_estimator_params`).
        """
        n_layers = self.depth.suggest(trial)
        for index in range(n_layers):
            _renamed(self.units, f"units_{index}").suggest(trial)
        for param in self.params:
            if _active(param, trial.params):
                param.suggest(trial)
        return self.to_estimator_params(trial.params)

    def to_estimator_params(self, trial_params: Mapping[str, Any]) -> dict[str, Any]:
        """Turn trial parameters into estimator parameters (a pure function).

        ``n_layers=2, units_0=64, units_1=32`` becomes ``units=(64, 32)``; parameters of
        the space pass through; ``fixed`` values are added; the epoch budget becomes
        ``epochs`` unless the space fixes or searches it.
        """
        if "n_layers" not in trial_params:
            raise KeyError("trial parameters lack 'n_layers'")
        n_layers = int(trial_params["n_layers"])
        estimator_params: dict[str, Any] = {"epochs": self.training.epochs}
        estimator_params.update(dict(self.fixed))
        estimator_params["units"] = tuple(
            int(trial_params[f"units_{index}"]) for index in range(n_layers)
        )
        for param in self.params:
            if param.name in trial_params:
                value = trial_params[param.name]
                if param.kind == "float" and param.step is not None:
                    # Optuna's grid point low + k * step carries float noise: 0.7000000000000001
                    value = float(f"{value:.12g}")
                estimator_params[param.name] = tuple(value) if param.name == "head_units" else value
        return estimator_params

    @property
    def start_points(self) -> list[dict[str, Any]]:
        """The ``start_from`` trial parameters, as dicts for ``study.enqueue_trial``."""
        return [dict(point) for point in self.start_from]

    @property
    def cells(self) -> tuple[str, ...]:
        """Gate variants this space can produce."""
        for param in self.params:
            if param.name == "cell" and param.kind == "categorical":
                return tuple(param.choices)
        return (dict(self.fixed).get("cell", "gru"),)

    # -- loading ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> SearchSpace:
        """Validate a parsed YAML document; errors name ``source``, the key and the rule."""
        return _Parser(source).space(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (stored with a study, shown by ``gru-search spaces show``)."""
        training = {
            "epochs": self.training.epochs,
            "metric": self.training.metric,
            "direction": self.training.direction,
            "pruning_warmup": self.training.pruning_warmup,
            "finalists": self.training.finalists,
        }
        if self.task == "forecasting":
            training["windows"] = self.training.windows
        else:
            training["finalist_folds"] = self.training.finalist_folds
        # a sequences space's form is what studies stored before spaces had a task
        head = {"task": self.task} if self.task != "sequences" else {}
        return {
            **head,
            "name": self.name,
            "description": self.description,
            "layers": {"count": _param_dict(self.depth), "units": _param_dict(self.units)},
            "params": {param.name: _param_dict(param) for param in self.params},
            "fixed": {key: _plain(value) for key, value in self.fixed},
            "training": training,
            "start_from": [
                {key: _plain(value) for key, value in point} for point in self.start_from
            ],
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _param_dict(param: Param) -> dict[str, Any]:
    if param.kind == "categorical":
        data: dict[str, Any] = {
            "type": "categorical",
            "choices": [_plain(c) for c in param.choices],
        }
    else:
        data = {"type": param.kind, "low": param.low, "high": param.high}
        if param.step is not None and not (param.kind == "int" and param.step == 1):
            data["step"] = param.step
        if param.log:
            data["log"] = True
    if param.when:
        data["when"] = {key: list(values) for key, values in param.when}
    return data


def _sorted_options(match: re.Match) -> str:
    options = sorted(option.strip().strip("'") for option in match.group(1).split(","))
    return f"one of {', '.join(options)}"


def _contains(param: Param, value: Any) -> bool:
    """Whether ``param`` can draw ``value`` (what Optuna would accept for it)."""
    if param.kind == "categorical":
        # True == 1 in Python; a space that offers 1 does not offer true
        return any(
            value == choice and isinstance(value, bool) == isinstance(choice, bool)
            for choice in param.choices
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if param.kind == "int":
        return (
            isinstance(value, int)
            and param.low <= value <= param.high
            and ((value - param.low) % param.step == 0)
        )
    return math.isfinite(value) and param.low <= value <= param.high


def _renamed(param: Param, name: str) -> Param:
    from dataclasses import replace

    return replace(param, name=name)


def _active(param: Param, chosen: Mapping[str, Any]) -> bool:
    return all(chosen.get(key) in values for key, values in param.when)


class _Parser:
    """Validation of one document; every error starts with the file name and the key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.task = "sequences"
        self.estimator_params = ESTIMATOR_PARAMS
        self.constraints = _CONSTRAINTS

    def fail(self, key: str, message: str) -> SpaceError:
        return SpaceError(f"{self.source}: {key}: {message}")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__} {value!r}")
        return value

    def only(self, value: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.fail(key, f"unknown key(s) {unknown}; expected only {', '.join(allowed)}")

    def space(self, data: Any) -> SearchSpace:
        _check_document_size(data, self.source)
        if not isinstance(data, Mapping):
            raise SpaceError(
                f"{self.source}: the document must be a mapping with keys name, layers, "
                f"params, fixed, training, start_from; got {type(data).__name__}"
            )
        self.only(
            data,
            "<top level>",
            ("task", "name", "description", "layers", "params", "fixed", "training", "start_from"),
        )
        task = data.get("task", "sequences")
        if task not in SPACE_TASKS:
            raise self.fail(
                "task", f"unknown task {task!r}; expected one of {', '.join(SPACE_TASKS)}"
            )
        if task == "forecasting":
            self.task = task
            self.estimator_params = _FORECAST_PARAMS
            self.constraints = _FORECAST_CONSTRAINTS
        elif task == "text":
            self.task = task
            self.estimator_params = _TEXT_PARAMS
            self.constraints = _TEXT_CONSTRAINTS
        for required in ("name", "layers"):
            if required not in data:
                raise self.fail(required, "missing required key")
        name = data["name"]
        if not isinstance(name, str) or not name:
            raise self.fail("name", f"expected a non-empty string, got {name!r}")
        layers = self.mapping(data["layers"], "layers")
        self.only(layers, "layers", ("count", "units"))
        for required in ("count", "units"):
            if required not in layers:
                raise self.fail(f"layers.{required}", "missing required key")
        depth = self.param("n_layers", layers["count"], "layers.count")
        units = self.param("units", layers["units"], "layers.units")
        self.check_positive_ints(depth, "layers.count", LIMITS["n_layers"])
        self.check_positive_ints(units, "layers.units", LIMITS["units"])
        description = data.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", f"expected text, got {type(description).__name__}")

        params = []
        for key, spec in self.mapping(data.get("params") or {}, "params").items():
            self.check_estimator_key(key, f"params.{key}")
            params.append(self.param(key, spec, f"params.{key}"))
        names = {param.name for param in params}
        for param in params:
            for other, _ in param.when:
                if other not in names or other == param.name:
                    raise self.fail(
                        f"params.{param.name}.when",
                        f"refers to {other!r}, which is not another parameter of this space",
                    )

        fixed = []
        for key, value in self.mapping(data.get("fixed") or {}, "fixed").items():
            self.check_estimator_key(key, f"fixed.{key}")
            if key in names:
                raise self.fail(f"fixed.{key}", "is also under params; keep it in one place")
            self.check_value(key, value, f"fixed.{key}")
            fixed.append((key, tuple(value) if isinstance(value, list) else value))

        training = self.training(data.get("training") or {})
        space = SearchSpace(
            name=name,
            description=description.strip(),
            depth=depth,
            units=units,
            params=tuple(params),
            fixed=tuple(fixed),
            training=training,
            source=self.source,
            task=self.task,
        )
        start_from = self.start_from(data.get("start_from") or [], space)
        return SearchSpace(**{**space.__dict__, "start_from": start_from})

    def check_estimator_key(self, key: str, where: str) -> None:
        if key == "units":
            raise self.fail(where, "layer widths are declared under layers.units")
        if key not in self.estimator_params:
            what = {
                "forecasting": "GRUForecaster parameter",
                "text": "GRUTextClassifier parameter",
            }.get(self.task, "estimator parameter")
            raise self.fail(
                where, f"unknown {what}; expected one of {', '.join(self.estimator_params)}"
            )

    def check_value(self, name: str, value: Any, where: str) -> None:
        """``value`` must satisfy the estimator's own constraint and the space's limit."""
        if name in ("n_layers", "units") or name.startswith("units_"):
            self.check_count(value, where, LIMITS["units" if name != "n_layers" else name])
            return
        if name == "head_units":
            widths = value if isinstance(value, (list, tuple)) else None
            if widths is None:
                raise self.fail(where, f"head_units must be a list of widths, got {value!r}")
            for width in widths:
                self.check_count(width, where, LIMITS["head_units"])
            return
        constraint = self.constraints.get(name)
        if constraint is None:
            return
        try:
            validate_parameter_constraints({name: constraint}, {name: value}, caller_name="")
        except InvalidParameterError as error:
            rule = str(error).split(" must be ", 1)[-1].split(". Got ")[0]
            rule = re.sub(r"a str among \{([^}]*)\}", _sorted_options, rule)
            raise self.fail(where, f"{name} must be {rule}; got {value!r}") from None
        if name in LIMITS and value > LIMITS[name]:
            raise self.fail(where, f"{name} {value} exceeds this space limit of {LIMITS[name]}")

    def check_count(self, value: Any, where: str, limit: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise self.fail(where, f"expected an integer from 1 to {limit}, got {value!r}")

    def check_positive_ints(self, param: Param, where: str, limit: int) -> None:
        values = param.choices if param.kind == "categorical" else (param.low, param.high)
        if param.kind == "float" or any(
            isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= limit for v in values
        ):
            raise self.fail(where, f"expected integers from 1 to {limit}, got {_param_dict(param)}")

    def param(self, name: str, spec: Any, where: str) -> Param:
        spec = self.mapping(spec, where)
        if "type" not in spec:
            raise self.fail(f"{where}.type", "missing; expected int, float or categorical")
        kind = spec["type"]
        when = self.when(spec.get("when"), where)
        if kind == "categorical":
            self.only(spec, where, ("type", "choices", "when"))
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise self.fail(f"{where}.choices", f"expected a non-empty list, got {choices!r}")
            for choice in choices:
                # what an Optuna RDB storage can hold; lists go under `fixed`
                if choice is not None and not isinstance(choice, (bool, int, float, str)):
                    raise self.fail(
                        f"{where}.choices",
                        f"choice {choice!r} is not a number, string, boolean or null; "
                        "Optuna storages hold only those (fix lists under `fixed`)",
                    )
            choices = tuple(choices)
            for choice in choices:
                self.check_value(name, choice, f"{where}.choices")
            return Param(name, optuna.distributions.CategoricalDistribution(choices), when)
        if kind not in ("int", "float"):
            raise self.fail(
                f"{where}.type",
                f"unknown distribution type {kind!r}; expected int, float or categorical",
            )
        self.only(spec, where, ("type", "low", "high", "step", "log", "when"))
        for bound in ("low", "high"):
            if bound not in spec:
                raise self.fail(f"{where}.{bound}", "missing required key")
        low, high, step, log = spec["low"], spec["high"], spec.get("step"), spec.get("log", False)
        number = int if kind == "int" else (int, float)
        for label, value in (("low", low), ("high", high), ("step", step)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, number)):
                raise self.fail(
                    f"{where}.{label}",
                    f"expected {'an integer' if kind == 'int' else 'a number'}, got {value!r}",
                )
        if not isinstance(log, bool):
            raise self.fail(f"{where}.log", f"expected true or false, got {log!r}")
        if kind == "float" and not all(map(math.isfinite, (low, high))):
            raise self.fail(where, "low and high must be finite")
        distribution = self.distribution(kind, low, high, step, log, where)
        for value in (low, high):
            self.check_value(name, value, where)
        return Param(name, distribution, when)

    def distribution(
        self, kind: str, low: Any, high: Any, step: Any, log: bool, where: str
    ) -> optuna.distributions.BaseDistribution:
        """Optuna's distribution, its own rules applied; a range it would cut is refused."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if kind == "int":
                    made = optuna.distributions.IntDistribution(low, high, log=log, step=step or 1)
                else:
                    made = optuna.distributions.FloatDistribution(
                        float(low), float(high), log=log, step=step
                    )
        except ValueError as error:
            raise self.fail(where, f"{error} (Optuna's rule)") from None
        if caught:  # Optuna shortens a range that is not a whole number of steps
            raise self.fail(
                where,
                f"high - low ({high} - {low}) must be a whole number of steps ({step}); "
                f"Optuna would search [{made.low}, {made.high}] instead",
            )
        return made

    def when(self, spec: Any, where: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        if spec is None:
            return ()
        spec = self.mapping(spec, f"{where}.when")
        result = []
        for key, values in spec.items():
            if not isinstance(values, list) or not values:
                raise self.fail(
                    f"{where}.when.{key}", f"expected a non-empty list of values, got {values!r}"
                )
            result.append((key, tuple(values)))
        return tuple(result)

    def training(self, spec: Any) -> TrainingSettings:
        spec = self.mapping(spec, "training")
        forecasting = self.task == "forecasting"
        last = "windows" if forecasting else "finalist_folds"
        self.only(
            spec, "training", ("epochs", "metric", "direction", "pruning_warmup", "finalists", last)
        )

        def count(key: str, least: int, most: int, default: int) -> int:
            value = spec.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                raise self.fail(
                    f"training.{key}", f"expected an integer from {least} to {most}, got {value!r}"
                )
            return value

        # epochs first: the warmup's default depends on it
        epochs = count("epochs", 1, LIMITS["epochs"], TrainingSettings.epochs)
        warmup = count(
            "pruning_warmup", 1, LIMITS["epochs"], min(TrainingSettings.pruning_warmup, epochs)
        )
        finalists = count("finalists", 1, 100, TrainingSettings.finalists)
        folds = count("finalist_folds", 2, 100, TrainingSettings.finalist_folds)
        windows = count("windows", 1, 100, TrainingSettings.windows)
        if warmup > epochs:
            raise self.fail(
                "training.pruning_warmup", f"({warmup}) exceeds training.epochs ({epochs})"
            )
        metric = spec.get("metric", "mase" if forecasting else None)
        if forecasting:
            if metric not in FORECAST_METRICS:
                raise self.fail(
                    "training.metric",
                    f"unknown forecasting metric {metric!r}; expected one of "
                    f"{', '.join(FORECAST_METRICS)} (errors, minimised)",
                )
        elif metric is not None:
            from sklearn.metrics import get_scorer_names

            if metric not in _METRICS_MINIMIZED and metric not in get_scorer_names():
                raise self.fail(
                    "training.metric",
                    f"unknown metric {metric!r}; expected 'loss' or a scikit-learn scorer name "
                    "such as accuracy, balanced_accuracy, f1_macro, neg_log_loss, r2",
                )
        minimized = forecasting or metric in _METRICS_MINIMIZED
        natural = "minimize" if minimized else "maximize"
        direction = spec.get("direction", natural)
        if direction not in ("maximize", "minimize"):
            raise self.fail(
                "training.direction", f"expected maximize or minimize, got {direction!r}"
            )
        if direction != natural:
            raise self.fail(
                "training.direction",
                f"{direction} does not fit metric {metric or 'accuracy/r2'!r}, which is "
                f"{'a loss' if natural == 'minimize' else 'a score (greater is better)'}; "
                f"expected {natural}",
            )
        return TrainingSettings(epochs, metric, direction, warmup, finalists, folds, windows)

    def start_from(self, spec: Any, space: SearchSpace) -> tuple[tuple[tuple[str, Any], ...], ...]:
        if not isinstance(spec, list):
            raise self.fail("start_from", f"expected a list of mappings, got {spec!r}")
        points = []
        for index, point in enumerate(spec):
            where = f"start_from[{index}]"
            point = self.mapping(point, where)
            if "n_layers" not in point:
                raise self.fail(f"{where}.n_layers", "missing required key")
            n_layers = point["n_layers"]
            if not _contains(space.depth, n_layers):
                raise self.fail(
                    f"{where}.n_layers",
                    f"{n_layers!r} is outside layers.count {_param_dict(space.depth)}",
                )
            expected = {"n_layers", *(f"units_{i}" for i in range(n_layers))}
            expected |= {p.name for p in space.params if _active(p, point)}
            missing = sorted(expected - set(point))
            unknown = sorted(set(point) - expected)
            if missing or unknown:
                raise self.fail(
                    where,
                    f"must give exactly the trial parameters {sorted(expected)}"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unexpected {unknown}" if unknown else ""),
                )
            distributions = {p.name: p for p in space.params}
            for key, value in point.items():
                param = space.units if key.startswith("units_") else distributions.get(key)
                if param is not None and not _contains(param, value):
                    raise self.fail(
                        f"{where}.{key}",
                        f"{value!r} is outside the space's {_param_dict(param)}",
                    )
                self.check_value(key, value, f"{where}.{key}")
            points.append(
                tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in point.items())
            )
        return tuple(points)


def available_spaces() -> dict[str, Path]:
    """Names and paths of the spaces shipped with gru-search."""
    return {path.stem: path for path in sorted(SPACES_DIR.glob("*.yaml"))}


def load_space(name_or_path: str | Path | SearchSpace) -> SearchSpace:
    """Load and validate a search space.

    Parameters
    ----------
    name_or_path : str, path or SearchSpace
        The name of a shipped space (``"default"``, ``"quick"``, ``"gate_variants"``), or
        the path of a YAML file. A :class:`SearchSpace` is returned as it is.

    Returns
    -------
    SearchSpace

    Raises
    ------
    SpaceError
        If the file is missing, is not YAML, or does not validate; the message names the
        file, the key and what was expected.
    """
    if isinstance(name_or_path, SearchSpace):
        return name_or_path
    shipped = available_spaces()
    path = Path(name_or_path)
    if str(name_or_path) in shipped:
        path = shipped[str(name_or_path)]
    elif not path.is_file():
        raise SpaceError(
            f"no search space {str(name_or_path)!r}: not a file, and not one of the shipped "
            f"spaces ({', '.join(shipped)})"
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpaceError(
                f"{path}: {size} bytes; a space file is at most {MAX_FILE_BYTES} bytes"
            )
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SpaceError(f"{path}: not valid YAML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpaceError(f"{path}: cannot read the file: {error}") from None
    return SearchSpace.from_dict(data, source=str(path))


def _check_document_size(data: Any, source: str) -> None:
    """Refuse documents that expand past :data:`MAX_DOCUMENT_NODES` values.

    YAML aliases let a file of a few lines describe billions of values; counting every
    use of every alias (and stopping at the limit) finds that before anything expands it.
    """
    budget = MAX_DOCUMENT_NODES
    pending = [data]
    while pending:
        budget -= 1
        if budget < 0:
            raise SpaceError(
                f"{source}: the document expands to more than {MAX_DOCUMENT_NODES} values "
                "(YAML aliases repeated?); a search space needs a few hundred at most"
            )
        item = pending.pop()
        if isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
