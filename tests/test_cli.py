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


@pytest.mark.slow
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
        "--class-weight",
        "0=1,1=2",  # recorded on the study: export must refit with it too
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
    # ... with the seed run refit it with: the same model
    X_test = np.load(npz_data)["X_test"]
    ran, exported = load(out / "model"), load(again)
    np.testing.assert_allclose(exported.predict_proba(X_test), ran.predict_proba(X_test), atol=1e-6)
    # summary.json says what the exported model is and what made it
    assert summary["refit"]["epochs"] == ran.n_iter_ == exported.n_iter_
    assert summary["refit"]["random_state"] == exported.random_state
    assert summary["refit"]["device"] == ran.device_ == "CPU"
    assert summary["space_spec"]["name"] == "tiny" and summary["space"] == "tiny"
    assert (
        summary["data"]["spec"] == str(npz_data)
        and "36 sequences" in summary["data"]["description"]
    )
    assert summary["finished_at"] and {"keras", "optuna", "scikit-learn"} <= set(
        summary["versions"]
    )
    assert ran.class_weight == exported.class_weight == {0: 1.0, 1: 2.0}

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


def assert_one_line_error(argv: list[str], message: str, capsys) -> None:
    """``main(argv)`` exits with status 2 and prints ``message``, without a traceback."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"), BAD_ARGUMENTS, ids=[a[0][0] + str(i) for i, a in enumerate(BAD_ARGUMENTS)]
)
def test_bad_arguments_give_one_line_and_a_non_zero_exit(
    argv, message, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(argv, message, capsys)


@pytest.mark.parametrize(
    "command", ["run", "export", "predict", "dashboard", "spaces", "fit", "variants"]
)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: gru-search {command}" in capsys.readouterr().out


def _write_bad_files(folder):
    """The broken inputs users actually produce, written into ``folder``."""
    (folder / "empty.npz").write_bytes(b"")
    np.save(folder / "single.npy", np.zeros((3, 4)))
    (folder / "single.npy").rename(folder / "renamed.npz")
    np.savez(folder / "scalars.npz", X_train=np.array(1.0), y_train=np.array(2))
    np.savez(folder / "mismatch.npz", X_train=np.zeros((5, 4)), y_train=np.zeros(3))
    # a member whose .npy header claims to be enormous (numpy refuses to parse it)
    import zipfile

    header = b"\x93NUMPY\x01\x00" + (65535).to_bytes(2, "little") + b"{" + b" " * 20
    with zipfile.ZipFile(folder / "huge-header.npz", "w") as archive:
        archive.writestr("X_train.npy", header)
        archive.writestr("y_train.npy", header)
    (folder / "a-file").write_text("not a folder")
    (folder / "db-folder").mkdir()
    rows = [
        {"series": s, "time": t, "value": float(t), "target": s % 2}
        for s in range(4)
        for t in (0, 1)
    ]
    pd.DataFrame([*rows, rows[0]]).to_csv(folder / "duplicates.csv", index=False)
    mixed = pd.DataFrame(rows).assign(part=["train", "test"] * 4)
    mixed.to_csv(folder / "mixed-split.csv", index=False)


USER_MISTAKES = [
    (["run", "--data", "empty.npz"], "empty.npz: cannot read it as an .npz archive"),
    (["run", "--data", "renamed.npz"], "renamed.npz: a single .npy array"),
    (["run", "--data", "scalars.npz"], "X_train has shape (); expected"),
    (["run", "--data", "mismatch.npz"], "X_train has 5 samples but y_train has 3"),
    (["run", "--data", "huge-header.npz"], "array X_train cannot be read safely"),
    (["run", "--data", "duplicates.csv"], "repeat a (series, time) pair, e.g. series 0"),
    (["run", "--data", "mixed-split.csv", "--split", "part"], "series 0 has rows in more than one"),
    (["run", "--out", "a-file"], "--out a-file is a file"),
    (["run", "--storage", "sqlite:///db-folder"], "db-folder is a folder, not a file"),
    (["run", "--storage", "not a url"], "not a database URL"),
    (
        ["run", "--workers", "2", "--storage", "sqlite+pysqlite:///s.db"],
        "2 workers need a storage that several processes can write at once",
    ),
    (["dashboard", "--port", "70000", "--storage", "sqlite:///x.db"], "expected a port from 1"),
    (
        ["predict", "--model", ".", "--data", "duplicates.csv", "--output", "duplicates.csv"],
        "is one of the inputs",
    ),
]


@pytest.mark.parametrize(
    ("argv", "message"), USER_MISTAKES, ids=[" ".join(a[0][:3]) for a in USER_MISTAKES]
)
def test_user_mistakes_get_one_line_and_exit_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_bad_files(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert_one_line_error(argv, message, capsys)
    assert {p: p.read_bytes() for p in before} == before  # nothing the user had changed


def test_run_refuses_an_existing_folder_it_did_not_create(tmp_path, tiny_space, npz_data, capsys):
    users = tmp_path / "project"
    users.mkdir()
    (users / "study.db").write_bytes(b"the user's own database")
    (users / "leaderboard.csv").write_text("mine")
    argv = ["run", "--data", str(npz_data), "--space", str(tiny_space), "--out", str(users)]
    assert main([*argv, "--trials", "1"]) == 2
    assert "was not created by gru-search run" in capsys.readouterr().err
    assert (users / "study.db").read_bytes() == b"the user's own database"
    assert (users / "leaderboard.csv").read_text() == "mine"


@pytest.mark.slow
def test_a_resumed_run_says_so_samples_anew_and_keeps_earlier_exports(
    tmp_path, tiny_space, npz_data, capsys
):
    out = tmp_path / "run"
    argv = [
        "run",
        "--data",
        str(npz_data),
        "--space",
        str(tiny_space),
        "--out",
        str(out),
        "--trials",
        "3",
        "--finalists",
        "1",
        "--trials-per-process",
        "0",
        "--no-progress",
    ]
    assert main(argv) == 0
    first = capsys.readouterr()
    assert "resuming" not in first.err
    assert main(argv) == 0
    second = capsys.readouterr()
    assert "resuming study 'toy-tiny' with 3 finished trials" in second.err
    import optuna

    study = optuna.load_study(study_name="toy-tiny", storage=f"sqlite:///{out / 'study.db'}")
    units = [t.params.get("units_0") for t in study.trials]
    cells = [t.params.get("cell") for t in study.trials]
    # a reseeded sampler would repeat the first session's draws exactly
    assert list(zip(units[3:], cells[3:], strict=True)) != list(
        zip(units[:3], cells[:3], strict=True)
    ) or [t.params for t in study.trials[3:]] != [t.params for t in study.trials[:3]]
    assert (out / "model").is_dir()
    picked = read_metadata(out / "model")["origin"]["trial"]
    kept = sorted(p.name for p in out.iterdir() if p.name.startswith("model-trial-"))
    assert picked in range(6)
    assert all(read_metadata(out / name)["origin"]["trial"] != picked for name in kept)


def test_an_export_of_another_trial_is_moved_aside_not_replaced(tmp_path):
    from gru_search import GRUClassifier, save
    from gru_search.run_folder import keep_previous_export

    X = np.random.default_rng(0).normal(size=(12, 5))
    clf = GRUClassifier(units=(2,), epochs=1, jit_compile=False).fit(X, np.arange(12) % 2)
    save(clf, tmp_path / "model", origin={"trial": 4})
    keep_previous_export(tmp_path / "model", trial=4)  # the same trial: replaced later
    assert (tmp_path / "model").is_dir()
    keep_previous_export(tmp_path / "model", trial=7)
    assert not (tmp_path / "model").exists()
    assert read_metadata(tmp_path / "model-trial-4")["origin"]["trial"] == 4


def test_resuming_with_another_validation_scheme_is_refused(tmp_path, tiny_space, npz_data, capsys):
    out = tmp_path / "run"
    argv = ["run", "--data", str(npz_data), "--space", str(tiny_space), "--out", str(out)]
    quick = ["--trials", "1", "--finalists", "1", "--trials-per-process", "0", "--no-progress"]
    assert main([*argv, *quick]) == 0
    capsys.readouterr()
    assert main([*argv, *quick, "--cv", "3"]) == 2
    assert "different validation" in capsys.readouterr().err


def test_predict_needs_no_labels_and_writes_series_ids(tmp_path, capsys):
    from gru_search import GRUClassifier, save

    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 6))
    clf = GRUClassifier(units=(2,), epochs=1, jit_compile=False).fit(X, np.arange(16) % 2)
    model = save(clf, tmp_path / "model")
    rows = [{"series": f"s{s}", "time": t, "value": X[s, t]} for s in (5, 2, 9) for t in range(6)]
    table = tmp_path / "unlabelled.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    output = tmp_path / "p.csv"
    assert (
        main(["predict", "--model", str(model), "--data", str(table), "--output", str(output)]) == 0
    )
    frame = pd.read_csv(output)
    assert list(frame["series"]) == ["s5", "s2", "s9"]
    np.testing.assert_array_equal(frame["prediction"], clf.predict(X[[5, 2, 9]]))

    arrays = tmp_path / "unlabelled.npz"
    np.savez(arrays, X=X[:4])
    assert (
        main(["predict", "--model", str(model), "--data", str(arrays), "--output", str(output)])
        == 2
    )
    assert "exists; pass --force" in capsys.readouterr().err
    argv = ["predict", "--model", str(model), "--data", str(arrays), "--output", str(output)]
    assert main([*argv, "--force"]) == 0
    frame = pd.read_csv(output)
    assert list(frame["row"]) == [0, 1, 2, 3]
    assert "score:" not in capsys.readouterr().out


def test_dashboard_hides_the_password_and_warns_about_open_hosts(tmp_path, capsys):
    import socket

    url = "postgresql://someone:s3cret-word@127.0.0.1:9/studies"
    assert main(["dashboard", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "s3cret-word" not in err and "someone:***@127.0.0.1:9" in err

    database = tmp_path / "study.db"
    import optuna

    optuna.create_study(storage=f"sqlite:///{database}", study_name="s")
    with socket.socket() as blocker:  # the port is taken: the server cannot start
        blocker.bind(("0.0.0.0", 0))
        port = blocker.getsockname()[1]
        argv = ["dashboard", "--storage", f"sqlite:///{database}", "--host", "0.0.0.0"]
        assert main([*argv, "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "WARNING: serving on 0.0.0.0" in err and "CHANGE the studies" in err
    assert "Address already in use" in err and "Traceback" not in err


def test_importing_gru_search_prints_no_tensorflow_info_lines():
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", "import gru_search, sys; print('x', file=sys.stderr)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0
    assert result.stderr == "x\n"  # oneDNN and CPU-feature INFO lines gone, ours kept


def test_a_search_every_trial_would_fail_ends_in_one_line(tmp_path, npz_data, capsys):
    space = tmp_path / "accuracy.yaml"
    space.write_text(
        yaml.safe_dump({**TINY_SPACE, "training": {"epochs": 2, "metric": "accuracy"}})
    )
    argv = ["run", "--data", str(npz_data), "--space", str(space), "--task", "regression"]
    assert main([*argv, "--out", str(tmp_path / "out"), "--trials", "2"]) == 2
    err = capsys.readouterr().err
    assert "metric 'accuracy' scores classification, but GRURegressor does regression" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_export_never_prints_the_storage_password(capsys):
    url = "postgresql://someone:s3cret-word@127.0.0.1:9/studies"
    argv = ["export", "--study", "s", "--storage", url, "--data", "aeon:GunPoint", "--out", "o"]
    assert main(argv) == 2
    assert "s3cret-word" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("7=2", "--class-weight names class '7', which the labels do not hold; expected "),
        ("0=-1", "--class-weight '0=-1': the weight must be a positive number"),
        ("0=x", "the weight must be a positive number"),
    ],
)
def test_a_bad_class_weight_is_one_line_before_any_training(npz_data, given, message, capsys):
    assert main(["fit", "--data", str(npz_data), "--class-weight", given]) == 2
    assert message in capsys.readouterr().err


def test_class_weight_has_no_meaning_for_regression(tmp_path, capsys):
    data = tmp_path / "reg.npz"
    np.savez(data, X_train=np.zeros((20, 5)), y_train=np.linspace(0, 1, 20))
    argv = ["run", "--data", str(data), "--task", "regression", "--class-weight", "balanced"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "--class-weight is for classification and text" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
