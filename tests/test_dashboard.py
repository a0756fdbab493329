"""A real optuna-dashboard server reads a study while another process writes it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import yaml

SPACE = {
    "name": "dash",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [4, 8]},
    },
    "params": {"cell": {"type": "categorical", "choices": ["gru", "mgu", "gru3"]}},
    "fixed": {"batch_size": 16, "learning_rate": 0.02, "jit_compile": False},
    "training": {"epochs": 8, "pruning_warmup": 3, "finalists": 1},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(condition, deadline: float, what: str, processes=()):
    """Poll ``condition`` until it returns a truthy value; fail at the deadline."""
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None and process.returncode != 0:
                raise AssertionError(f"{what}: a process exited with {process.returncode}")
        try:
            value = condition()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_dashboard_serves_a_study_while_a_run_writes_it(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    X = np.linspace(-1, 1, 10)[None, :] * (2 * y[:, None] - 1) + 0.3 * rng.normal(size=(60, 10))
    data = tmp_path / "toy.npz"
    np.savez(data, X_train=X, y_train=y)
    space = tmp_path / "dash.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    port = free_port()
    cli = [sys.executable, "-m", "gru_search.cli"]
    run = subprocess.Popen(
        [
            *cli,
            "run",
            "--data",
            str(data),
            "--space",
            str(space),
            "--trials",
            "6",
            "--storage",
            storage,
            "--study-name",
            "dash",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # the run creates the database; the dashboard attaches once it exists
    wait_for(lambda: (tmp_path / "study.db").exists(), time.monotonic() + 120, "study.db", [run])
    dashboard = subprocess.Popen(
        [*cli, "dashboard", "--storage", storage, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        studies = wait_for(
            lambda: [
                s
                for s in get_json(f"{base}/api/studies")["study_summaries"]
                if s["study_name"] == "dash"
            ],
            deadline,
            "the study in the dashboard",
            [run, dashboard],
        )
        study_id = studies[0]["study_id"]

        def finished_trial():
            detail = get_json(f"{base}/api/studies/{study_id}")
            done = [t for t in detail["trials"] if t["state"] in ("Complete", "Pruned")]
            return (detail, done) if done else None

        # read while the run is still writing: poll during the study, not after it
        _, done = wait_for(finished_trial, deadline, "a finished trial", [run, dashboard])
        attrs = {a["key"] for a in done[0]["user_attrs"]}
        assert {"n_params", "fused_kernel", "epoch_seconds", "estimator_params"} <= attrs
        assert done[0]["intermediate_values"], "learning curve missing"

        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-2000:]
        final = get_json(f"{base}/api/studies/{study_id}")
        assert len(final["trials"]) == 6
        assert all(t["state"] in ("Complete", "Pruned") for t in final["trials"])
    finally:
        dashboard.terminate()
        log, _ = dashboard.communicate(timeout=30)
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert "database is locked" not in log
    assert "database is locked" not in stderr
    assert dashboard.returncode is not None
