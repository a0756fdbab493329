"""`gru-search run --task text`, predict, export and worker mistakes, in-process."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from gru_search import GRUTextClassifier, load
from gru_search.cli import main

from .test_text import TINY_TEXT_SPACE, reviews


@pytest.fixture
def text_space(tmp_path):
    path = tmp_path / "tiny-text.yaml"
    path.write_text(yaml.safe_dump(TINY_TEXT_SPACE))
    return path


@pytest.fixture
def review_table(tmp_path):
    texts, labels = reviews(240)
    frame = pd.DataFrame(
        {"review": texts, "stars": labels, "part": ["train"] * 180 + ["test"] * 60}
    )
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_run_text_then_predict_and_export(tmp_path, text_space, review_table, capsys):
    out = tmp_path / "run"
    argv = ["run", "--task", "text", "--data", str(review_table), "--text", "review"]
    argv += ["--target", "stars", "--split", "part", "--space", str(text_space)]
    assert main([*argv, "--trials", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "reviews: train 180 texts of" in printed and "test 60 texts" in printed
    assert "test macro-F1 of the exported model" in printed
    assert "ngram_weight" in printed  # the leaderboard shows each trial's n-gram share
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.7 and summary["test_f1_macro"] > 0.7
    model = load(out / "model")
    assert isinstance(model, GRUTextClassifier)

    # predict raw texts from a table without labels
    unlabelled = tmp_path / "new.csv"
    pd.DataFrame({"review": ["i love it", "the worst film"]}).to_csv(unlabelled, index=False)
    predict = ["predict", "--model", str(out / "model"), "--data", str(unlabelled)]
    assert main([*predict, "--text", "review", "--output", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert list(predictions["prediction"]) == ["pos", "neg"]
    assert {"proba_neg", "proba_pos"} <= set(predictions.columns)

    # export refits a trial of the study on the same table
    study = "reviews-tiny-text"
    argv = ["export", "--study", study, "--storage", f"sqlite:///{out / 'study.db'}"]
    argv += ["--out", str(tmp_path / "again"), "--data", str(review_table), "--text", "review"]
    assert main([*argv, "--target", "stars", "--split", "part"]) == 0
    again = load(tmp_path / "again")
    assert again.score(["i love it", "the worst film"], ["pos", "neg"]) == 1.0


TEXT_MISTAKES = [
    (["run", "--task", "text"], "--task text needs --data"),
    (["run", "--task", "text", "--data", "reviews.csv"], "has no text column 'text'"),
    (
        ["run", "--task", "text", "--data", "reviews.csv", "--text", "review"],
        "has no label column 'label'",
    ),
    (
        ["run", "--task", "text", "--data", "reviews.csv", "--space", "quick"],
        "--space quick is a space for sequences; --task text needs a `task: text` space",
    ),
    (["run", "--space", "text"], "--space text is a space for texts; --task classification"),
    (["run", "--text", "review"], "--text belongs to --task text"),
    (
        ["run", "--task", "text", "--data", "reviews.csv", "--series", "s"],
        "--series and --time describe sequences",
    ),
    (["run", "--task", "text", "--data", "aeon:GunPoint"], "texts come in a .csv or .parquet"),
    (
        ["run", "--task", "text", "--data", "holes.csv", "--text", "review", "--target", "stars"],
        "row 2 has no 'stars' label",
    ),
]


@pytest.mark.parametrize(("argv", "message"), TEXT_MISTAKES)
def test_text_mistakes_get_one_line_and_exit_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    texts, labels = reviews(20)
    pd.DataFrame({"review": texts, "stars": labels}).to_csv("reviews.csv", index=False)
    holes = pd.DataFrame({"review": texts, "stars": labels})
    holes.loc[2, "stars"] = np.nan
    holes.to_csv("holes.csv", index=False)
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
