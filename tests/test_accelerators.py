"""The GPU check and the choice of cards, on a machine without a GPU: a fake nvidia-smi."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest
import yaml

from gru_search.accelerators import CHECKED_VARIABLE, gpu_warning, nvidia_gpus, training_device
from gru_search.cli import gpu_assignments, gpu_environment, main
from tests.toy_data import trend_npz

H100 = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-6f1e2b0c-0000-0000-0000-000000000000)"


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """A PATH whose nvidia-smi lists one H100 (as `nvidia-smi -L` does)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\necho '{H100}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(CHECKED_VARIABLE, raising=False)
    return folder


def test_a_gpu_the_backend_cannot_see_is_named_in_one_line(fake_nvidia_smi):
    assert nvidia_gpus() == [H100]
    message = gpu_warning()
    assert message is not None and "\n" not in message
    assert "nvidia-smi lists 1 GPU (GPU 0: NVIDIA H100 80GB HBM3)" in message
    assert "tensorflow-cpu" in message and "gru-search[gpu]" in message
    assert training_device() == "CPU"


def test_no_gpu_no_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi at all
    assert nvidia_gpus() == [] and gpu_warning() is None


def test_a_driver_that_does_not_answer_is_not_a_gpu(tmp_path, monkeypatch):
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert gpu_warning() is None


def test_trials_per_gpu_packs_workers_onto_each_card_in_turn():
    assert gpu_assignments(["0", "1"], 1) == ["0", "1"]
    assert gpu_assignments(["0", "1"], 3) == ["0", "1", "0", "1", "0", "1"]
    assert gpu_assignments([], 4) == []
    # each worker's card, memory growth on, and a value the user set kept
    assert gpu_environment("1", {"XLA_PYTHON_CLIENT_PREALLOCATE": "true"}) == {
        "CUDA_VISIBLE_DEVICES": "1",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "true",
    }


def test_trials_per_gpu_without_gpus_is_refused(capsys):
    assert main(["run", "--data", "aeon:GunPoint", "--trials-per-gpu", "2"]) == 2
    assert "--trials-per-gpu needs --gpus" in capsys.readouterr().err


def _cli(args: list[str], path: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in (CHECKED_VARIABLE, "CUDA_VISIBLE_DEVICES")
    }
    return subprocess.run(
        [sys.executable, "-m", "gru_search.cli", *args],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_the_cli_warns_once_with_a_gpu_and_never_without(tmp_path, fake_nvidia_smi):
    data = trend_npz(tmp_path / "toy.npz", n=40, steps=8, n_test=10)
    fit = ["fit", "--data", str(data), "--units", "4", "--epochs", "2"]
    with_gpu = _cli(fit, os.environ["PATH"])
    assert with_gpu.returncode == 0, with_gpu.stderr[-2000:]
    assert with_gpu.stderr.count("gru-search: WARNING: nvidia-smi lists 1 GPU") == 1
    without = _cli(fit, os.environ["PATH"].split(os.pathsep, 1)[1])
    assert without.returncode == 0, without.stderr[-2000:]
    assert "WARNING" not in without.stderr


@pytest.mark.slow
def test_run_with_one_gpu_gives_its_trial_processes_that_card(tmp_path, fake_nvidia_smi):
    space = tmp_path / "tiny.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "layers": {
                    "count": {"type": "int", "low": 1, "high": 1},
                    "units": {"type": "categorical", "choices": [4, 8]},
                },
                "fixed": {"batch_size": 16, "jit_compile": False},
                "training": {"epochs": 2, "pruning_warmup": 2, "finalists": 1},
            }
        )
    )
    out = tmp_path / "run"
    command = [
        "run",
        "--data",
        str(trend_npz(tmp_path / "toy.npz", n=40, steps=8, n_test=10)),
        "--space",
        str(space),
        "--trials",
        "2",
    ]
    command += ["--trials-per-process", "1", "--gpus", "auto", "--out", str(out), "--no-progress"]
    run = _cli(command, os.environ["PATH"])
    assert run.returncode == 0, run.stderr[-3000:]
    # the parent checked once; its trial processes did not repeat the warning
    assert run.stderr.count("WARNING: nvidia-smi lists 1 GPU") == 1
    study = optuna.load_study(study_name="toy-tiny", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.user_attrs["cuda_visible_devices"] for t in study.trials] == ["0", "0"]
    assert {t.user_attrs["device"] for t in study.trials} == {"CPU"}  # no real card here
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"] == 2
