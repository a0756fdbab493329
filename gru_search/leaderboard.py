"""The leaderboard: a study's trials as a table, the trial that was refit first."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import optuna
import pandas as pd

from gru_search.finalists import FinalistScore, recorded_finalists


def finalists_frame(
    results: Sequence[FinalistScore], picked: int | None, metric: str
) -> pd.DataFrame:
    """The finalists as a table: the picked trial first, then the others in study order.

    With ``metric="loss"`` the cross-validated score is the loss: one ``cv_loss`` column.
    """
    rows = [
        {
            "trial": r.trial,
            "picked": r.trial == picked,
            f"cv_{metric}": r.score,
            "cv_std": float(np.std(r.fold_scores)),
            "cv_loss": r.loss,
            f"holdout_{metric}": r.study_value,
            "seconds": r.seconds,
        }
        for r in results
    ]
    columns = ["trial", "picked", f"cv_{metric}", "cv_std", "cv_loss", f"holdout_{metric}"]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys([*columns, "seconds"])))
    return frame.sort_values("picked", ascending=False, kind="stable").reset_index(drop=True)


LEADERBOARD_COLUMNS = (
    "trial",
    "state",
    "value",
    "finalist_score",
    "validation_loss",
    "cell",
    "units",
    "n_params",
    "fused_kernel",
    "best_epoch",
    "epochs_run",
    "mean_epoch_seconds",
    "train_seconds",
)


def leaderboard(
    study: optuna.Study, states: Sequence[str] = ("COMPLETE", "PRUNED")
) -> pd.DataFrame:
    """A study's trials as a table, completed trials best first, then pruned ones.

    When finalists were cross-validated (and no trial completed since), they come first,
    ordered by that score (``finalist_score``), so the first row is the trial refit.
    """
    record = recorded_finalists(study) or {}
    finalist_scores = record.get("trials", {})
    rows = []
    for trial in study.trials:
        if trial.state.name not in states:
            continue
        params = trial.user_attrs.get("estimator_params", {})
        row = {
            "trial": trial.number,
            "state": trial.state.name,
            "value": trial.value,
            "finalist_score": finalist_scores.get(str(trial.number), {}).get("score"),
            "validation_loss": trial.user_attrs.get("validation_loss"),
            "cell": params.get("cell", trial.user_attrs.get("cell")),
            "units": tuple(params.get("units", ())),
            "n_params": trial.user_attrs.get("n_params"),
            "fused_kernel": trial.user_attrs.get("fused_kernel"),
            "best_epoch": trial.user_attrs.get("best_epoch"),
            "epochs_run": len(trial.intermediate_values),
            "mean_epoch_seconds": trial.user_attrs.get("mean_epoch_seconds"),
            "train_seconds": trial.user_attrs.get("train_seconds"),
        }
        row.update({k: v for k, v in params.items() if k not in ("cell", "units", "epochs")})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else list(LEADERBOARD_COLUMNS))
    if frame.empty:
        return frame
    ascending = study.direction == optuna.study.StudyDirection.MINIMIZE
    frame["_complete"] = frame["state"] == "COMPLETE"
    # the refit trial first, then the other finalists, then the rest
    frame["_group"] = np.where(
        frame["trial"] == record.get("picked"), 0, np.where(frame["finalist_score"].notna(), 1, 2)
    )
    frame = frame.sort_values(
        ["_complete", "_group", "finalist_score", "value", "validation_loss", "trial"],
        ascending=[False, True, ascending, ascending, True, True],
        na_position="last",
    )
    # a forecasting search records no validation loss or fused-kernel flag: no empty columns
    unrecorded = [c for c in ("validation_loss", "fused_kernel") if frame[c].isna().all()]
    return frame.drop(columns=["_complete", "_group", *unrecorded]).reset_index(drop=True)
