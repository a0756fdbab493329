"""Process settings that must be in place before TensorFlow is first imported.

Imported first by :mod:`gru_search`. TensorFlow's C++ INFO lines (CPU features, oneDNN,
"XLA service initialized", repeated by every trial process) bury the search's own output;
warnings and errors still show. A value the user set wins.

``TF_CPP_MIN_LOG_LEVEL`` hides most of them, but TensorFlow 2.21 writes two INFO lines (and
absl's "All log messages before absl::InitializeLog()" notice) while it is imported, before
its logging reads that variable. So, when the level asks to hide INFO lines, TensorFlow is
imported here with the process's standard error captured, and everything it wrote except
those INFO lines is written back.
"""

import importlib.util
import logging
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

#: Lines TensorFlow's import writes below warning level: absl INFO lines (``I0000 ...``),
#: absl's notice that logging is not set up yet, and the CPU-feature INFO line's sequel.
_STARTUP_INFO = re.compile(
    r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog\(\)|"
    r"To enable the following instructions: )"
)


def _wants_quiet_tensorflow() -> bool:
    if "tensorflow" in sys.modules or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return False
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0"):
        return False  # the user asked for INFO lines
    return importlib.util.find_spec("tensorflow") is not None


def _import_tensorflow_quietly() -> None:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return  # no usable file descriptor 2: leave TensorFlow to Keras
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [
                line for line in text.splitlines(keepends=True) if not _STARTUP_INFO.match(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _NoRetracingNotice(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing".

    A search builds a new model for every trial, fold and finalist and predicts with each:
    every one traces its own predict function by design, so the notice (a paragraph,
    repeated through a search's output) is always a false alarm here.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())

if _wants_quiet_tensorflow():
    _import_tensorflow_quietly()
