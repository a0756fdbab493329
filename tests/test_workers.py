"""Many worker processes on one study in a real PostgreSQL server.

`make test` (and so `.ci/run`) starts the server with `.ci/postgres.sh` and passes its URL in
GRU_SEARCH_TEST_POSTGRES_URL. Without it these tests fail rather than skip: scale-out is a
feature, and a green run without it would hide that it was never tested.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
import sqlalchemy
import yaml

from gru_search import GRUClassifier, GRUSearchCV, GRUTextClassifier, load
from gru_search.cli import main
from gru_search.storage import make_storage, release_connections

from .test_text import TINY_TEXT_SPACE, reviews

SPACE = {
    "name": "workers",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [4, 8]},
    },
    "params": {
        "cell": {"type": "categorical", "choices": ["gru", "mgu", "gru3"]},
        "learning_rate": {"type": "float", "low": 0.005, "high": 0.05, "log": True},
    },
    "fixed": {"batch_size": 16, "jit_compile": False},
    "training": {"epochs": 3, "pruning_warmup": 2, "finalists": 1},
}
CLI = [sys.executable, "-m", "gru_search.cli"]
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


@pytest.fixture(scope="module")
def postgres_url() -> str:
    url = os.environ.get("GRU_SEARCH_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "GRU_SEARCH_TEST_POSTGRES_URL is not set: run the tests with `make test`, which "
            "starts PostgreSQL through .ci/postgres.sh, or point it at a server"
        )
    return url


@pytest.fixture(scope="module")
def storage(postgres_url):
    """One storage for the tests' own reads, so that polling opens no new connections."""
    storage = make_storage(postgres_url, heartbeat_interval=None)
    yield storage
    release_connections(storage)


def open_connections(storage, application_name: str) -> int:
    """Connections to the test database that gave this ``application_name``."""
    query = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = :name"
    )
    with storage.engine.connect() as connection:
        return connection.execute(sqlalchemy.text(query), {"name": application_name}).scalar_one()


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 48)
    X = np.linspace(-1, 1, 8)[None, :] * (2 * y[:, None] - 1) + 0.3 * rng.normal(size=(48, 8))
    np.savez(tmp_path / "toy.npz", X_train=X, y_train=y)
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    return tmp_path


def study_name() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def run_command(project, url, name, *extra):
    return [
        *CLI,
        "run",
        "--data",
        str(project / "toy.npz"),
        "--space",
        str(project / "space.yaml"),
        "--storage",
        url,
        "--study-name",
        name,
        "--out",
        str(project / name),
        "--no-progress",
        *extra,
    ]


def wait_for_running_trial(storage, name, process, deadline):
    """The first RUNNING trial that has reported an epoch (so it is mid-training)."""
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before a trial was seen running"
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            study = None
        if study is not None:
            for trial in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
                if trial.intermediate_values and "worker" in trial.user_attrs:
                    return trial
        time.sleep(0.2)
    raise AssertionError("no trial was seen running")


