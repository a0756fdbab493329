"""What a search leaves in its study for optuna-dashboard: the pick, its reasons, its files.

optuna-dashboard calls "best" the trial with the best hold-out value. When finalists are
cross-validated, gru-search refits another trial more often than not, so the study says
which one, in the places the dashboard shows:

- the study user attribute :data:`SELECTED_TRIAL_KEY` and a note on the study;
- a note on the picked trial (and on a trial a resumed search picked before it);
- a companion study ``"<study>:finalists"`` with one trial per finalist, valued by its
  cross-validated score, so that *its* best trial (the dashboard's "Best Trial") is the
  pick;
- the exported model (a zip of its folder) and the run's plots as Optuna artifacts of
  the study (Optuna refuses attributes on finished trials), in a file-system
  artifact store whose folder the study records under :data:`ARTIFACTS_KEY`
  (``gru-search dashboard`` serves it).
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import optuna

from gru_search.exceptions import StudyNameTakenError
from gru_search.finalists import FinalistScore

#: Study user attribute: number of the trial the search refit (and exports).
SELECTED_TRIAL_KEY = "gru_search_selected_trial"
#: Study user attribute: the folder of the study's artifact store.
ARTIFACTS_KEY = "gru_search_artifacts"
#: User attribute that marks a companion study as gru-search's own.
FINALISTS_OF_KEY = "gru_search_finalists_of"


def finalists_study_name(study_name: str) -> str:
    return f"{study_name}:finalists"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _experimental_allowed() -> Iterator[None]:
    # metric names and artifacts are flagged experimental since Optuna 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _save_note(target: optuna.Study | optuna.Trial, body: str) -> None:
    from optuna_dashboard import save_note

    save_note(target, body)


def _trial_handle(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> optuna.Trial:
    # notes and artifacts attach to a live Trial handle; it only reads the finished trial
    return optuna.Trial(study, trial._trial_id)


def record_selection(
    study: optuna.Study,
    trial: optuna.trial.FrozenTrial,
    metric: str,
    finalists: Sequence[FinalistScore] = (),
    *,
    folds: int = 0,
    direction: str = "maximize",
) -> None:
    """Mark ``trial`` as the search's pick on ``study`` (attribute, notes, finalists study).

    ``finalists`` are the cross-validated finalists (empty when the study's best was
    refit as it stands); ``folds`` their fold count.
    """
    previous = study.user_attrs.get(SELECTED_TRIAL_KEY)
    stamp = _now()
    if finalists:
        reason = (
            f"the best mean {metric} of {len(finalists)} finalists (the best hold-out trials) "
            f"cross-validated on all the data, {folds} folds each"
        )
        ranked = sorted(finalists, key=lambda r: r.trial != trial.number)
        rows = "\n".join(
            f"| {r.trial} | {r.score:.4f} | {r.study_value:.4f} |"
            + (" **picked** |" if r.trial == trial.number else " |")
            for r in ranked
        )
        details = (
            'The dashboard\'s "Best Trial" of this study is the best *hold-out* value; the '
            f"study `{finalists_study_name(study.study_name)}` ranks the finalists by their "
            "cross-validated score, and its best trial is this one.\n\n"
            f"| trial | CV {metric} | hold-out {metric} | |\n|---|---|---|---|\n{rows}"
        )
        try:
            record_finalists_study(
                study, trial, finalists, metric, folds=folds, direction=direction
            )
        except StudyNameTakenError as taken:  # the search's result matters more than its mirror
            warnings.warn(str(taken), stacklevel=2)
            details += f"\n\n(The finalists study was not written: {taken}.)"
    else:
        reason, details = f"the best hold-out (or cross-validated) {metric} of the study", ""
    study.set_user_attr(SELECTED_TRIAL_KEY, trial.number)
    _save_note(
        study,
        f"## Picked: trial {trial.number}\n\nThe trial the search refit (and `gru-search "
        f"export` exports), picked {stamp} as {reason}.\n\n{details}\n",
    )
    _save_note(
        _trial_handle(study, trial),
        f"## Picked ({stamp})\n\nThe search refit this trial (and `gru-search export` "
        f"exports it) as {reason}.\n",
    )
    if previous is not None and previous != trial.number:
        for older in study.get_trials(deepcopy=False):
            if older.number == previous:
                _save_note(
                    _trial_handle(study, older),
                    f"## No longer the pick ({stamp})\n\nThe resumed search picked trial "
                    f"{trial.number} instead.\n",
                )


def record_finalists_study(
    study: optuna.Study,
    picked: optuna.trial.FrozenTrial,
    finalists: Sequence[FinalistScore],
    metric: str,
    *,
    folds: int,
    direction: str,
) -> optuna.Study:
    """(Re)write the companion study of the finalists' cross-validated scores.

    The picked finalist is added first: where two finalists tie, the pick kept the
    study's order and storages return the first of equal values.
    """
    storage = study._storage  # the companion lives beside the study, in its storage
    name = finalists_study_name(study.study_name)
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None:
        if existing.user_attrs.get(FINALISTS_OF_KEY) != study.study_name:
            raise StudyNameTakenError(
                f"study {name!r} exists and was not written by gru-search; rename it to let "
                f"gru-search record the finalists of {study.study_name!r}"
            )
        optuna.delete_study(study_name=name, storage=storage)  # ours, and now stale
    companion = optuna.create_study(study_name=name, storage=storage, direction=direction)
    companion.set_user_attr(FINALISTS_OF_KEY, study.study_name)
    with _experimental_allowed():
        companion.set_metric_names([f"{folds}-fold CV {metric}"])
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    for result in sorted(finalists, key=lambda r: r.trial != picked.number):
        source = by_number[result.trial]
        companion.add_trial(
            optuna.trial.create_trial(
                params=source.params,
                distributions=source.distributions,
                value=result.score,
                user_attrs={
                    "search_trial": result.trial,
                    "picked": result.trial == picked.number,
                    f"holdout_{metric}": result.study_value,
                    "fold_scores": list(result.fold_scores),
                    "cv_loss": result.loss,
                },
            )
        )
    return companion


def attach_artifacts(
    study: optuna.Study,
    files: Iterable[Path],
    *,
    store_dir: Path,
    model_dir: Path | None = None,
    trial_number: int | None = None,
) -> list[str]:
    """Upload ``files`` (and ``model_dir`` as one zip) as artifacts of ``study``.

    Artifacts go on the study, not the trial: Optuna refuses attributes on a finished
    trial. ``store_dir`` becomes the study's file-system artifact store, recorded on the
    study so that ``gru-search dashboard`` can serve it. Returns the artifact ids.
    """
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    store_dir.mkdir(parents=True, exist_ok=True)
    store = FileSystemArtifactStore(str(store_dir))
    study.set_user_attr(ARTIFACTS_KEY, str(store_dir.resolve()))
    ids = []
    with tempfile.TemporaryDirectory(prefix="gru-search-artifacts-") as scratch:
        uploads = [Path(path) for path in files if Path(path).is_file()]
        if model_dir is not None and model_dir.is_dir():
            name = f"model-trial-{trial_number}" if trial_number is not None else "model"
            archive = shutil.make_archive(str(Path(scratch) / name), "zip", model_dir)
            uploads.insert(0, Path(archive))
        with _experimental_allowed():
            for path in uploads:
                ids.append(
                    upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study)
                )
    return ids


def artifact_folders(storage: optuna.storages.BaseStorage) -> list[Path]:
    """The artifact stores recorded by the studies in ``storage`` that exist here."""
    folders = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        folder = summary.user_attrs.get(ARTIFACTS_KEY)
        if folder and Path(folder).is_dir() and Path(folder) not in folders:
            folders.append(Path(folder))
    return folders


class ArtifactFolders:
    """One artifact store over several folders: reads from whichever holds the artifact.

    optuna-dashboard serves one store; a storage may hold several runs' studies, each with
    its own folder. Writes (uploads from the dashboard) go to the first folder.
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        from optuna.artifacts import FileSystemArtifactStore

        self._stores = [FileSystemArtifactStore(str(folder)) for folder in folders]
        self._folders = list(folders)

    def _holder(self, artifact_id: str):
        for folder, store in zip(self._folders, self._stores, strict=True):
            if (folder / artifact_id).is_file():
                return store
        from optuna.artifacts.exceptions import ArtifactNotFound

        raise ArtifactNotFound(f"artifact {artifact_id!r} is in none of the run folders")

    def open_reader(self, artifact_id: str):
        return self._holder(artifact_id).open_reader(artifact_id)

    def write(self, artifact_id: str, content_body) -> None:
        self._stores[0].write(artifact_id, content_body)

    def remove(self, artifact_id: str) -> None:
        self._holder(artifact_id).remove(artifact_id)
