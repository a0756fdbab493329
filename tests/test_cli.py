"""The gru-search command line, run in-process on tiny data with a tiny space."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from gru_search import load
from gru_search.cli import main
from gru_search.export import read_metadata

TINY_SPACE = {
    "name": "tiny",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [4, 8]},
    },
    "params": {"cell": {"type": "categorical", "choices": ["gru", "mgu"]}},
    "fixed": {"batch_size": 32, "learning_rate": 0.02, "jit_compile": False},
    "training": {"epochs": 5, "pruning_warmup": 2, "finalist_folds": 2},
}


@pytest.fixture
def tiny_space(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_SPACE))
    return path


@pytest.fixture
def npz_data(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    X = np.linspace(-1, 1, 10)[None, :, None] * (2 * y[:, None, None] - 1)
    X = X + 0.3 * rng.normal(size=X.shape)
    path = tmp_path / "toy.npz"
    np.savez(path, X_train=X[:36], y_train=y[:36], X_test=X[36:], y_test=y[36:])
    return path


def test_run_export_and_predict_end_to_end(tmp_path, tiny_space, npz_data, capsys):
    out = tmp_path / "run"
    argv = [
        "run",
        "--data",
        str(npz_data),
        "--space",
        str(tiny_space),
        "--trials",
        "3",
        "--finalists",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "test accuracy of the exported model:" in printed
    assert "2-finalist cross-validation:" in printed
    for name in (
        "model",
        "leaderboard.csv",
        "optimization_history.png",
        "variants.png",
        "summary.json",
        "study.db",
    ):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"] == "toy-tiny" and summary["trials"] == 3
    assert summary["validation_splits"] == 1  # the default hold-out
    finalists = summary["finalists"]
    assert len(finalists) == 2 and finalists[0]["picked"]
    assert finalists[0]["trial"] == summary["best_trial"]
    assert read_metadata(out / "model")["origin"]["trial"] == summary["best_trial"]
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) >= 1 and {"value", "cell", "n_params"} <= set(board.columns)
    assert load(out / "model").predict(np.zeros((3, 10, 1))).shape == (3,)

    storage = summary["storage"]
    again = tmp_path / "again"
    assert (
        main(
            [
                "export",
                "--study",
                "toy-tiny",
                "--storage",
                storage,
                "--data",
                str(npz_data),
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert (again / "model.keras").is_file()
    # export refits the trial that run picked, not merely the best hold-out score
    assert read_metadata(again)["origin"]["trial"] == summary["best_trial"]

    predictions = tmp_path / "predictions.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(again),
                "--data",
                str(npz_data),
                "--output",
                str(predictions),
            ]
        )
        == 0
    )
    frame = pd.read_csv(predictions)
    assert len(frame) == 14 and {"prediction", "proba_0", "proba_1"} <= set(frame.columns)
    assert "score:" in capsys.readouterr().out


def test_fit_reads_a_long_format_table_with_a_split_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for series in range(30):
        label = series % 2
        for step in range(6 + series % 3):
            rows.append(
                {
                    "series": series,
                    "time": step,
                    "value": rng.normal() + label,
                    "target": label,
                    "part": "test" if series >= 24 else "train",
                }
            )
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert (
        main(["fit", "--data", str(path), "--split", "part", "--units", "4", "--epochs", "2"]) == 0
    )
    printed = capsys.readouterr().out
    assert "train 24 sequences of 6-8 steps; test 6 sequences" in printed
    assert "test accuracy:" in printed


def test_spaces_list_show_validate(tmp_path, capsys):
    assert main(["spaces", "list"]) == 0
    assert "gate_variants" in capsys.readouterr().out
    assert main(["spaces", "show", "quick"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["name"] == "quick"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**TINY_SPACE, "params": {"cell": {"type": "normal"}}}))
    assert main(["spaces", "validate", "quick", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "valid: quick" in captured.out
    assert "unknown distribution type 'normal'" in captured.err


BAD_ARGUMENTS = [
    (["run", "--trials", "0"], "expected a positive integer"),
    (["run", "--timeout", "soon"], "expected a number of seconds"),
    (["run", "--cv", "1"], "expected 'holdout' or a number of folds >= 2"),
    (["run", "--data", "aeon:NoSuchSet", "--trials", "1"], "cannot load aeon dataset"),
    (["run", "--data", "data.txt"], "expected aeon:NAME, a .npz file"),
    (["run", "--data", "missing.npz"], "no such file"),
    (["run", "--space", "nonexistent"], "no search space 'nonexistent'"),
    (["predict", "--model", ".", "--data", "aeon:GunPoint"], "not a gru-search export"),
    (
        [
            "export",
            "--study",
            "x",
            "--storage",
            "sqlite:///nowhere/x.db",
            "--data",
            "aeon:GunPoint",
            "--out",
            "o",
        ],
        "folder nowhere does not exist",
    ),
    (["dashboard", "--out", "no-such-run"], "no study database"),
    (["spaces", "show"], "needs at least one NAME"),
    (["fit", "--units", "a,b"], "comma-separated integers"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize(
    ("argv", "message"), BAD_ARGUMENTS, ids=[a[0][0] + str(i) for i, a in enumerate(BAD_ARGUMENTS)]
)
def test_bad_arguments_give_one_line_and_a_non_zero_exit(
    argv, message, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command", ["run", "export", "predict", "dashboard", "spaces", "fit", "variants"]
)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: gru-search {command}" in capsys.readouterr().out
