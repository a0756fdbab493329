"""GRUSearchCV: real Optuna studies over real (tiny) Keras trainings."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import keras
import numpy as np
import optuna
import pytest
from sklearn.base import clone

from gru_search import GRUClassifier, GRURegressor, GRUSearchCV, SearchSpace
from gru_search.engine import trials_per_process
from gru_search.exceptions import SearchFailedError, StudyMismatchError
from gru_search.trials import refit_params

BASE = GRUClassifier(jit_compile=False, random_state=0)

# Small and fast: 1 layer of 4-8 units, 6 epochs a trial.
TINY = {
    "name": "tiny",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [4, 8]},
    },
    "params": {
        "cell": {"type": "categorical", "choices": ["gru", "mgu"]},
        "learning_rate": {"type": "float", "low": 3e-3, "high": 3e-2, "log": True},
    },
    "fixed": {"batch_size": 32},
    # one finalist: these tests are about the study (tests/test_finalists.py covers more)
    "training": {"epochs": 6, "pruning_warmup": 2, "finalists": 1},
    "start_from": [{"n_layers": 1, "units_0": 8, "cell": "gru", "learning_rate": 0.02}],
}


def make_sequences(n: int = 48, steps: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    trend = np.linspace(-1, 1, steps)[None, :] * (2 * y[:, None] - 1)
    return (trend + 0.3 * rng.normal(size=(n, steps))).astype("float32"), y


def tiny_space(**changes) -> SearchSpace:
    data = {**TINY, **changes}
    return SearchSpace.from_dict(data)


@pytest.fixture(scope="module")
def fitted_search():
    X, y = make_sequences()
    search = GRUSearchCV(BASE, space=tiny_space(), n_trials=3, random_state=0, verbose=0)
    return search.fit(X, y), X, y


def test_search_runs_trials_records_attributes_and_refits(fitted_search):
    search, X, y = fitted_search
    assert len(search.study_.trials) == search.n_trials_ == 3
    # the space's start point runs first
    assert search.study_.trials[0].params == TINY["start_from"][0]
    best = search.best_trial_
    for key in (
        "estimator_params",
        "n_params",
        "fused_kernel",
        "epoch_seconds",
        "best_epoch",
        "train_seconds",
        "cell",
    ):
        assert key in best.user_attrs, key
    assert len(best.user_attrs["epoch_seconds"]) == len(best.intermediate_values) == 6
    assert search.n_splits_ == 1  # cv=None: one hold-out
    assert (
        best.value
        == search.best_score_
        == max(t.value for t in search.study_.trials if t.value is not None)
    )
    assert search.best_params_["units"] == (best.params["units_0"],)
    refit = search.best_estimator_
    assert refit.n_iter_ == best.user_attrs["best_epoch"]
    # best_params_ are what best_estimator_ was fit with: its epochs, not the space's budget
    assert search.best_params_["epochs"] == refit.n_iter_
    assert refit.model_.count_params() == best.user_attrs["n_params"]
    assert search.predict(X).shape == (len(X),)
    assert search.predict_proba(X).shape == (len(X), 2)
    assert 0.0 <= search.score(X, y) <= 1.0
    board = search.leaderboard()
    assert board["trial"].iloc[0] == best.number
    assert {"value", "cell", "units", "n_params", "mean_epoch_seconds"} <= set(board.columns)


@pytest.mark.slow
def test_same_random_state_gives_the_same_trial_sequence():
    X, y = make_sequences()

    def trial_params():
        search = GRUSearchCV(
            BASE, space=tiny_space(), n_trials=3, random_state=7, refit=False, verbose=0
        )
        return [t.params for t in search.fit(X, y).study_.trials]

    first = trial_params()
    assert first == trial_params()
    assert len({tuple(sorted(p.items())) for p in first}) > 1


class _FailsWithEightUnits(GRURegressor):
    """Raises inside fit for one configuration, as a real failure inside a trial would."""

    def fit(self, X, y, sample_weight=None, *, callbacks=None):
        if tuple(self.units) == (8,):
            raise RuntimeError("no space left on device")
        return super().fit(X, y, sample_weight=sample_weight, callbacks=callbacks)


@pytest.mark.slow
def test_a_failing_and_a_diverging_trial_do_not_end_the_study():
    X, _ = make_sequences()
    target = X.sum(axis=1)
    space = tiny_space(
        params={
            # plain SGD at 1e9 without clipping overflows a linear output to inf, then NaN
            "learning_rate": {"type": "categorical", "choices": [1e9, 1e-2]},
        },
        fixed={"optimizer": "sgd", "clipnorm": None, "batch_size": 32},
        start_from=[
            {"n_layers": 1, "units_0": 8, "learning_rate": 1e-2},
            {"n_layers": 1, "units_0": 4, "learning_rate": 1e9},
            {"n_layers": 1, "units_0": 4, "learning_rate": 1e-2},
        ],
    )
    search = GRUSearchCV(
        _FailsWithEightUnits(jit_compile=False, random_state=0),
        space=space,
        n_trials=3,
        pruner="none",
        random_state=0,
        verbose=0,
    ).fit(X, target)
    states = [t.state.name for t in search.study_.trials]
    assert states == ["FAIL", "FAIL", "COMPLETE"]
    reason = search.study_.trials[0].user_attrs["fail_reason"]
    assert reason == "RuntimeError: no space left on device"
    assert "became nan" in search.study_.trials[1].user_attrs["fail_reason"] or (
        "became inf" in search.study_.trials[1].user_attrs["fail_reason"]
    )
    assert search.best_trial_.number == 2


class _InterruptOnSecondFit(GRUClassifier):
    """Raises KeyboardInterrupt in its second fit, as Ctrl-C during trial 1 would."""

    fits = 0

    def fit(self, X, y, sample_weight=None, *, callbacks=None):
        type(self).fits += 1
        if type(self).fits == 2:
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight, callbacks=callbacks)


@pytest.mark.slow
def test_ctrl_c_ends_the_study_and_keeps_finished_trials(tmp_path):
    X, y = make_sequences()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search = GRUSearchCV(
        _InterruptOnSecondFit(jit_compile=False, random_state=0),
        space=tiny_space(),
        n_trials=5,
        storage=storage,
        study_name="interrupted",
        verbose=0,
    ).fit(X, y)
    assert search.interrupted_
    stored = optuna.load_study(study_name="interrupted", storage=storage)
    assert [t.state.name for t in stored.trials] == ["COMPLETE", "FAIL"]
    assert search.best_trial_.number == 0
    assert search.predict(X).shape == (len(X),)  # refit still ran (third fit)


@pytest.mark.slow
def test_sqlite_study_resumes_and_refuses_a_different_space(tmp_path):
    X, y = make_sequences()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    kwargs = {"storage": storage, "study_name": "resumable", "verbose": 0, "refit": False}
    GRUSearchCV(BASE, space=tiny_space(), n_trials=2, **kwargs).fit(X, y)
    search = GRUSearchCV(BASE, space=tiny_space(), n_trials=1, **kwargs).fit(X, y)
    assert len(search.study_.trials) == 3
    # the start point was enqueued once, when the study was new
    assert sum(t.params == TINY["start_from"][0] for t in search.study_.trials) == 1
    other = tiny_space(fixed={"batch_size": 8})
    with pytest.raises(StudyMismatchError, match="different space"):
        GRUSearchCV(BASE, space=other, n_trials=1, **kwargs).fit(X, y)
    with pytest.raises(AttributeError, match="refit=True"):
        search.predict(X)


@pytest.mark.slow
def test_cross_validation_and_loss_metric_for_a_regressor():
    X, _ = make_sequences(n=36)
    target = X[:, -3:].mean(axis=1)
    search = GRUSearchCV(
        GRURegressor(jit_compile=False, random_state=0),
        space=tiny_space(),
        n_trials=2,
        cv=2,
        scoring="loss",
        random_state=0,
        verbose=0,
    ).fit(X, target)
    assert search.study_.direction == optuna.study.StudyDirection.MINIMIZE
    assert len(search.best_trial_.user_attrs["fold_values"]) == 2
    assert search.n_splits_ == 2
    assert search.best_score_ == min(t.value for t in search.study_.trials)
    assert search.predict(X).shape == (36,)


def test_clone_and_bad_arguments():
    search = GRUSearchCV(BASE, space="quick", n_trials=1)
    assert clone(search).get_params()["space"] == "quick"
    X, y = make_sequences(n=10)
    with pytest.raises(ValueError, match="unknown sampler"):
        GRUSearchCV(BASE, space=tiny_space(), sampler="grid", n_trials=1).fit(X, y)
    with pytest.raises(ValueError, match="unknown pruner"):
        GRUSearchCV(BASE, space=tiny_space(), pruner="fast", n_trials=1).fit(X, y)
    with pytest.raises(ValueError, match="samples"):
        GRUSearchCV(BASE, space=tiny_space(), n_trials=1).fit(X, y[:5])


@pytest.mark.slow
def test_trials_can_run_in_recycled_child_processes():
    X, y = make_sequences()
    search = GRUSearchCV(
        BASE, space=tiny_space(), n_trials=3, trials_per_process=2, random_state=0, verbose=0
    ).fit(X, y)
    trials = search.study_.trials
    assert len(trials) == 3
    processes = [t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials]
    # two trials in the first child, one in the second; none in this process
    assert processes[0] == processes[1] != processes[2]
    assert str(os.getpid()) not in processes
    # the temporary SQLite file is gone; the study was copied into memory
    assert isinstance(search.study_._storage, optuna.storages.InMemoryStorage)
    assert search.predict(X).shape == (len(X),)


class EpochCounter(keras.callbacks.Callback):
    """Counts the training runs and epochs it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.fits = 0
        self.epochs = 0

    def on_train_begin(self, logs=None) -> None:
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epochs += 1


