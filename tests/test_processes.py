"""Trial processes never outlive the search that started them: real processes, real signals.

Each test starts a search in a separate Python process, waits (polling the study's SQLite
file, not sleeping) until a trial process is training, signals the search, and checks that
the trial process is gone within the grace period of :mod:`gru_search.lifeline`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from sqlalchemy.exc import IntegrityError, OperationalError

from gru_search.lifeline import EXIT_GRACE_SECONDS

pytestmark = pytest.mark.slow

SPACE = {
    "name": "long",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [4, 8]},
    },
    "params": {"cell": {"type": "categorical", "choices": ["gru", "mgu"]}},
    # trials long enough that the search is still running when it is signalled
    "fixed": {"batch_size": 8, "jit_compile": False},
    "training": {"epochs": 400, "pruning_warmup": 400, "finalists": 1},
}

SEARCH_SCRIPT = """
import sys
import numpy as np
from gru_search import GRUClassifier, GRUSearchCV

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 12)).astype("float32")
    GRUSearchCV(GRUClassifier(), space=sys.argv[1], n_trials=40, trials_per_process=40,
                storage=sys.argv[2], study_name="long", verbose=0).fit(X, np.arange(64) % 2)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has exited; only its entry is left


def _wait_for(condition, seconds: float, what: str, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the search exited early: {process.stderr.read()[-3000:]}")
        time.sleep(0.2)  # polling a condition, with a deadline
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


def _running_trial_pid(storage: str) -> int | None:
    """The pid of the trial process, once its first trial has started training."""
    if not Path(storage.removeprefix("sqlite:///")).is_file():
        return None  # opening it would create the file under the search's feet
    try:  # read only: never create tables while the search does
        reader = optuna.storages.RDBStorage(storage, skip_table_creation=True)
        study = optuna.load_study(study_name="long", storage=reader)
    except (KeyError, OperationalError, IntegrityError, optuna.exceptions.StorageInternalError):
        # IntegrityError: opening a storage records its schema version, racing the search
        return None  # the search has not created its study yet
    for trial in study.get_trials(deepcopy=False):
        worker = trial.user_attrs.get("worker")
        if worker:
            return int(worker.rsplit(":", 1)[1])
    return None


@pytest.fixture
def search_files(tmp_path):
    space = tmp_path / "long.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    script = tmp_path / "search.py"
    script.write_text(SEARCH_SCRIPT)
    return script, space, f"sqlite:///{tmp_path / 'study.db'}"


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_the_trial_process_never_outlives_the_search(search_files, how):
    script, space, storage = search_files
    search = _start([sys.executable, str(script), str(space), storage])
    try:
        child = _wait_for(lambda: _running_trial_pid(storage), 120, "a trial to start", search)
        assert child != search.pid and _alive(child)
        # SIGINT to the search alone (not the terminal's process group): it must stop the
        # child itself rather than wait for the child's 40-trial share
        os.kill(search.pid, getattr(signal, how))
        _wait_for(lambda: not _alive(child), EXIT_GRACE_SECONDS + 15, "the child to exit")
        search.wait(timeout=60)
    finally:
        if search.poll() is None:
            search.kill()
            search.wait()
    if how != "SIGKILL":
        stored = optuna.load_study(study_name="long", storage=storage)
        states = {t.state.name for t in stored.trials}
        assert "RUNNING" not in states  # the interrupted trial was marked failed


def test_gru_search_run_stops_its_trial_process_on_sigterm(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "toy.npz"
    np.savez(data, X_train=rng.normal(size=(64, 12)), y_train=np.arange(64) % 2)
    space = tmp_path / "long.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    out = tmp_path / "run"
    storage = f"sqlite:///{out / 'study.db'}"
    run = _start(
        [
            sys.executable,
            "-m",
            "gru_search.cli",
            "run",
            "--data",
            str(data),
            "--space",
            str(space),
            "--out",
            str(out),
            "--study-name",
            "long",
            "--trials",
            "40",
            "--no-progress",
        ]
    )
    try:
        child = _wait_for(lambda: _running_trial_pid(storage), 120, "a trial to start", run)
        run.send_signal(signal.SIGTERM)
        _wait_for(lambda: not _alive(child), EXIT_GRACE_SECONDS + 15, "the child to exit")
        code = run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    stderr = run.stderr.read()
    assert code == 2, stderr
    assert "interrupted before any trial of study 'long' completed" in stderr
    assert "Traceback" not in stderr
