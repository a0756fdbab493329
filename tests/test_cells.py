"""The gate-variant zoo against independent NumPy references, parameter counts, masks,
serialisation and the layer factory's errors."""

from __future__ import annotations

import pickle

import keras
import numpy as np
import pytest

from gru_search.cells import (
    BUILTIN_VARIANTS,
    VARIANTS,
    GatedRNN,
    LNGRUCell,
    MinGRUCell,
    build_layer,
    custom_cell_class,
    registered_cells,
    variant_info,
)
from tests import reference_cells

CUSTOM = [v for v in VARIANTS if v not in BUILTIN_VARIANTS]
M, N, BATCH, TIME = 3, 5, 4, 6
TOLERANCE = 1e-5


def randomise(layer: keras.layers.Layer, seed: int = 0) -> dict[str, np.ndarray]:
    """Give every weight random values (so zero biases hide nothing); return them by name."""
    rng = np.random.default_rng(seed)
    weights = {}
    for variable in layer.weights:
        value = rng.normal(scale=0.5, size=variable.shape)
        if "variance" in variable.name:
            value = np.abs(value) + 0.5
        variable.assign(value.astype("float32"))
        weights[variable.name] = value.astype("float64")
    return weights


def built_layer(variant: str, **options) -> keras.layers.Layer:
    layer = build_layer(variant, N, **options)
    layer.build((None, None, M))
    return layer


@pytest.fixture
def sequences() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(BATCH, TIME, M)).astype("float32")


