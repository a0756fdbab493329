"""Process settings that must be in place before TensorFlow is first imported.

Imported first by :mod:`gru_search`. TensorFlow's C++ INFO lines (CPU features, "XLA
service initialized", repeated by every trial process) bury the search's own output;
warnings and errors still show. A value the user set wins.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
