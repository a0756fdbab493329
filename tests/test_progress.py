"""A terminal `gru-search run` shows live progress while its trials run in child processes."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest
import yaml

from tests.toy_data import trend_npz

SPACE = {
    "name": "progress",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [4, 8]},
    },
    "params": {"cell": {"type": "categorical", "choices": ["gru", "mgu"]}},
    "fixed": {"batch_size": 16, "learning_rate": 0.02, "jit_compile": False},
    "training": {"epochs": 3, "pruning_warmup": 3, "finalists": 1},
}


def run_in_terminal(command: list[str], timeout: float = 600) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as its standard output and error."""
    leader, follower = pty.openpty()
    # a new pseudo-terminal is 0 columns wide; a terminal window is not
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer of the terminal has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.slow
def test_a_terminal_run_shows_progress_after_every_trial(tmp_path):
    data = trend_npz(tmp_path / "toy.npz", n=40, steps=8)
    space = tmp_path / "progress.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    command = [sys.executable, "-m", "gru_search.cli", "run", "--data", str(data)]
    command += ["--space", str(space), "--trials", "3", "--trials-per-process", "1"]
    code, text = run_in_terminal([*command, "--out", str(tmp_path / "out")])
    assert code == 0, text[-3000:]
    # every state of the bar, in order, between the trials' own lines
    counts = [int(n) for n in re.findall(r"trials: *\d+%\|[^\r\n]*?\| (\d)/3", text)]
    assert counts, text[-3000:]
    assert sorted(set(counts)) == [0, 1, 2, 3] and counts == sorted(counts), counts
    first = {n: text.index(f"| {n}/3") for n in (1, 2, 3)}
    lines = {n: text.index(f"[gru-search] trial {n - 1} ") for n in (1, 2, 3)}
    assert all(lines[n] < first[n] for n in (1, 2, 3))  # updated once each trial ended
    assert lines[2] > first[1] and lines[3] > first[2]  # ... not only at the end
    assert re.search(r"\| 3/3 \[[^\]]*, best accuracy=1\.0000\]", text), text[-2000:]
    # the children's lines are printed above the bar, never glued to it
    assert not re.search(r"\|[^\r\n|]*\[gru-search\]", text)