def test_keras_callbacks_train_along_in_every_trial():
    X, y = make_sequences()
    search = GRUSearchCV(
        BASE, space=tiny_space(), n_trials=3, pruner="none", trials_per_process=None, verbose=0
    )
    counter = EpochCounter()
    search.fit(X, y, keras_callbacks=[counter])
    assert (counter.fits, counter.epochs) == (3, 3 * TINY["training"]["epochs"])
    # a function of the trial number: one set of callbacks per trial
    numbers = []
    search.set_params(n_trials=2).fit(
        X, y, keras_callbacks=lambda n: numbers.append(n) or [EpochCounter()]
    )
    assert numbers == [0, 1]  # every fit without storage starts a new study
    with pytest.raises(TypeError, match=r"keras_callbacks must be keras\.callbacks\.Callback"):
        search.fit(X, y, keras_callbacks=[lambda study, trial: None])


def csv_loggers(folder: str, trial_number: int) -> list:
    return [keras.callbacks.CSVLogger(f"{folder}/trial-{trial_number}.csv")]


@pytest.mark.slow
def test_keras_callbacks_reach_trials_in_child_processes(tmp_path):
    X, y = make_sequences()
    GRUSearchCV(
        BASE, space=tiny_space(), n_trials=2, pruner="none", trials_per_process=1, verbose=0
    ).fit(X, y, keras_callbacks=functools.partial(csv_loggers, str(tmp_path)))
    for number in (0, 1):
        lines = (tmp_path / f"trial-{number}.csv").read_text().splitlines()
        assert lines[0].startswith("epoch,") and len(lines) == 1 + TINY["training"]["epochs"]


