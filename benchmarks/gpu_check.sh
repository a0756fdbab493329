#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and PyTorch or JAX, without TensorFlow and
# without network access.
#
#   bash benchmarks/gpu_check.sh --download   # where pip reaches PyPI: fill .whl/
#   bash benchmarks/gpu_check.sh [jax|torch]  # on the GPU machine, from the repo root
#
# The first form downloads Keras, Optuna and their pure dependencies for CPython 3.12 on
# x86-64 Linux, and builds gru-search's own wheel, into .whl/ (git-ignored; carry it along
# with the working tree). The second installs them into /tmp/gru-site without touching the
# machine's packages, then, on the chosen Keras backend (default jax):
#   1. training throughput of a few variants on the GPU, then the same on the CPU of the
#      same machine, side by side (benchmarks/throughput.py);
#   2. a short GRUSearchCV study on the GPU;
#   3. trials per hour of the default space with K = 1, 2, 4, 8 trial processes on one
#      card (benchmarks/trials_per_hour.py), and with one on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${WHEELS:-.whl}"
PYTHON="${PYTHON:-python3}"

if [ "${1:-}" = "--download" ]; then
    mkdir -p "$WHEELS"
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" \
        keras namex optree optuna sqlalchemy alembic colorlog mako optuna-dashboard bottle tqdm
    "$PYTHON" -m pip wheel -q --no-deps -w "$WHEELS" .
    ls "$WHEELS"
    exit 0
fi

BACKEND="${1:-jax}"
case "$BACKEND" in jax|torch) ;; *) echo "backend must be jax or torch" >&2; exit 2;; esac
ls "$WHEELS"/gru_search-*.whl >/dev/null 2>&1 || {
    echo "no wheels in $WHEELS: run 'bash benchmarks/gpu_check.sh --download' where pip works" >&2
    exit 2
}
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gru-site "$WHEELS"/*.whl
export PYTHONPATH=/tmp/gru-site PYTHONUNBUFFERED=1 KERAS_BACKEND="$BACKEND"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# inline programs run from /tmp, so they import the installed wheel, not the checkout
run_py() { (cd /tmp && "$PYTHON" -); }
run_py <<'PY'
import keras, gru_search
print(f"gru-search {gru_search.__version__} from {gru_search.__file__}")
print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
PY

VARIANTS=(gru gru_v1 mgu mingru)
echo "== throughput on the GPU ($BACKEND)"
"$PYTHON" benchmarks/throughput.py --variants "${VARIANTS[@]}" --sequences 2048 --rounds 2 \
    --shapes 0 1 --no-patch --markdown /tmp/gpu-throughput.md
echo "== the same on this machine's CPU"
if [ "$BACKEND" = jax ]; then export JAX_PLATFORMS=cpu; else export CUDA_VISIBLE_DEVICES=""; fi
"$PYTHON" benchmarks/throughput.py --variants "${VARIANTS[@]}" --sequences 2048 --rounds 2 \
    --shapes 0 1 --no-patch --markdown /tmp/cpu-throughput.md
unset JAX_PLATFORMS CUDA_VISIBLE_DEVICES
run_py <<'PY'
import re
def rates(path):
    table = {}
    shape = None
    for line in open(path):
        if line.startswith("Shape"):
            shape = line.split("(")[0].strip()
        match = re.match(r"\| (.+?) \| [\d.]+ \| ([\d,]+) \|", line)
        if match and shape:
            table[(shape, match.group(1))] = int(match.group(2).replace(",", ""))
    return table
gpu, cpu = rates("/tmp/gpu-throughput.md"), rates("/tmp/cpu-throughput.md")
print("| shape | model | GPU sequences/s | CPU sequences/s | GPU / CPU |")
print("|---|---|---:|---:|---:|")
for key in gpu:
    if key in cpu:
        print(f"| {key[0]} | {key[1]} | {gpu[key]:,} | {cpu[key]:,} | {gpu[key] / cpu[key]:.1f}x |")
PY

echo "== a short search on the GPU"
run_py <<'PY'
import time
import numpy as np
from gru_search import GRUClassifier, GRUSearchCV
rng = np.random.default_rng(0)
y = rng.integers(0, 2, 512)
X = np.linspace(-1, 1, 100)[None, :] * (2 * y[:, None] - 1) + rng.normal(size=(512, 100))
start = time.perf_counter()
search = GRUSearchCV(GRUClassifier(), space="quick", n_trials=4, random_state=0, verbose=1)
search.fit(X[:384], y[:384])
print(f"search: {len(search.study_.trials)} trials in {time.perf_counter() - start:.1f} s; "
      f"held-out accuracy {search.score(X[384:], y[384:]):.3f}")
print(search.leaderboard()[["trial", "state", "value", "cell", "units", "mean_epoch_seconds"]])
PY

echo "== trials per hour of the default space: K trial processes on one GPU, then the CPU"
"$PYTHON" benchmarks/trials_per_hour.py --device gpu --k 1 2 4 8 --seconds 60
"$PYTHON" benchmarks/trials_per_hour.py --device cpu --k 1 --seconds 60
