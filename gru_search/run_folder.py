"""The folder a ``gru-search run`` writes, and what the run prints about it.

A run folder holds the study's SQLite file, the exported model, the leaderboard, plots and
``summary.json``. It is recognised by a marker file, so that a run never writes into a
folder it did not create, and a resumed run keeps an export of another trial.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gru_search.exceptions import CommandError, GRUSearchError


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


#: The file by which `gru-search run` recognises a folder it created itself.
RUN_MARKER = ".gru-search-run"


def prepare_run_folder(out: Path, study_name: str) -> None:
    """Create ``out`` for a run of ``study_name``, or accept it for resuming that study.

    A folder that exists and holds anything but a previous run of the same study is
    refused: a run writes leaderboard.csv, summary.json, plots, a model and a SQLite file
    there, and would overwrite what a user keeps in it.
    """
    if check_run_folder(out, study_name):
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        marker = out / RUN_MARKER
        marker.write_text(json.dumps({"study": study_name}), encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot create --out {out}: {error.strerror}") from None


def check_run_folder(out: Path, study_name: str) -> bool:
    """Refuse ``out`` as :func:`prepare_run_folder` would, creating nothing.

    Returns True when ``out`` holds a previous run of ``study_name`` (a resume), False
    when it is new or empty. Called before long preparation, so that a wrong ``--out``
    fails at once.
    """
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the run's results")
    marker = out / RUN_MARKER
    if out.is_dir() and any(out.iterdir()):
        if not marker.is_file():
            raise CommandError(
                f"--out {out} exists and was not created by gru-search run; refusing to "
                "write into it (give a new or empty folder)"
            )
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8")).get("study")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if recorded != study_name:
            raise CommandError(
                f"--out {out} holds the run of study {recorded!r}; give another --out, or "
                f"--study-name {recorded} to resume that study"
            )
        return True
    return False


def keep_previous_export(folder: Path, trial: int) -> None:
    """Move an export of another trial aside (``model-trial-N``), so a resumed run keeps it."""
    from gru_search.export import read_metadata

    if not folder.exists():
        return
    try:
        previous = read_metadata(folder).get("origin", {}).get("trial")
    except GRUSearchError:
        return  # not an export: save() refuses to touch it and says so
    if previous is None or previous == trial:
        return
    kept = folder.with_name(f"{folder.name}-trial-{previous}")
    suffix = 1
    while kept.exists():
        suffix += 1
        kept = folder.with_name(f"{folder.name}-trial-{previous}-{suffix}")
    folder.rename(kept)
    print(f"kept the previous export (trial {previous}) as {kept}/", flush=True)


def print_leaderboard(board: Any, top: int = 10) -> None:
    if board.empty:
        print("no finished trials")
        return
    columns = [
        c
        for c in (
            "trial",
            "state",
            "value",
            "finalist_score",
            "cell",
            "units",
            "ngram_weight",  # text: the n-gram regression's share of a trial's model
            "n_params",
            "best_epoch",
            "mean_epoch_seconds",
            "train_seconds",
        )
        if c in board.columns and (c != "finalist_score" or board[c].notna().any())
    ]
    print(board[columns].head(top).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def redact(url: str) -> str:
    """A storage URL without its password, for printing."""
    from gru_search.storage import redact as redact_url  # optuna: only when needed

    return redact_url(url)


def export_origin(
    study: str, trial: int, score: float | None, metric: str | None, space: str
) -> dict[str, Any]:
    """Where an exported model came from (its metadata's ``origin``): study, trial, the
    trial's validation score and metric, and the space searched."""
    return {"study": study, "trial": trial, "score": score, "metric": metric, "space": space}


def run_provenance() -> dict[str, Any]:
    """When and with what a run finished: a timestamp and the versions that shaped its
    numbers (``summary.json``)."""
    import platform
    from datetime import UTC, datetime
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("gru-search", "keras", "tensorflow", "tensorflow-cpu", "jax", "torch"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    for package in ("optuna", "scikit-learn", "numpy"):
        versions[package] = version(package)
    import keras

    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "keras_backend": keras.backend.backend(),
        "versions": versions,
    }