def test_variant_names_cover_design_table():
    expected = {"gru", "gru_v1", "gru1", "gru2", "gru3", "mgu", "mgu1", "mgu2", "mgu3"}
    expected |= {"ugrnn", "ligru", "mingru", "lngru"}
    assert set(VARIANTS) == expected
    assert set(reference_cells.STEPS) == set(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_parameter_count_matches_formula(variant):
    for m, n in [(1, 4), (3, 5), (8, 16)]:
        layer = build_layer(variant, n)
        layer.build((None, None, m))
        trainable = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        assert trainable == variant_info(variant).parameter_count(m, n), (m, n)


@pytest.mark.parametrize("variant", CUSTOM)
def test_one_step_matches_numpy_reference(variant, sequences):
    layer = built_layer(variant)
    weights = randomise(layer)
    x = sequences[:, 0]
    h = np.random.default_rng(2).normal(size=(BATCH, N)).astype("float32")
    new_h, states = layer.cell(x, [h], training=False)
    expected = reference_cells.STEPS[variant](weights, x.astype("float64"), h.astype("float64"))
    np.testing.assert_allclose(np.asarray(new_h), expected, atol=TOLERANCE, rtol=TOLERANCE)
    np.testing.assert_allclose(np.asarray(states[0]), expected, atol=TOLERANCE, rtol=TOLERANCE)


@pytest.mark.parametrize("variant", sorted(BUILTIN_VARIANTS))
def test_builtin_one_step_matches_numpy_reference(variant, sequences):
    layer = built_layer(variant)
    weights = randomise(layer)
    x = sequences[:, 0]
    h = np.random.default_rng(2).normal(size=(BATCH, N)).astype("float32")
    new_h, _ = layer.cell(x, [h], training=False)
    expected = reference_cells.STEPS[variant](weights, x.astype("float64"), h.astype("float64"))
    np.testing.assert_allclose(np.asarray(new_h), expected, atol=TOLERANCE, rtol=TOLERANCE)


@pytest.mark.parametrize("variant", VARIANTS)
def test_whole_sequence_matches_numpy_reference(variant, sequences):
    layer = built_layer(variant, return_sequences=True)
    weights = randomise(layer)
    outputs = np.asarray(layer(sequences, training=False))
    last, states = reference_cells.run(
        reference_cells.STEPS[variant], weights, sequences.astype("float64"), N
    )
    assert outputs.shape == (BATCH, TIME, N)
    np.testing.assert_allclose(outputs, states, atol=TOLERANCE, rtol=TOLERANCE)
    final = np.asarray(built_layer_like(layer, variant)(sequences, training=False))
    np.testing.assert_allclose(final, last, atol=TOLERANCE, rtol=TOLERANCE)


def built_layer_like(source: keras.layers.Layer, variant: str) -> keras.layers.Layer:
    """A return_sequences=False twin of ``source`` with the same weights."""
    twin = built_layer(variant)
    twin.set_weights(source.get_weights())
    return twin


@pytest.mark.parametrize("variant", VARIANTS)
def test_masked_right_padding_keeps_last_real_state(variant, sequences):
    lengths = np.array([TIME, 4, 1, 3])
    mask = np.arange(TIME)[None, :] < lengths[:, None]
    padded = sequences * mask[..., None]
    layer = built_layer(variant)
    weights = randomise(layer)
    output = np.asarray(layer(padded, mask=mask, training=False))
    last, _ = reference_cells.run(
        reference_cells.STEPS[variant], weights, sequences.astype("float64"), N, mask
    )
    np.testing.assert_allclose(output, last, atol=TOLERANCE, rtol=TOLERANCE)
    # and each padded sequence alone, unpadded, gives the same state
    for row, length in enumerate(lengths):
        alone = np.asarray(layer(sequences[row : row + 1, :length], training=False))
        np.testing.assert_allclose(output[row : row + 1], alone, atol=TOLERANCE, rtol=TOLERANCE)


@pytest.mark.parametrize("variant", CUSTOM)
def test_go_backwards_reads_the_reversed_sequence(variant, sequences):
    forward = built_layer(variant)
    randomise(forward)
    backward = built_layer(variant, go_backwards=True)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(
        np.asarray(backward(sequences, training=False)),
        np.asarray(forward(sequences[:, ::-1], training=False)),
        atol=TOLERANCE,
    )


def test_mingru_parallel_scan_equals_sequential_scan(sequences):
    layer = built_layer("mingru", return_sequences=True)
    randomise(layer)
    cell: MinGRUCell = layer.cell
    projected = np.transpose(np.asarray(cell.project(sequences)), (1, 0, 2))
    mask = np.ones((TIME, BATCH, 1), dtype="float32")
    mask[4:, 1] = 0.0
    h0 = np.random.default_rng(3).normal(size=(BATCH, N)).astype("float32")
    last_seq, states_seq = super(MinGRUCell, cell).run(projected, mask, h0, None)
    last_par, states_par = cell.run_parallel(projected, mask, h0)
    np.testing.assert_allclose(np.asarray(states_par), np.asarray(states_seq), atol=TOLERANCE)
    np.testing.assert_allclose(np.asarray(last_par), np.asarray(last_seq), atol=TOLERANCE)


@pytest.mark.parametrize(
    "variant",
    # one built-in and one custom variant in the everyday loop; all of them in `make test`
    [v if v in ("gru", "mgu") else pytest.param(v, marks=pytest.mark.slow) for v in VARIANTS],
)
def test_bidirectional_trains_with_dropout_and_mask(variant, sequences):
    recurrent_dropout = 0.0 if variant == "mingru" else 0.2
    model = keras.Sequential(
        [
            keras.Input((None, M)),
            keras.layers.Masking(),
            keras.layers.Bidirectional(
                build_layer(variant, N, dropout=0.2, recurrent_dropout=recurrent_dropout)
            ),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse", jit_compile=True)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(sequences, np.ones(BATCH), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert model.predict(sequences, verbose=0).shape == (BATCH, 1)


@pytest.mark.parametrize("variant", CUSTOM)
def test_cell_and_layer_config_round_trip(variant):
    cell_class = custom_cell_class(variant)
    cell = cell_class(N)
    clone = cell_class.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config()
    registered = keras.saving.get_registered_object(keras.saving.get_registered_name(cell_class))
    assert registered is cell_class
    layer = build_layer(variant, N, return_sequences=True, dropout=0.1)
    twin = GatedRNN.from_config(layer.get_config())
    assert twin.get_config() == layer.get_config()


@pytest.mark.parametrize("variant", VARIANTS)
def test_keras_file_round_trip_in_safe_mode(variant, sequences, tmp_path):
    model = keras.Sequential(
        [keras.Input((TIME, M)), build_layer(variant, N), keras.layers.Dense(2)]
    )
    randomise(model)
    path = tmp_path / f"{variant}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        model.predict(sequences, verbose=0), loaded.predict(sequences, verbose=0)
    )


@pytest.mark.parametrize("variant", CUSTOM)
def test_pickle_round_trip(variant, sequences):
    layer = built_layer(variant)
    randomise(layer)
    clone = pickle.loads(pickle.dumps(layer))
    np.testing.assert_allclose(
        np.asarray(clone(sequences, training=False)),
        np.asarray(layer(sequences, training=False)),
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: build_layer("lstm", 4), "unknown GRU variant 'lstm'"),
        (lambda: build_layer("gru", 0), "units must be a positive integer"),
        (lambda: build_layer("mgu", -3), "units must be a positive integer"),
        (lambda: build_layer("mgu", 2.5), "units must be a positive integer"),
        (lambda: build_layer("gru", 4, dropout=1.0), r"dropout must lie in \[0, 1\)"),
        (lambda: build_layer("mgu", 4, recurrent_dropout=-0.1), "recurrent_dropout must lie"),
        (lambda: build_layer("mingru", 4, recurrent_dropout=0.2), "no recurrent weights"),
        (lambda: variant_info("nope"), "expected one of gru, gru_v1"),
        (lambda: custom_cell_class("gru"), "runs on keras.layers.GRU"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_wrong_input_rank_is_rejected():
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        build_layer("mgu", 4)(np.zeros((2, 3), dtype="float32"))


def test_variant_info_is_complete():
    for variant in VARIANTS:
        info = variant_info(variant)
        assert info.name == variant
        assert "h" in info.equations and info.reference and info.parameter_formula
        assert info.convention in {"keep", "forget"}
    assert variant_info("gru").fused_kernel
    assert not any(variant_info(v).fused_kernel for v in VARIANTS if v != "gru")


def test_a_gated_rnn_saved_before_it_took_a_cell_object_still_loads():
    # exports written before GatedRNN took a cell stored variant, units and cell options
    legacy = {
        "name": "gated",
        "trainable": True,
        "variant": "lngru",
        "units": 4,
        "return_sequences": False,
        "return_state": False,
        "go_backwards": True,
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
        "seed": 3,
        "zero_output_for_mask": False,
        "epsilon": 0.01,
    }
    layer = GatedRNN.from_config(legacy)
    assert isinstance(layer.cell, LNGRUCell)
    assert (layer.units, layer.variant, layer.go_backwards) == (4, "lngru", True)
    assert layer.cell.epsilon == 0.01
    assert tuple(layer(np.zeros((2, 5, 3), "float32")).shape) == (2, 4)


def test_the_variant_table_is_built_from_the_cell_classes():
    for variant, cell_class in registered_cells().items():
        assert cell_class.info is variant_info(variant)
        assert cell_class.variant == variant
    assert set(VARIANTS) == set(registered_cells()) | BUILTIN_VARIANTS


def test_a_gated_rnn_needs_a_cell_object():
    with pytest.raises(ValueError, match=r"cell must be a gate-variant cell such as MGUCell"):
        GatedRNN("mgu")
