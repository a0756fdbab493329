"""Execute the notebooks with their full budget and store their outputs in the files.

The notebooks are committed with their outputs, so that they read as results on GitHub
without running anything. Refresh them after a change that alters what they show::

    .venv/bin/python notebooks/refresh_outputs.py            # all of them
    .venv/bin/python notebooks/refresh_outputs.py text       # one, by name

Each runs in a new temporary folder (its run folders and exports go there, not into the
checkout), in a real Jupyter kernel, with ``GRU_SEARCH_NOTEBOOK_BUDGET=full``. CI runs
the same notebooks with the small budget (tests/test_notebooks.py) without touching the
files.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent


def refresh(path: Path) -> float:
    """Execute ``path`` in place; return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gru-search-notebook-") as folder:
        NotebookClient(
            notebook,
            timeout=3600,
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
        ).execute()
    for cell in notebook.cells:  # timings change every run: keep the diff to the outputs
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    args = parser.parse_args(argv)
    os.environ["GRU_SEARCH_NOTEBOOK_BUDGET"] = "full"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    paths = sorted(FOLDER.glob("*.ipynb"))
    if args.names:
        wanted = {name.removesuffix(".ipynb") for name in args.names}
        unknown = wanted - {path.stem for path in paths}
        if unknown:
            parser.error(f"no notebook named {', '.join(sorted(unknown))} in {FOLDER}")
        paths = [path for path in paths if path.stem in wanted]
    for path in paths:
        print(f"executing {path.name} ...", flush=True)
        print(f"  {refresh(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
