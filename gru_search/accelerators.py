"""Which device trains, and a warning when an NVIDIA GPU sits idle.

``pip install gru-search`` on x86-64 brings ``tensorflow-cpu`` (the default Keras
backend), which cannot use a GPU; a user with a GPU would train on the CPU without knowing.
:func:`warn_if_gpu_unused` says so in one line, once per process tree, when
``nvidia-smi`` lists a GPU that the Keras backend does not see. :func:`training_device`
names the device a model trains on (estimators and trials record it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

#: Set once the check ran, so that trial processes and workers do not repeat it.
CHECKED_VARIABLE = "GRU_SEARCH_GPU_CHECKED"


def nvidia_gpus() -> list[str]:
    """The GPUs ``nvidia-smi -L`` lists (``"GPU 0: NVIDIA H100 ..."``), or [] without one."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return []  # a driver that does not answer: nothing this check can say
    return [line.strip() for line in listing.stdout.splitlines() if line.startswith("GPU ")]


def backend_gpus() -> list[str]:
    """The GPU devices the Keras backend sees (imports it)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [device.name for device in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(device) for device in jax.devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        return [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    return []


def training_device() -> str:
    """``"GPU"`` when the Keras backend trains on a GPU here, else ``"CPU"``.

    With several visible GPUs the backend uses the first (``CUDA_VISIBLE_DEVICES`` picks
    which one a process sees).
    """
    return "GPU" if backend_gpus() else "CPU"


def gpu_warning() -> str | None:
    """The warning for this machine, or None when no GPU is idle because of gru-search."""
    listed = nvidia_gpus()
    if not listed or backend_gpus():
        return None
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = f"tensorflow-cpu {version('tensorflow-cpu')}"
        except PackageNotFoundError:
            installed = "TensorFlow"
        why = f"{installed} was built without CUDA"
    else:
        why = f"the installed {backend} has no CUDA support"
    count = f"{len(listed)} GPU" + ("s" if len(listed) > 1 else "")
    return (
        f"gru-search: WARNING: nvidia-smi lists {count} ({listed[0].split(' (UUID')[0]}) but "
        f"the Keras backend '{backend}' sees none ({why}), so training runs on the CPU. "
        "For the GPU: pip install 'gru-search[gpu]' and export KERAS_BACKEND=jax "
        "(README 'GPUs')."
    )


def warn_if_gpu_unused() -> str | None:
    """Print :func:`gpu_warning` to standard error once per process tree; return it."""
    if os.environ.get(CHECKED_VARIABLE):
        return None
    os.environ[CHECKED_VARIABLE] = "1"  # inherited by trial processes and workers
    message = gpu_warning()
    if message:
        print(message, file=sys.stderr, flush=True)
    return message
