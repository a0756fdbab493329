"""A live progress bar for a study whose trials run elsewhere (trial processes, workers).

Optuna's own bar only counts trials its ``optimize`` call runs in this process. When
trials run in child processes the parent waits; :class:`StudyProgress` reads the study's
storage while it waits and shows finished trials, the best value so far and the time
elapsed and left. ``tqdm.auto`` draws a text bar in a terminal and a widget in Jupyter.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import optuna

from gru_search.studies import finished_trial_count


def _make_bar(**options: Any) -> Any:
    """A widget in Jupyter, text elsewhere; text in a Jupyter without ipywidgets too."""
    from tqdm.auto import tqdm

    try:
        return tqdm(**options)
    except ImportError:  # tqdm.notebook without ipywidgets: "IProgress not found"
        from tqdm.std import tqdm as text_bar

        return text_bar(**options)


class StudyProgress:
    """A tqdm bar over the trials of ``study`` that finish from now on.

    Parameters
    ----------
    study : optuna.Study
    n_trials : int or None
        Trials this run adds; None when only a timeout bounds it (the bar then counts
        without a total).
    timeout : float or None
        Seconds this run may take; shown as the time left.
    metric : str
        Name of the study's objective, for the best value.
    """

    def __init__(
        self,
        study: optuna.Study,
        n_trials: int | None,
        timeout: float | None,
        metric: str,
    ) -> None:
        self._study = study
        self._metric = metric
        self._before = finished_trial_count(self._study)
        self._start = time.monotonic()
        self._timeout = timeout
        self._bar = _make_bar(total=n_trials, desc="trials", unit="trial", file=sys.stderr)
        self._shown: tuple[int, float | None] = (0, None)

    def _best(self) -> float | None:
        try:
            value = self._study.best_value
        except ValueError:  # no completed trial yet
            return None
        return None if value is None or math.isnan(value) else float(value)

    def refresh(self) -> None:
        """Read the study and redraw the bar when a trial finished (or the clock moved)."""
        done = finished_trial_count(self._study) - self._before
        best = self._best()
        if (done, best) != self._shown:
            self._bar.update(done - self._shown[0])
            self._shown = (done, best)
        postfix = {} if best is None else {f"best {self._metric}": f"{best:.4f}"}
        if self._timeout is not None:
            left = max(0.0, self._timeout - (time.monotonic() - self._start))
            postfix["left"] = f"{left:.0f}s"
        self._bar.set_postfix(postfix, refresh=True)

    def close(self) -> None:
        self.refresh()
        self._bar.close()

    def __enter__(self) -> StudyProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