def test_trial_process_lines_reach_sys_stderr_as_a_notebook_shows_it(capsys):
    """A child writes to the real standard error, which a notebook never shows; its lines
    come back to the parent, which prints them to ``sys.stderr`` (the cell's output)."""
    X, y = make_sequences()
    GRUSearchCV(BASE, space=tiny_space(), n_trials=2, trials_per_process=1, verbose=1).fit(X, y)
    printed = capsys.readouterr().err  # sys.stderr only: file descriptor 2 is not captured
    assert "[gru-search] trial 0 " in printed and "[gru-search] trial 1 " in printed


def test_auto_recycles_only_long_studies():
    def per_process(**params):
        return trials_per_process(GRUSearchCV(BASE, **params).settings())

    assert per_process(n_trials=5) is None
    assert per_process(n_trials=60) == 20
    assert per_process(timeout=300) == 20
    assert per_process(timeout=300, n_jobs=2) is None
    assert per_process(n_trials=60, trials_per_process=None) is None
    with pytest.raises(ValueError, match="trials_per_process must be"):
        per_process(n_trials=60, trials_per_process=0)


@pytest.mark.slow
def test_a_script_without_a_main_guard_gets_an_error_that_says_so(tmp_path):
    # trial processes are spawned: they re-run an unguarded script's top level, whose own
    # search cannot start a process while the child is still bootstrapping
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from gru_search import GRUClassifier, GRUSearchCV\n"
        # 2 MB: far more than a pipe holds, which once blocked the parent forever
        "X = np.random.default_rng(0).normal(size=(2000, 250)).astype('float32')\n"
        "GRUSearchCV(GRUClassifier(units=(4,), epochs=1), space='quick', n_trials=1,\n"
        "            trials_per_process=1, verbose=0).fit(X, np.arange(2000) % 2)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode != 0
    assert "before finishing any trial" in result.stderr
    assert "must do so under `if __name__" in result.stderr  # ours, not multiprocessing's


