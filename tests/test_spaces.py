"""Search spaces: the shipped files, sampling through Optuna, and clear errors."""

from __future__ import annotations

import copy

import optuna
import pytest
import yaml

from gru_search import SpaceError, load_space
from gru_search.cells import VARIANTS
from gru_search.spaces import SearchSpace, available_spaces

MINIMAL = {
    "name": "t",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 3},
        "units": {"type": "categorical", "choices": [8, 16]},
    },
    "params": {
        "cell": {"type": "categorical", "choices": ["gru", "mgu"]},
        "dropout": {"type": "float", "low": 0.0, "high": 0.4, "step": 0.1},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "recurrent_dropout": {"type": "float", "low": 0.0, "high": 0.2, "when": {"cell": ["mgu"]}},
    },
    "fixed": {"batch_size": 16},
    "training": {"epochs": 12, "pruning_warmup": 4},
}


def test_shipped_spaces_load_and_cover_every_variant():
    assert {"default", "quick", "gate_variants"} <= set(available_spaces())
    for name in available_spaces():
        space = load_space(name)
        assert space.name == name
        for point in space.start_points:  # every start point is a complete trial
            params = space.to_estimator_params(point)
            assert len(params["units"]) == point["n_layers"]
    assert set(load_space("gate_variants").cells) == set(VARIANTS)
    # the default space cross-validates 3 finalists; quick, for demos and tests, none
    assert (load_space("default").training.finalists, load_space("quick").training.finalists) == (
        3,
        1,
    )


def test_finalist_settings_default_and_round_trip():
    training = SearchSpace.from_dict(MINIMAL).training
    assert (training.finalists, training.finalist_folds) == (3, 5)
    data = {**MINIMAL, "training": {"epochs": 12, "finalists": 2, "finalist_folds": 4}}
    space = SearchSpace.from_dict(data)
    assert SearchSpace.from_dict(space.to_dict()) == space
    assert (space.training.finalists, space.training.finalist_folds) == (2, 4)


def test_sampling_is_define_by_run_with_per_layer_units_and_conditions():
    space = SearchSpace.from_dict(MINIMAL)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_depths, seen_conditional = set(), {"gru": set(), "mgu": set()}
    for _ in range(40):
        trial = study.ask()
        params = space.sample(trial)
        n_layers = trial.params["n_layers"]
        seen_depths.add(n_layers)
        assert params["units"] == tuple(trial.params[f"units_{i}"] for i in range(n_layers))
        assert not any(f"units_{i}" in trial.params for i in range(n_layers, 3))
        seen_conditional[params["cell"]].add("recurrent_dropout" in params)
        assert params["batch_size"] == 16 and params["epochs"] == 12
        study.tell(trial, 0.0)
    assert seen_depths == {1, 2, 3}
    assert seen_conditional == {"gru": {False}, "mgu": {True}}


def test_to_estimator_params_is_a_pure_mapping():
    space = SearchSpace.from_dict(MINIMAL)
    params = {
        "n_layers": 2,
        "units_0": 64,
        "units_1": 32,
        "cell": "gru",
        "dropout": 0.1,
        "learning_rate": 0.01,
    }
    assert space.to_estimator_params(params) == {
        "epochs": 12,
        "batch_size": 16,
        "units": (64, 32),
        "cell": "gru",
        "dropout": 0.1,
        "learning_rate": 0.01,
    }


def test_a_stepped_float_reaches_the_estimator_without_optuna_float_noise():
    space = SearchSpace.from_dict(MINIMAL)
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(0)).ask(
        {"dropout": optuna.distributions.FloatDistribution(0.0, 0.4, step=0.1)}
    )
    drawn = [0.1 * k for k in range(5)]  # 0.30000000000000004 among them, as Optuna gives
    params = {"n_layers": 1, "units_0": 8, "cell": "gru", "learning_rate": 0.01}
    assert [space.to_estimator_params({**params, "dropout": d})["dropout"] for d in drawn] == [
        0.0,
        0.1,
        0.2,
        0.3,
        0.4,
    ]
    assert repr(space.sample(trial)["dropout"]) in {"0.0", "0.1", "0.2", "0.3", "0.4"}


