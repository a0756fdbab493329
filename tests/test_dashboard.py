"""A real optuna-dashboard server reads a study while another process writes it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.toy_data import trend_npz

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
    data = trend_npz(tmp_path / "toy.npz")
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


def _attr(entries: list[dict], key: str) -> str:
    return next(entry["value"] for entry in entries if entry["key"] == key)


@pytest.mark.slow
def test_dashboard_best_of_the_finalists_is_the_exported_trial(tmp_path):
    """What optuna-dashboard shows agrees with what `gru-search run` exported."""
    data = trend_npz(tmp_path / "toy.npz", noise=0.8, seed=1)
    space = tmp_path / "dash.yaml"
    finalists = {**SPACE, "training": {**SPACE["training"], "epochs": 4, "finalists": 3}}
    finalists["training"]["finalist_folds"] = 2
    space.write_text(yaml.safe_dump(finalists))
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "gru_search.cli"]
    run = subprocess.run(
        [
            *cli,
            "run",
            "--data",
            str(data),
            "--space",
            str(space),
            "--trials",
            "5",
            "--study-name",
            "agree",
            "--out",
            str(out),
            "--no-progress",
            "--random-state",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    exported = summary["best_trial"]
    assert len(summary["finalists"]) == 3, "the test needs a run with finalists"

    port = free_port()
    dashboard = subprocess.Popen(
        [*cli, "dashboard", "--out", str(out), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        summaries = wait_for(
            lambda: get_json(f"{base}/api/studies")["study_summaries"],
            time.monotonic() + 120,
            "the dashboard",
            [dashboard],
        )
        ids = {s["study_name"]: s["study_id"] for s in summaries}
        assert set(ids) == {"agree", "agree:finalists"}
        study = get_json(f"{base}/api/studies/{ids['agree']}")
        companion = get_json(f"{base}/api/studies/{ids['agree:finalists']}")
        # the finalists' study: its best trial is the exported one
        best = companion["best_trials"][0]
        assert int(_attr(best["user_attrs"], "search_trial")) == exported
        assert len(companion["trials"]) == 3
        # the search study names its objective, marks the pick and explains it
        assert study["objective_names"] == ["validation accuracy"]
        assert int(_attr(study["user_attrs"], "gru_search_selected_trial")) == exported
        assert f"trial {exported}" in study["note"]["body"]
        notes = {t["number"]: t["note"]["body"] for t in study["trials"]}
        assert "Picked" in notes[exported]
        assert not any("Picked" in body for number, body in notes.items() if number != exported)
        # the whole spec, not cut at 1,024 characters
        spec = json.loads(_attr(study["user_attrs"], "gru_search_spec"))
        assert spec["space"]["training"]["finalists"] == 3
        # the exported model and the report, served as artifacts
        names = {a["filename"]: a["artifact_id"] for a in study["artifacts"]}
        assert {f"model-trial-{exported}.zip", "leaderboard.csv", "summary.json"} <= set(names)
        with urllib.request.urlopen(
            f"{base}/artifacts/{ids['agree']}/{names['summary.json']}", timeout=10
        ) as response:
            assert json.loads(response.read())["best_trial"] == exported
    finally:
        dashboard.terminate()
        dashboard.communicate(timeout=30)