@pytest.mark.slow
def test_four_workers_finish_exactly_the_target(project, postgres_url, storage):
    name = study_name()
    result = subprocess.run(
        run_command(project, postgres_url, name, "--workers", "4", "--trials", "40"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    study = optuna.load_study(study_name=name, storage=storage)
    finished = study.get_trials(states=FINISHED)
    assert len(finished) == 40
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    assert len({t.user_attrs["worker"] for t in finished}) == 4  # all four took part
    log = result.stdout + result.stderr
    assert "Traceback" not in log and "failed:" not in log and "Error" not in log
    assert "I0000" not in log  # TensorFlow's C++ INFO lines, from any of the 5 processes
    assert log.count("done: ") == 4


@pytest.mark.slow
def test_a_killed_worker_trial_fails_is_retried_and_the_target_is_reached(
    project, postgres_url, storage
):
    name = study_name()
    run = subprocess.Popen(
        run_command(
            project,
            postgres_url,
            name,
            "--workers",
            "2",
            "--trials",
            "8",
            "--heartbeat",
            "1",
            "--grace",
            "4",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = wait_for_running_trial(storage, name, run, time.monotonic() + 300)
        os.kill(int(victim.user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
        _, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr[-3000:]
    assert "was killed by signal 9" in stderr
    study = optuna.load_study(study_name=name, storage=storage)
    assert study.trials[victim.number].state == optuna.trial.TrialState.FAIL
    retried = [
        t
        for t in study.trials
        if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == victim.number
    ]
    assert retried and retried[0].params == victim.params
    assert retried[0].state in FINISHED
    assert len(study.get_trials(states=FINISHED)) == 8


@pytest.mark.slow
def test_sigterm_fails_the_running_trial_cleanly_and_requeues_it(project, postgres_url, storage):
    name = study_name()
    # trials long enough (and never pruned) that the signal surely lands mid-training
    long_trials = {**SPACE, "training": {"epochs": 300, "pruning_warmup": 300, "finalists": 1}}
    (project / "space.yaml").write_text(yaml.safe_dump(long_trials))
    # a one-process run creates the study (and records the data) for workers to join
    assert main([a for a in run_command(project, postgres_url, name, "--trials", "1")[3:]]) == 0
    worker = subprocess.Popen(
        [
            *CLI,
            "worker",
            "--study",
            name,
            "--storage",
            postgres_url,
            "--n-trials",
            "20",
            "--heartbeat",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        trial = wait_for_running_trial(storage, name, worker, time.monotonic() + 300)
        worker.send_signal(signal.SIGTERM)
        log, _ = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, log[-3000:]
    assert "stopped by SIGTERM" in log
    study = optuna.load_study(study_name=name, storage=storage)
    stopped = study.trials[trial.number]
    assert stopped.state == optuna.trial.TrialState.FAIL, log[-3000:]
    assert stopped.user_attrs["fail_reason"] == "worker stopped by SIGTERM"
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    queued = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in queued] == [stopped.params]


@pytest.mark.slow
def test_worker_errors_are_one_line_with_a_non_zero_exit(project, postgres_url, capsys):
    name = study_name()
    assert main([a for a in run_command(project, postgres_url, name, "--trials", "1")[3:]]) == 0
    capsys.readouterr()
    cases = [
        (
            [
                "worker",
                "--study",
                name,
                "--storage",
                "postgresql://nobody@127.0.0.1:1/none",
                "--n-trials",
                "1",
            ],
            "cannot open storage postgresql://nobody@127.0.0.1:1/none",
        ),
        (
            ["worker", "--study", "no-such-study", "--storage", postgres_url, "--n-trials", "1"],
            "no study 'no-such-study'",
        ),
        (
            [
                "worker",
                "--study",
                name,
                "--storage",
                postgres_url,
                "--task",
                "regression",
                "--n-trials",
                "1",
            ],
            "is a classification study",
        ),
        (
            [
                "worker",
                "--study",
                name,
                "--storage",
                postgres_url,
                "--space",
                "quick",
                "--n-trials",
                "1",
            ],
            "differs from --space quick",
        ),
        (
            ["worker", "--study", name, "--storage", postgres_url],
            "needs a study target, max_trials or a timeout",
        ),
        (
            ["run", "--workers", "2", "--trials", "2", "--data", str(project / "toy.npz")],
            "SQLite serialises writers",
        ),
        (["run", "--workers", "2", "--storage", f"sqlite:///{project / 'x.db'}"], "Use PostgreSQL"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.slow
def test_a_finished_search_holds_no_database_connections(project, postgres_url, storage):
    # SQLAlchemy pools connections until its engine is collected, and the fitted search keeps
    # its study (and so the engine): without releasing them a notebook that runs a few
    # searches, or a test run, exhausts the server's max_connections
    # counted by application_name: tests in the other pytest-xdist worker use the same
    # database and open and close connections meanwhile
    tag = f"gru-search-test-{uuid.uuid4().hex[:12]}"
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}application_name={tag}"
    probe = make_storage(url, heartbeat_interval=None)
    with probe.engine.connect():
        assert open_connections(storage, tag) >= 1  # the name reaches the server
    release_connections(probe)
    data = np.load(project / "toy.npz")
    search = GRUSearchCV(
        GRUClassifier(epochs=2, batch_size=16, jit_compile=False),
        space=project / "space.yaml",
        n_trials=2,
        storage=url,
        study_name=study_name(),
        trials_per_process=None,
        random_state=0,
    )
    search.fit(data["X_train"], data["y_train"])
    deadline = time.monotonic() + 30  # the server ends a closed session's backend shortly after
    while open_connections(storage, tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_connections(storage, tag) == 0
    assert len(search.study_.trials) == 2  # and the study stays readable: it reconnects


def test_the_worker_loop_leaves_the_callers_warning_filters_alone(tmp_path):
    from gru_search.workers import run_worker_loop

    storage = make_storage(f"sqlite:///{tmp_path / 'loop.db'}", heartbeat_interval=1)
    study = optuna.create_study(storage=storage)
    before = list(warnings.filters)
    report = run_worker_loop(
        study, lambda trial: trial.suggest_float("x", 0, 1), target=None, max_trials=2, log=str
    )
    assert report.finished == 2
    assert warnings.filters == before
    release_connections(storage)


def tiny_trial_setup():
    """A real run_trial on 32 toy sequences: one GRU of 4 units, many short epochs."""
    from gru_search.spaces import SearchSpace
    from gru_search.trials import Objective

    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 16)
    X = rng.normal(size=(32, 6, 1)) + y[:, None, None]
    space = SearchSpace.from_dict(
        {
            "name": "stop",
            "layers": {
                "count": {"type": "int", "low": 1, "high": 1},
                "units": {"type": "categorical", "choices": [4]},
            },
            "params": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.02}},
            "fixed": {"batch_size": 4, "jit_compile": False},
            "training": {"epochs": 200, "pruning_warmup": 200},
        }
    )
    estimator = GRUClassifier(epochs=200, batch_size=4, verbose=0, random_state=0)
    splits = [(np.arange(24), np.arange(24, 32))]
    objective = Objective.create("accuracy", estimator)
    return dict(space=space, estimator=estimator, X=X, y=y, splits=splits, objective=objective)


def test_sigterm_in_a_storage_call_stops_the_trial_at_its_next_safe_point(tmp_path):
    """The handler never raises: a signal inside a query must not cut the query in half."""
    from gru_search.stopping import stop_requested
    from gru_search.trials import run_trial
    from gru_search.workers import run_worker_loop

    storage = make_storage(f"sqlite:///{tmp_path / 'stop.db'}", heartbeat_interval=1)
    study = optuna.create_study(storage=storage, direction="maximize")
    setup = tiny_trial_setup()

    def trial_function(trial):
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next line
        trial.set_user_attr("after_signal", True)  # a storage write that must complete
        return run_trial(trial, **setup)

    handler_before = signal.getsignal(signal.SIGTERM)
    lines: list[str] = []
    report = run_worker_loop(study, trial_function, target=None, max_trials=5, log=lines.append)
    assert report.stopped_by_signal == "SIGTERM"
    assert (report.finished, report.failed) == (0, 1)
    stopped = study.trials[0]
    assert stopped.state == optuna.trial.TrialState.FAIL
    assert stopped.user_attrs["after_signal"] is True
    assert stopped.user_attrs["fail_reason"] == "worker stopped by SIGTERM"
    assert "epoch_seconds" not in stopped.user_attrs  # stopped before training began
    queued = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in queued] == [stopped.params]
    assert any("worker stopped by SIGTERM" in line for line in lines)
    assert signal.getsignal(signal.SIGTERM) is handler_before
    assert stop_requested() is None
    release_connections(storage)


def test_a_stop_request_during_training_ends_fit_after_the_current_batch():
    import keras

    from gru_search.trials import EpochReporter
    from gru_search.workers import SignalGuard

    setup = tiny_trial_setup()
    estimator = setup["estimator"]
    batches_seen = []

    class SignalAtThirdBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches_seen.append(batch)
            if len(batches_seen) == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    reporter = EpochReporter(estimator, setup["objective"], setup["X"], setup["y"], None)
    with SignalGuard() as guard:
        guard.in_trial = True
        estimator.fit(setup["X"], setup["y"], callbacks=[SignalAtThirdBatch(), reporter])
    assert guard.received == "SIGTERM"
    assert len(batches_seen) == 3  # of 200 epochs x 6 batches: stopped at the next check
    assert reporter.values == []  # an abandoned epoch is neither scored nor reported


@pytest.mark.slow
def test_workers_search_a_text_study_and_its_export_reads_raw_strings(
    tmp_path, postgres_url, storage
):
    texts, labels = reviews(160)
    table = pd.DataFrame(
        {"review": texts, "stars": labels, "part": ["train"] * 120 + ["test"] * 40}
    )
    table.to_csv(tmp_path / "reviews.csv", index=False)
    (tmp_path / "text.yaml").write_text(yaml.safe_dump(TINY_TEXT_SPACE))
    name, out = study_name(), tmp_path / "run"
    command = [*CLI, "run", "--task", "text", "--data", str(tmp_path / "reviews.csv")]
    command += ["--text", "review", "--target", "stars", "--split", "part"]
    command += ["--space", str(tmp_path / "text.yaml"), "--storage", postgres_url]
    command += ["--study-name", name, "--out", str(out), "--no-progress"]
    result = subprocess.run(
        [*command, "--workers", "2", "--trials", "4"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    study = optuna.load_study(study_name=name, storage=storage)
    finished = study.get_trials(states=FINISHED)
    assert len(finished) == 4
    assert len({t.user_attrs["worker"] for t in finished}) == 2  # both workers read the texts
    model = load(out / "model")
    assert isinstance(model, GRUTextClassifier)
    assert model.predict(["i love it", "the worst film"]).shape == (2,)