def test_round_trip_through_to_dict():
    for name in available_spaces():
        space = load_space(name)
        again = SearchSpace.from_dict(space.to_dict(), source=space.source)
        assert again == space


def _with(path: str, value):
    data = copy.deepcopy(MINIMAL)
    keys = path.split(".")
    target = data
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


_DELETE = object()

BAD_SPACES = [
    (
        "low > high",
        _with("params.dropout.low", 0.5),
        r"params\.dropout: `low <= high` must hold, but got \(low=0\.5, high=0\.4\)",
    ),
    (
        "unknown variant",
        _with("params.cell.choices", ["gru", "lstm"]),
        r"params\.cell\.choices: cell must be one of gru, gru1, .*; got 'lstm'",
    ),
    ("unknown type", _with("params.dropout.type", "normal"), r"unknown distribution type"),
    (
        "negative dropout",
        _with("params.dropout.low", -0.1),
        r"dropout must be a float in the range \[0\.0, 1\.0\)",
    ),
    (
        "dropout of 1",
        _with("params.dropout", _DELETE) | {"fixed": {"dropout": 1.0}},
        r"fixed\.dropout: dropout must be a float",
    ),
    ("both fixed and searched", _with("fixed", {"dropout": 0.1}), r"also under params"),
    ("missing key", _with("layers.units", _DELETE), r"layers\.units: missing required key"),
    ("missing high", _with("params.dropout.high", _DELETE), r"dropout\.high: missing"),
    ("not a mapping", ["a", "list"], r"document must be a mapping"),
    (
        "unknown param",
        _with("params.colour", {"type": "categorical", "choices": [1]}),
        r"params\.colour: unknown estimator parameter",
    ),
    (
        "log with low 0",
        _with("params.learning_rate.low", 0.0),
        r"learning_rate: `low > 0` must hold for `log=True`.*Optuna's rule",
    ),
    (
        "step and log",
        _with("params.learning_rate.step", 0.001),
        r"step` is not supported when `log` is true",
    ),
    (
        "range not a whole number of steps",
        _with("params.dropout", {"type": "float", "low": 0.0, "high": 0.25, "step": 0.1}),
        r"params\.dropout: high - low \(0\.25 - 0\.0\) must be a whole number of steps",
    ),
    (
        "bad units",
        _with("layers.units", {"type": "float", "low": 1, "high": 2}),
        r"layers\.units: expected integers from 1 to 4096",
    ),
    ("list choice", _with("params.cell.choices", [["gru"]]), r"not a number, string"),
    ("empty choices", _with("params.cell.choices", []), r"expected a non-empty list"),
    ("warm-up beyond budget", _with("training.pruning_warmup", 50), r"exceeds training\.epochs"),
    ("unknown metric", _with("training", {"metric": "accurracy"}), r"unknown metric"),
    (
        "no finalists",
        _with("training.finalists", 0),
        r"training\.finalists: expected an integer from 1 to 100",
    ),
    (
        "one fold",
        _with("training.finalist_folds", 1),
        r"finalist_folds: expected an integer from 2 to 100",
    ),
    (
        "wrong direction",
        _with("training", {"metric": "accuracy", "direction": "minimize"}),
        r"expected maximize",
    ),
    (
        "dangling condition",
        _with("params.recurrent_dropout.when", {"colour": ["red"]}),
        r"refers to 'colour'",
    ),
    (
        "incomplete start",
        _with("start_from", [{"n_layers": 1, "cell": "gru"}]),
        r"start_from\[0\].*missing \['dropout', 'learning_rate', 'units_0'\]",
    ),
]


