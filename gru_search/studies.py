"""Optuna studies as gru-search keeps them: sampler and pruner policy, the stored spec, seeds.

A study records what must agree between everyone who adds trials to it (space, task,
metric, validation scheme and, for ``gru-search run``, how to load the data) under
:data:`STUDY_SPEC_KEY`; :func:`open_study` creates a study or resumes one only when that
record matches.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import optuna

from gru_search.exceptions import StudyMismatchError
from gru_search.seeding import MAX_SEED
from gru_search.spaces import SearchSpace
from gru_search.storage import make_storage
from gru_search.trials import Objective

SAMPLERS = ("tpe", "random")
PRUNERS = ("hyperband", "median", "successive_halving", "none")
#: Study user attribute holding the space and task a study was created with.
STUDY_SPEC_KEY = "gru_search_spec"
#: Study user attribute: the seed the search's refit trained with (``export`` reuses it).
REFIT_SEED_KEY = "gru_search_refit_seed"


def encode_spec(spec: dict[str, Any]) -> str:
    """The spec as the JSON text stored on the study.

    Text, not a dict: optuna-dashboard cuts an attribute that is not a string at 1,024
    characters, which hides most of a real space; it shows strings whole.
    """
    return json.dumps(spec, indent=1, sort_keys=True, default=str)


def stored_spec(study: optuna.Study) -> dict[str, Any] | None:
    """The spec ``study`` was created with, or None for a study gru-search did not create.

    Studies created before the spec was stored as text hold it as a dict.
    """
    stored = study.user_attrs.get(STUDY_SPEC_KEY)
    if isinstance(stored, str):
        return json.loads(stored)
    return stored


def make_sampler(sampler: str | optuna.samplers.BaseSampler, seed: int | None, parallel: bool):
    """Optuna sampler by name, with every TPE argument explicit (Optuna 5 changed defaults)."""
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        with warnings.catch_warnings():  # `group` is flagged experimental since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                n_startup_trials=6,
                n_ei_candidates=24,
                multivariate=True,
                group=True,  # conditional parameters (per-layer units, `when:`) form groups
                constant_liar=parallel,
                seed=seed,
            )
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")


def make_pruner(pruner: str | optuna.pruners.BasePruner | None, warmup: int, epochs: int):
    """Optuna pruner by name; every one waits ``warmup`` epochs before it cuts."""
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner in (None, "none"):
        return optuna.pruners.NopPruner()
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=warmup, max_resource=epochs, reduction_factor=3
        )
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    if pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup, reduction_factor=3)
    raise ValueError(f"unknown pruner {pruner!r}; expected one of {', '.join(PRUNERS)}")


def study_spec(
    space: SearchSpace, task: str, objective: Objective, validation: str | None = None
) -> dict[str, Any]:
    """What must agree between a study and whoever adds trials to it."""
    spec = {"space": space.to_dict(), "task": task, "metric": objective.name}
    if validation is not None:
        spec["validation"] = validation
    return spec


def describe_validation_scheme(cv: Any, validation_fraction: float) -> str:
    """How trials are validated, as stored with a study: ``holdout-0.2``, ``5-fold``, ..."""
    if cv is None:
        return f"holdout-{validation_fraction:g}"
    if isinstance(cv, int) and not isinstance(cv, bool):
        return f"{cv}-fold"
    return repr(cv)


def finished_trial_count(study: optuna.Study) -> int:
    """Trials that ran to an end (complete, pruned or failed); queued ones do not count."""
    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    )
    return len(study.get_trials(deepcopy=False, states=states))


def start_or_resume(
    study: optuna.Study,
    space: SearchSpace,
    sampler: Any,
    sampler_seed: int,
    *,
    parallel: bool,
) -> int:
    """Queue the space's start points on a new study; give a resumed one (trials finished
    in an earlier session) a sampler with a new session seed. Returns the number of trials
    finished before (0 for a new study)."""
    if not study.trials:
        for point in space.start_points:
            study.enqueue_trial(point, skip_if_exists=True)
        return 0
    finished = finished_trial_count(study)
    if finished:
        seed = session_seed(sampler_seed, study)
        study.sampler = make_sampler(sampler, seed, parallel=parallel)
    return finished


def session_seed(seed: int, study: optuna.Study) -> int:
    """The sampler seed of this session: ``seed`` for a new study, another on resume.

    A resumed study reseeded with the same value would propose its first trials again;
    offsetting by the number of finished trials keeps a rerun reproducible and every
    session's proposals new.
    """
    finished = finished_trial_count(study)
    return seed if finished == 0 else (seed + 1_000_003 * finished) % MAX_SEED


def open_study(
    *,
    storage: str | optuna.storages.BaseStorage | None,
    study_name: str | None,
    spec: dict[str, Any],
    direction: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Create the study, or resume one of the same name after checking it matches ``spec``."""
    study = optuna.create_study(
        storage=make_storage(storage),
        study_name=study_name,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    stored = stored_spec(study)
    if stored is None:
        if study.direction.name.lower() != direction:
            raise StudyMismatchError(
                f"study {study.study_name!r} {study.direction.name.lower()}s its objective, "
                f"but this search would {direction} it"
            )
        study.set_user_attr(STUDY_SPEC_KEY, encode_spec(spec))
        name_objective(study, spec.get("metric"))
    elif differing := spec_conflicts(stored, spec):
        raise StudyMismatchError(
            f"study {study.study_name!r} already exists with a different "
            f"{' and '.join(differing)}; use another study name, or the same space, task, "
            "metric and data to resume it"
        )
    return study


def name_objective(study: optuna.Study, metric: str | None) -> None:
    """Name the study's objective so that the dashboard says "accuracy", not "Objective 0"."""
    if metric is None:
        return
    with warnings.catch_warnings():  # set_metric_names is flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([f"validation {metric}"])


def spec_conflicts(stored: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Keys of a study spec (space, task, metric, data) on which two specs disagree.

    ``data`` is compared only when both name it: a search started from Python holds its
    data in memory and records none. ``validation`` (hold-out or K folds) is compared when
    both record it (studies created before it was recorded do not): scores of a hold-out
    and of a cross-validation do not rank against each other.
    """
    stored, given = json.loads(json.dumps(stored)), json.loads(json.dumps(given))
    differing = []
    for key in ("space", "task", "metric", "data", "validation"):
        if key in ("data", "validation") and (stored.get(key) is None or given.get(key) is None):
            continue
        if stored.get(key) != given.get(key):
            differing.append(key)
    return differing


@contextlib.contextmanager
def quiet_optuna(verbose: int) -> Iterator[None]:
    """Optuna's own per-trial INFO lines duplicate ours: keep them for verbose > 1 only."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING if verbose > 1 else logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