def test_refit_params_train_for_the_trials_best_epoch_count():
    space = SearchSpace.from_dict(TINY)
    params = {"n_layers": 1, "units_0": 8, "cell": "mgu", "learning_rate": 0.01}
    distributions = {
        "n_layers": optuna.distributions.IntDistribution(1, 1),
        "units_0": optuna.distributions.CategoricalDistribution([4, 8]),
        "cell": optuna.distributions.CategoricalDistribution(["gru", "mgu"]),
        "learning_rate": optuna.distributions.FloatDistribution(3e-3, 3e-2, log=True),
    }

    def trial(**user_attrs):
        return optuna.trial.create_trial(
            value=1.0, params=params, distributions=distributions, user_attrs=user_attrs
        )

    refit = refit_params(space, trial(best_epoch=4))
    assert refit["epochs"] == 4 and refit["units"] == (8,) and refit["cell"] == "mgu"
    assert refit_params(space, trial(best_epoch=0))["epochs"] == 1  # never zero epochs
    assert refit_params(space, trial())["epochs"] == 6  # no record: the space's budget


class _AlwaysFails(GRUClassifier):
    def fit(self, X, y, sample_weight=None, *, callbacks=None):
        raise RuntimeError("disk full")


@pytest.mark.slow
def test_failed_trials_say_why_and_a_hopeless_search_stops_early(tmp_path, capsys):
    X, y = make_sequences()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search = GRUSearchCV(
        _AlwaysFails(jit_compile=False),
        space=tiny_space(),
        n_trials=10,
        storage=storage,
        study_name="doomed",
        verbose=1,
    )
    with pytest.raises(SearchFailedError, match=r"most common reason \(3\): RuntimeError: disk"):
        search.fit(X, y)
    stored = optuna.load_study(study_name="doomed", storage=storage)
    assert len(stored.trials) == 3  # not 10: three alike and nothing finished
    assert {t.user_attrs["fail_reason"] for t in stored.trials} == {"RuntimeError: disk full"}
    printed = capsys.readouterr().err
    assert "trial 0 fail (RuntimeError: disk full)" in printed
    assert "stopped: the first 3 trials all failed with: RuntimeError: disk full" in printed