@pytest.mark.parametrize(("case", "data", "message"), BAD_SPACES, ids=[c[0] for c in BAD_SPACES])
def test_bad_space_file_names_file_key_and_expectation(tmp_path, case, data, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpaceError, match=message) as caught:
        load_space(path)
    assert str(path) in str(caught.value)


def test_invalid_yaml_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(path)
    with pytest.raises(SpaceError, match="not one of the shipped spaces"):
        load_space(tmp_path / "absent.yaml")


def test_yaml_tags_that_would_run_code_are_refused(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo owned']\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(path)


# What a user writes by mistake and every trial would otherwise fail on: refused at load,
# checked against the estimator's own parameter constraints, with file, key and rule.
ESTIMATOR_RULES = [
    (
        "negative epochs",
        _with("fixed", {"batch_size": 16, "epochs": -5}),
        r"fixed\.epochs: epochs must be an int",
    ),
    ("batch size as text", _with("fixed.batch_size", "16"), r"fixed\.batch_size: .*got '16'"),
    (
        "patch size 0",
        _with("fixed", {"batch_size": 16, "patch_size": 0}),
        r"fixed\.patch_size: .*got 0",
    ),
    (
        "negative learning rate",
        _with("params.learning_rate", {"type": "float", "low": -0.1, "high": 0.1}),
        r"params\.learning_rate: learning_rate must be a float in the range \(0\.0, inf\)",
    ),
    (
        "unknown pooling",
        _with("fixed", {"batch_size": 16, "pooling": "max"}),
        r"fixed\.pooling: .*one of last, mean",
    ),
    (
        "a billion units",
        _with("layers.units.choices", [8, 10**9]),
        r"layers\.units\.choices: expected an integer from 1 to 4096",
    ),
    (
        "a million layers",
        _with("layers.count.high", 10**6),
        r"layers\.count: expected an integer from 1 to 16",
    ),
    (
        "huge batches",
        _with("fixed.batch_size", 10**7),
        r"fixed\.batch_size: batch_size 10000000 exceeds",
    ),
    (
        "huge epochs",
        _with("training.epochs", 10**9),
        r"training\.epochs: expected an integer from 1 to 100000",
    ),
    (
        "epochs as a word",
        _with("training.epochs", "ten"),
        r"training\.epochs: expected an integer from 1 to 100000, got 'ten'",
    ),
    (
        "head units not a list",
        _with("fixed", {"batch_size": 16, "head_units": 32}),
        r"head_units must be a list",
    ),
    ("text as description", _with("description", ["a", "list"]), r"description: expected text"),
]


@pytest.mark.parametrize(
    ("case", "data", "message"), ESTIMATOR_RULES, ids=[c[0] for c in ESTIMATOR_RULES]
)
def test_values_every_trial_would_reject_are_refused_at_load(tmp_path, case, data, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpaceError, match=message) as caught:
        load_space(path)
    assert str(path) in str(caught.value)


START_POINTS = [
    ("depth of 1e8", {"n_layers": 100_000_000}, r"start_from\[0\]\.n_layers: 100000000 is outside"),
    ("units not offered", {"units_0": 12}, r"start_from\[0\]\.units_0: 12 is outside"),
    (
        "learning rate outside",
        {"learning_rate": 0.5},
        r"start_from\[0\]\.learning_rate: 0\.5 is outside",
    ),
    ("variant not offered", {"cell": "ugrnn"}, r"start_from\[0\]\.cell: 'ugrnn' is outside"),
    ("true for a number", {"dropout": True}, r"start_from\[0\]\.dropout: True is outside"),
]


@pytest.mark.parametrize(
    ("case", "change", "message"), START_POINTS, ids=[c[0] for c in START_POINTS]
)
def test_start_points_outside_the_space_are_refused(case, change, message):
    point = {"n_layers": 1, "units_0": 8, "cell": "gru", "dropout": 0.1, "learning_rate": 1e-3}
    data = {**MINIMAL, "start_from": [{**point, **change}]}
    with pytest.raises(SpaceError, match=message):
        SearchSpace.from_dict(data)


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    for where in ("description", "fixed"):
        path = tmp_path / f"bomb-{where}.yaml"
        body = "\n".join("  " + line for line in lines)
        path.write_text(
            f"name: bomb\n{where}:\n{body}\n"
            "layers: {count: {type: int, low: 1, high: 1},\n"
            "         units: {type: categorical, choices: [8]}}\n"
        )
        with pytest.raises(SpaceError, match="expands to more than 100000 values"):
            load_space(path)


def test_an_oversized_space_file_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\n" + "# padding\n" * 200_000)
    with pytest.raises(SpaceError, match="a space file is at most"):
        load_space(path)


def test_spaces_validate_names_file_key_and_rule_and_exits_2(tmp_path, capsys):
    from gru_search.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_with("fixed", {"batch_size": 16, "epochs": -5})))
    assert main(["spaces", "validate", "default", str(path)]) == 2
    captured = capsys.readouterr()
    assert "valid: default" in captured.out
    assert (
        f"invalid: {path}: fixed.epochs: epochs must be an int in the range [1, inf); got -5"
        in captured.err
    )


