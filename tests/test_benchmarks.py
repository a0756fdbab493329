"""The bookkeeping of benchmarks/compare_tuners.py: who reached which score when.

The tools themselves are measured by running the benchmark (minutes per dataset); these
tests pin the arithmetic its table and acceptance rest on.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).parents[1] / "benchmarks" / "compare_tuners.py"
spec = importlib.util.spec_from_file_location("compare_tuners", PATH)
compare = importlib.util.module_from_spec(spec)
sys.modules["compare_tuners"] = compare  # dataclasses look their module up there
spec.loader.exec_module(compare)


def outcome(tool: str, timeline: list[tuple[float, float]], dataset: str = "D"):
    return compare.Outcome(
        dataset=dataset,
        tool=tool,
        trials_finished=len(timeline),
        trials_pruned=0,
        best_validation=max(score for _, score in timeline),
        test_accuracy=0.5,
        search_seconds=timeline[-1][0],
        total_seconds=timeline[-1][0] + 1,
        timeline=timeline,
    )


def test_timeline_keeps_the_best_so_far_and_ignores_failed_trials():
    timeline = compare.Timeline()
    for score in (0.6, None, 0.5, float("nan"), 0.8):
        timeline.record(score)
    assert [best for _, best in timeline.points] == [0.6, 0.6, 0.8]
    seconds = [s for s, _ in timeline.points]
    assert seconds == sorted(seconds)


def test_seconds_to_reach_is_the_first_time_the_best_so_far_gets_there():
    ours = outcome("gru-search", [(30.0, 0.9), (70.0, 0.95), (200.0, 1.0)])
    assert ours.seconds_to_reach(0.62) == 30.0
    assert ours.seconds_to_reach(0.95) == 70.0
    assert ours.seconds_to_reach(1.0) == 200.0
    assert outcome("optuna", [(5.0, 0.4)]).seconds_to_reach(0.9) is None


def test_rows_and_table_compare_every_tool_with_its_peers_on_the_same_dataset():
    outcomes = [
        outcome("gru-search", [(30.0, 0.9), (70.0, 0.95)]),
        outcome("keras-tuner", [(10.0, 0.5), (250.0, 0.7)]),
        outcome("optuna", [(20.0, 0.96)]),
        outcome("gru-search", [(40.0, 0.8)], dataset="E"),
    ]
    rows = compare.rows_of(outcomes)
    ours = rows[0]
    assert ours["seconds_to_own_best"] == 70.0
    assert ours["seconds_to_reach_keras_tuner_best"] == 30.0
    assert ours["seconds_to_reach_optuna_best"] is None
    assert rows[1]["seconds_to_reach_gru_search_best"] is None
    assert "seconds_to_reach_keras_tuner_best" not in rows[3]  # no peer on dataset E
    table = compare.markdown(outcomes, 300)
    assert table.count("\n| D |") == 3 and "not reached" in table
    with pytest.raises(SystemExit):  # unknown tools are refused before any training
        compare.main(["--tools", "sklearn"])
