"""The marks a search leaves for optuna-dashboard, on real Optuna storages (no training)."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna_dashboard import get_note

from gru_search import load_space
from gru_search.dashboard_records import (
    SELECTED_TRIAL_KEY,
    ArtifactFolders,
    artifact_folders,
    attach_artifacts,
    finalists_study_name,
    record_selection,
)
from gru_search.finalists import FinalistScore
from gru_search.studies import STUDY_SPEC_KEY, encode_spec, stored_spec


def _study(storage, name="s", values=(0.8, 0.9, 0.85)) -> optuna.Study:
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    distribution = optuna.distributions.IntDistribution(1, 8)
    for units, value in enumerate(values, start=1):
        study.add_trial(
            optuna.trial.create_trial(
                params={"units": units}, distributions={"units": distribution}, value=value
            )
        )
    return study


def _score(trial: int, score: float, holdout: float) -> FinalistScore:
    return FinalistScore(
        trial=trial,
        study_value=holdout,
        score=score,
        loss=0.3,
        fold_scores=(score - 0.01, score + 0.01),
        seconds=1.0,
    )


def _note(study: optuna.Study, number: int | None = None) -> str:
    if number is None:
        return get_note(study)
    return get_note(optuna.Trial(study, study.trials[number]._trial_id))


def test_finalists_study_ranks_the_pick_first_even_on_a_tie(tmp_path):
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = _study(storage)
    # trial 2 ties trial 1 on the cross-validated score; the pick (study order) is 1
    results = [_score(1, 0.87, 0.9), _score(2, 0.87, 0.85), _score(0, 0.80, 0.8)]
    record_selection(study, study.trials[1], "accuracy", results, folds=2)
    companion = optuna.load_study(study_name=finalists_study_name("s"), storage=storage)
    assert companion.best_trial.user_attrs["search_trial"] == 1
    assert companion.metric_names == ["2-fold CV accuracy"]
    assert companion.trials[0].params == study.trials[1].params
    assert study.user_attrs[SELECTED_TRIAL_KEY] == 1
    assert "trial 1" in _note(study) and "| 2 | 0.8700 | 0.8500 |" in _note(study)
    assert "Picked" in _note(study, 1) and _note(study, 0) == ""


def test_a_resumed_search_moves_the_mark_and_rewrites_its_finalists(tmp_path):
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = _study(storage)
    record_selection(study, study.trials[1], "accuracy", [_score(1, 0.9, 0.9)], folds=2)
    record_selection(
        study, study.trials[2], "accuracy", [_score(2, 0.95, 0.85), _score(1, 0.9, 0.9)], folds=2
    )
    assert study.user_attrs[SELECTED_TRIAL_KEY] == 2
    assert "No longer the pick" in _note(study, 1) and "trial 2" in _note(study, 1)
    companion = optuna.load_study(study_name="s:finalists", storage=storage)
    assert len(companion.trials) == 2 and companion.best_trial.user_attrs["search_trial"] == 2


def test_a_study_of_the_user_named_like_the_finalists_is_never_replaced(tmp_path):
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = _study(storage)
    theirs = _study(storage, name="s:finalists", values=(0.1,))
    with pytest.warns(UserWarning, match="'s:finalists' exists and was not written by gru"):
        record_selection(study, study.trials[1], "accuracy", [_score(1, 0.9, 0.9)], folds=2)
    assert len(optuna.load_study(study_name=theirs.study_name, storage=storage).trials) == 1
    # the pick is still marked, and the note says why the finalists study is missing
    assert study.user_attrs[SELECTED_TRIAL_KEY] == 1
    assert "The finalists study was not written" in _note(study)


def test_without_finalists_only_the_mark_and_notes(tmp_path):
    storage = optuna.storages.InMemoryStorage()
    study = _study(storage)
    record_selection(study, study.trials[1], "r2")
    assert study.user_attrs[SELECTED_TRIAL_KEY] == 1
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    assert names == ["s"]


def test_the_spec_is_stored_whole_as_text_and_older_dicts_still_read():
    space = load_space("default")
    spec = {"space": space.to_dict(), "task": "classification", "metric": "accuracy"}
    text = encode_spec(spec)
    assert len(text) > 1024  # what optuna-dashboard cut a dict attribute at
    study = optuna.create_study()
    study.set_user_attr(STUDY_SPEC_KEY, text)
    assert stored_spec(study) == json.loads(json.dumps(spec))
    older = optuna.create_study()
    older.set_user_attr(STUDY_SPEC_KEY, spec)
    assert stored_spec(older) == spec
    assert stored_spec(optuna.create_study()) is None


def test_artifacts_are_served_from_whichever_run_folder_holds_them(tmp_path):
    storage = optuna.storages.InMemoryStorage()
    first, second = _study(storage, "a"), _study(storage, "b")
    report = tmp_path / "leaderboard.csv"
    report.write_text("trial,value\n1,0.9\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.keras").write_bytes(b"weights")
    [zip_id, csv_id] = attach_artifacts(
        first, [report], store_dir=tmp_path / "run-a" / "artifacts", model_dir=model, trial_number=1
    )
    [other_id] = attach_artifacts(second, [report], store_dir=tmp_path / "run-b" / "artifacts")
    folders = artifact_folders(storage)
    assert folders == [
        (tmp_path / "run-a" / "artifacts").resolve(),
        (tmp_path / "run-b" / "artifacts").resolve(),
    ]
    store = ArtifactFolders(folders)
    with store.open_reader(csv_id) as reader:
        assert reader.read() == report.read_bytes()
    with store.open_reader(other_id) as reader:
        assert reader.read() == report.read_bytes()
    with store.open_reader(zip_id) as reader:
        assert reader.read(2) == b"PK"
    with pytest.raises(optuna.artifacts.exceptions.ArtifactNotFound):
        store.open_reader("0000-not-there")