def test_the_default_space_names_no_metric_so_it_serves_both_tasks():
    assert load_space("default").training.metric is None


FORECASTING = {
    "task": "forecasting",
    "name": "f",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [8]},
    },
    "params": {
        "input_size_multiplier": {"type": "categorical", "choices": [1.0, 2.0]},
        "scaling": {"type": "categorical", "choices": ["window", "robust"]},
    },
    "fixed": {"loss": "mae", "short_series": "pad"},
    "training": {"epochs": 5, "pruning_warmup": 2, "windows": 2},
}


def test_a_forecasting_space_searches_forecaster_parameters_and_minimises_mase():
    space = load_space("forecasting")
    assert space.task == "forecasting"
    assert (space.training.metric, space.training.direction) == ("mase", "minimize")
    again = SearchSpace.from_dict(space.to_dict(), source=space.source)
    assert again == space and space.to_dict()["task"] == "forecasting"
    small = SearchSpace.from_dict(FORECASTING)
    assert small.training.windows == 2
    params = small.sample(optuna.create_study().ask())
    assert params["scaling"] in ("window", "robust") and params["units"] == (8,)
    # a sequences space's stored form is unchanged: no task key, finalist folds kept
    assert "task" not in load_space("quick").to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "clustering"}, r"task: unknown task 'clustering'; expected one of sequences"),
        (
            {"fixed": {"class_weight": "balanced"}},
            r"fixed\.class_weight: unknown GRUForecaster parameter; expected one of",
        ),
        (
            {"fixed": {"cell": "gru", "scaling": "minmax"}, "params": {}},
            r"fixed\.scaling: scaling must be one of none, robust, standard, window; got 'minmax'",
        ),
        (
            {"training": {"epochs": 5, "metric": "accuracy"}},
            r"training\.metric: unknown forecasting metric 'accuracy'; expected one of mase",
        ),
        (
            {"training": {"epochs": 5, "finalist_folds": 3}},
            r"training: unknown key",
        ),
    ],
    ids=["task", "classifier parameter", "scaling", "metric", "folds"],
)
def test_bad_forecasting_spaces_name_the_key(change, message):
    with pytest.raises(SpaceError, match=message):
        SearchSpace.from_dict({**FORECASTING, **change})


def test_a_forecasting_space_is_refused_by_the_sequence_search():
    import numpy as np

    from gru_search import GRUClassifier, GRUSearchCV

    X, y = np.zeros((8, 5, 1)), np.arange(8) % 2
    with pytest.raises(
        SpaceError, match=r"'forecasting' is a forecasting space.*GRUForecastSearch"
    ):
        GRUSearchCV(GRUClassifier(), space="forecasting", n_trials=1).fit(X, y)
