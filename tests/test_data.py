"""Input conventions: patching, channels-first detection, long tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gru_search import GRUClassifier
from gru_search.data import (
    LongTableWarning,
    check_sequences,
    fold_patches,
    resolve_patch_size,
    sequences_from_long,
)


@pytest.mark.parametrize(
    ("n_timesteps", "expected"), [(1, 1), (32, 1), (33, 2), (150, 5), (251, 8)]
)
def test_auto_patch_size_keeps_about_32_recurrent_steps(n_timesteps, expected):
    assert resolve_patch_size("auto", n_timesteps) == expected


@pytest.mark.parametrize("bad", [0, -3, 2.5, "big", True])
def test_bad_patch_size_is_rejected(bad):
    with pytest.raises(ValueError, match="patch_size"):
        resolve_patch_size(bad, 10)


def test_fixed_length_sequences_are_padded_at_the_start():
    values = np.arange(2 * 5 * 2, dtype=np.float32).reshape(2, 5, 2)
    folded, mask = fold_patches(values, None, 2)
    assert mask is None
    assert folded.shape == (2, 3, 4)
    # one zero step in front, then steps (0, 1) and (2, 3) side by side
    np.testing.assert_array_equal(folded[0, 0], [0, 0, *values[0, 0]])
    np.testing.assert_array_equal(folded[0, 1], [*values[0, 1], *values[0, 2]])
    np.testing.assert_array_equal(folded[1, 2], [*values[1, 3], *values[1, 4]])


def test_uneven_sequences_keep_a_mask_per_patch():
    values = np.ones((2, 5, 1), dtype=np.float32)
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    values[~mask] = 0
    folded, patch_mask = fold_patches(values, mask, 2)
    assert folded.shape == (2, 3, 2)
    np.testing.assert_array_equal(patch_mask, [[True, True, True], [True, True, False]])
    np.testing.assert_array_equal(folded[1, 1], [1, 0])  # the real step, then padding


def test_patch_size_one_changes_nothing():
    values = np.random.default_rng(0).normal(size=(3, 7, 2)).astype(np.float32)
    folded, mask = fold_patches(values, None, 1)
    assert folded is values and mask is None


def test_estimator_reads_long_sequences_in_patches():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    X = rng.normal(size=(40, 70)) + np.where(y[:, None] == 1, 1.0, -1.0)
    clf = GRUClassifier(units=(4,), epochs=3, jit_compile=False, random_state=0).fit(X, y)
    assert clf.patch_size_ == 3
    assert clf.model_.input_shape == (None, 24, 3)  # ceil(70 / 3) steps of 3 values
    assert clf.predict(X[:5]).shape == (5,)
    uneven = [row[: 40 + i] for i, row in enumerate(X)]
    clf = GRUClassifier(units=(4,), epochs=2, patch_size=4, jit_compile=False).fit(uneven, y)
    assert clf.patch_size_ == 4
    assert clf.predict(uneven[:3]).shape == (3,)


def test_aeon_channels_first_univariate_arrays_are_refused_with_the_fix():
    X = np.random.default_rng(0).normal(size=(20, 1, 40))  # aeon: (cases, channels, time)
    with pytest.raises(ValueError, match=r"pass X\.transpose\(0, 2, 1\)"):
        GRUClassifier(units=(2,), epochs=1).fit(X, np.arange(20) % 2)


def test_few_steps_of_many_features_warn_about_channels_first():
    from gru_search.data import ChannelsFirstWarning

    X = np.random.default_rng(0).normal(size=(8, 6, 100))  # BasicMotions as aeon stores it
    with pytest.warns(ChannelsFirstWarning, match=r"6 channels of 100 time points"):
        check_sequences(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_sequences(X.transpose(0, 2, 1))  # channels last: no warning


def _long(rows):
    return pd.DataFrame(rows, columns=["series", "time", "value", "target"])


def test_long_tables_refuse_repeated_time_steps_and_name_the_series():
    frame = _long([("a", 0, 1.0, 0), ("a", 1, 2.0, 0), ("b", 0, 1.0, 1), ("b", 0, 3.0, 1)])
    with pytest.raises(ValueError, match=r"series 'b' at time 0"):
        sequences_from_long(frame, series="series", time="time", target="target")


def test_long_tables_report_rows_without_a_series_id():
    frame = _long([("a", 0, 1.0, 0), (None, 1, 2.0, 0), ("b", 0, 1.0, 1)])
    with pytest.warns(LongTableWarning, match="left out 1 of 3 rows whose series id"):
        X, y = sequences_from_long(frame, series="series", time="time", target="target")
    assert len(X) == 2 and list(y) == [0, 1]


def test_long_tables_refuse_missing_values_and_missing_targets_naming_the_series():
    frame = _long([("a", 0, 1.0, 0), ("b", 0, np.nan, 1)])
    with pytest.raises(ValueError, match=r"series 'b' has missing or infinite values"):
        sequences_from_long(frame, series="series", time="time", target="target")
    frame = _long([("a", 0, 1.0, 0), ("b", 0, 2.0, None)])
    with pytest.raises(ValueError, match=r"series 'b' has no value in target column"):
        sequences_from_long(frame, series="series", time="time", target="target")


def test_split_values_other_than_train_and_test_are_reported(tmp_path):
    from gru_search.datasets import load_data

    rows = [(s, t, float(t), s % 2) for s in range(6) for t in range(3)]
    frame = _long(rows).assign(part=["train"] * 9 + ["test"] * 6 + ["validation"] * 3)
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(LongTableWarning, match=r"left out 3 rows whose 'part' is neither"):
        data = load_data(str(path), split="part")
    assert len(data.X_train) == 3 and len(data.X_test) == 2


def test_an_npz_of_unlabelled_training_sequences_loads_for_prediction(tmp_path):
    from gru_search.datasets import load_npz
    from gru_search.exceptions import DataError

    path = tmp_path / "unlabelled.npz"
    np.savez(path, X_train=np.zeros((3, 5)))
    data = load_npz(path, require_target=False)
    assert data.X_train.shape == (3, 5) and data.y_train is None
    with pytest.raises(DataError, match=r"missing array\(s\) \['y_train'\]"):
        load_npz(path)  # training still needs the labels
