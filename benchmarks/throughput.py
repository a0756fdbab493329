"""Training throughput of every gate variant against plain ``keras.layers.GRU``.

Each contender trains a one-layer model (recurrent layer + softmax head) on random
sequences. The baseline is ``keras.layers.GRU`` with Keras' defaults and no XLA, i.e. what
a user writes by hand. The contenders are built exactly as ``GRUClassifier`` builds them
(``gru_search.model.build_model`` with its default compile settings), twice: reading one
time step per recurrent step (``patch_size=1``, the like-for-like comparison of the
recurrent kernels) and reading the input the way ``GRUClassifier`` does by default
(``patch_size="auto"``: 150 steps become 30 patches of 5 steps; 50 steps become 25 of 2).

Machines here are shared and noisy: all contenders are timed in interleaved rounds
in one process, and each figure is the median over rounds of one timed epoch.

Usage::

    python benchmarks/throughput.py                         # both shapes, every variant
    python benchmarks/throughput.py --variants gru mgu --rounds 3 --sequences 1024
    python benchmarks/throughput.py --markdown results.md   # also write a Markdown table
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass

import keras
import numpy as np

from gru_search.cells import VARIANTS
from gru_search.data import fold_patches, resolve_patch_size
from gru_search.model import GRUConfig, build_model


@dataclass(frozen=True)
class Shape:
    batch: int
    steps: int
    features: int
    units: int

    def __str__(self) -> str:
        return f"{self.batch}x{self.steps}x{self.features}, {self.units} units"


SHAPES = (Shape(64, 150, 1, 64), Shape(64, 50, 8, 128))
BASELINE = "keras.layers.GRU (plain)"


def plain_gru_model(shape: Shape) -> keras.Model:
    """What a user writes by hand: keras.layers.GRU with Keras' defaults."""
    model = keras.Sequential(
        [
            keras.Input((shape.steps, shape.features)),
            keras.layers.GRU(shape.units),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    # Keras' default: on a TensorFlow CPU that means no XLA; on JAX, jit
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile="auto")
    return model


def our_model(variant: str, input_shape: tuple[int, int], units: int) -> keras.Model:
    config = GRUConfig(units=(units,), cell=variant)
    return build_model(config, input_shape, task="classification", n_outputs=2)


def measure(
    shape: Shape, variants: list[str], sequences: int, rounds: int, patched: bool
) -> dict[str, float]:
    """Median seconds per epoch of every contender, timed in interleaved rounds."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((sequences, shape.steps, shape.features)).astype("float32")
    y = rng.integers(0, 2, sequences)
    contenders = {BASELINE: (plain_gru_model(shape), x)}
    for variant in variants:
        contenders[variant] = (our_model(variant, x.shape[1:], shape.units), x)
    if patched:
        # the folding happens once per fit, in NumPy, before Keras sees the data
        patch = resolve_patch_size("auto", shape.steps)
        folded = fold_patches(x, None, patch)[0]
        for variant in variants:
            model = our_model(variant, folded.shape[1:], shape.units)
            contenders[f"{variant} (patch {patch})"] = (model, folded)
    for model, inputs in contenders.values():  # compile (tracing, XLA) outside the timing
        model.fit(
            inputs[: 2 * shape.batch], y[: 2 * shape.batch], batch_size=shape.batch, verbose=0
        )
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for round_index in range(rounds):
        for name, (model, inputs) in contenders.items():
            start = time.perf_counter()
            model.fit(inputs, y, batch_size=shape.batch, epochs=1, verbose=0, shuffle=False)
            seconds[name].append(time.perf_counter() - start)
        print(f"  round {round_index + 1}/{rounds} done", flush=True)
    return {name: statistics.median(values) for name, values in seconds.items()}


def table(shape: Shape, seconds: dict[str, float], sequences: int) -> str:
    base = seconds[BASELINE]
    lines = [
        f"Shape {shape} ({sequences} sequences per epoch)",
        "",
        "| model | s/epoch | sequences/s | ratio to plain GRU |",
        "|---|---:|---:|---:|",
    ]
    for name, value in seconds.items():
        lines.append(f"| {name} | {value:.3f} | {sequences / value:,.0f} | {base / value:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--sequences", type=int, default=2048, help="sequences per epoch")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per contender")
    parser.add_argument("--shapes", nargs="+", type=int, default=[0, 1], help="indices of SHAPES")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument(
        "--no-patch", action="store_true", help="skip the patch_size='auto' contenders"
    )
    args = parser.parse_args()

    header = (
        f"backend {keras.backend.backend()}, keras {keras.__version__}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.python_version()}"
    )
    print(header)
    outputs = [header]
    for index in args.shapes:
        shape = SHAPES[index]
        print(f"shape {shape}", flush=True)
        seconds = measure(shape, args.variants, args.sequences, args.rounds, not args.no_patch)
        text = table(shape, seconds, args.sequences)
        print(text, flush=True)
        outputs.append(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write("\n\n".join(outputs) + "\n")


if __name__ == "__main__":
    main()
