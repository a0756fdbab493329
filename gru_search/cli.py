"""The ``gru-search`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def load_aeon(name: str) -> tuple:
    """Train and test split of a UCR/UEA dataset shipped inside aeon, channels last."""
    from aeon.datasets import load_classification

    try:
        X_train, y_train = load_classification(name, split="train")
        X_test, y_test = load_classification(name, split="test")
    except Exception as error:  # aeon raises several types for an unknown name
        raise CommandError(f"cannot load aeon dataset {name!r}: {error}") from None
    return X_train.transpose(0, 2, 1), y_train, X_test.transpose(0, 2, 1), y_test


def _fit(args: argparse.Namespace) -> int:
    from gru_search import GRUClassifier

    source, _, name = args.data.partition(":")
    if source != "aeon" or not name:
        raise CommandError(
            f"--data must look like aeon:NAME (e.g. aeon:GunPoint), got {args.data!r}"
        )
    X_train, y_train, X_test, y_test = load_aeon(name)
    print(
        f"{name}: {len(X_train)} training and {len(X_test)} test sequences of "
        f"{X_train.shape[1]} steps x {X_train.shape[2]} features",
        flush=True,
    )
    units = tuple(int(u) for u in args.units.split(","))
    model = GRUClassifier(
        units=units,
        cell=args.cell,
        epochs=args.epochs,
        random_state=args.random_state,
        verbose=2 if args.verbose else 0,
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"trained {args.cell} {units} for {model.n_iter_} epochs in {seconds:.1f} s")
    print(f"test accuracy: {model.score(X_test, y_test):.4f}")
    return 0


def _variants(args: argparse.Namespace) -> int:
    from gru_search.cells import VARIANTS, variant_info

    for name in VARIANTS:
        info = variant_info(name)
        fused = "fused" if info.fused_kernel else "     "
        print(f"{name:8s} {fused}  params {info.parameter_formula:16s} {info.reference}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gru-search",
        description="Search GRU sequence models and export the winner as an sklearn estimator.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser(
        "fit", help="train one GRUClassifier on a dataset and report its test accuracy"
    )
    fit.add_argument("--data", default="aeon:GunPoint", help="aeon:NAME (default aeon:GunPoint)")
    fit.add_argument("--cell", default="gru", help="gate variant (see `gru-search variants`)")
    fit.add_argument("--units", default="64", help="comma-separated layer widths, e.g. 64,32")
    fit.add_argument("--epochs", type=int, default=100)
    fit.add_argument("--random-state", type=int, default=0)
    fit.add_argument("--verbose", action="store_true", help="one line per epoch")
    fit.set_defaults(handler=_fit)
    variants = commands.add_parser("variants", help="list the gate variants")
    variants.set_defaults(handler=_variants)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gru-search`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (CommandError, ValueError) as error:
        print(f"gru-search: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gru-search: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