@pytest.mark.parametrize(
    ("estimator", "y", "message"),
    [
        (BASE, np.zeros(48), "only one class"),
        (BASE, np.r_[np.nan, np.arange(47) % 2], "missing labels"),
        (BASE, np.array(["a", None] * 24, dtype=object), "missing labels"),
        (GRURegressor(), np.r_[np.nan, np.arange(47)], "NaN or infinity"),
        (GRURegressor(), np.array(["low", "high"] * 24), "numeric targets"),
    ],
    ids=["one class", "NaN label", "None label", "NaN target", "text target"],
)
def test_targets_every_trial_would_reject_fail_before_any_trial(tmp_path, estimator, y, message):
    X, _ = make_sequences()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(ValueError, match=message):
        GRUSearchCV(estimator, space=tiny_space(), n_trials=3, storage=storage).fit(X, y)
    assert optuna.get_all_study_summaries(storage) == []  # no study was even opened


def test_a_classification_metric_for_a_regressor_fails_before_any_trial():
    X, _ = make_sequences()
    space = tiny_space(training={"epochs": 3, "metric": "accuracy", "finalists": 1})
    with pytest.raises(ValueError, match="metric 'accuracy' scores classification, but"):
        GRUSearchCV(GRURegressor(), space=space, n_trials=2).fit(X, X.sum(axis=1))
    with pytest.raises(ValueError, match="metric 'r2' scores regression"):
        GRUSearchCV(BASE, space=tiny_space(), scoring="r2", n_trials=2).fit(*make_sequences())


@pytest.mark.parametrize("weights", [np.r_[-1.0, np.ones(47)], np.r_[np.nan, np.ones(47)]])
def test_negative_or_nan_sample_weights_are_refused(weights):
    X, y = make_sequences()
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        GRUSearchCV(BASE, space=tiny_space(), n_trials=2).fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        GRUClassifier(units=(2,), epochs=1).fit(X, y, sample_weight=weights)


def test_resuming_with_another_validation_scheme_is_refused(tmp_path):
    X, y = make_sequences()
    kwargs = {"storage": f"sqlite:///{tmp_path / 's.db'}", "study_name": "s", "verbose": 0}
    GRUSearchCV(BASE, space=tiny_space(), n_trials=1, refit=False, **kwargs).fit(X, y)
    with pytest.raises(StudyMismatchError, match="different validation"):
        GRUSearchCV(BASE, space=tiny_space(), n_trials=1, cv=3, **kwargs).fit(X, y)


def _run_piped(code: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-"], input=code, capture_output=True, text=True, timeout=timeout
    )


PIPED_SEARCH = """
import numpy as np
from gru_search import GRUClassifier, GRUSearchCV
rng = np.random.default_rng(0)
X = rng.normal(size=(1000, 250)).astype("float32")  # 1 MB: more than a pipe holds
y = rng.integers(0, 2, 1000)
search = GRUSearchCV(GRUClassifier(jit_compile=False), space="quick", timeout=TIMEOUT,
                     trials_per_process=PER_PROCESS, random_state=0)
search.fit(X, y)
print("best trial", search.best_trial_.number)
"""


@pytest.mark.slow
def test_a_script_piped_into_python_runs_its_trials_in_process():
    import time

    start = time.monotonic()
    code = PIPED_SEARCH.replace("TIMEOUT", "10").replace("PER_PROCESS", "'auto'")
    result = _run_piped(code, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "best trial" in result.stdout
    assert "trials run in this process: the main script '<stdin>'" in result.stderr
    assert time.monotonic() - start < 60


@pytest.mark.slow
def test_a_piped_script_that_asks_for_trial_processes_gets_one_clear_error():
    code = PIPED_SEARCH.replace("TIMEOUT", "10").replace("PER_PROCESS", "5")
    result = _run_piped(code, timeout=120)
    assert result.returncode == 1
    assert "TrialProcessError: cannot run trials in child processes" in result.stderr
    assert "is not a file that a trial process can re-import" in result.stderr
