"""gru-search: search GRU sequence models and export the winner as a scikit-learn estimator."""

from gru_search import _environment  # noqa: F401  (before anything imports TensorFlow)
from gru_search.cells import VARIANTS, build_layer, variant_info
from gru_search.data import SequenceBatch, SequenceScaler, check_sequences, sequences_from_long
from gru_search.estimators import GRUClassifier, GRURegressor
from gru_search.export import load, save
from gru_search.forecast_search import GRUForecastSearch
from gru_search.forecasting import GRUForecaster
from gru_search.model import GRUConfig, build_model
from gru_search.search import GRUSearchCV
from gru_search.spaces import SearchSpace, SpaceError, load_space
from gru_search.text import GRUTextClassifier

__version__ = "0.1.0"

__all__ = [
    "VARIANTS",
    "GRUClassifier",
    "GRUConfig",
    "GRUForecastSearch",
    "GRUForecaster",
    "GRURegressor",
    "GRUSearchCV",
    "GRUTextClassifier",
    "SearchSpace",
    "SequenceBatch",
    "SequenceScaler",
    "SpaceError",
    "__version__",
    "build_layer",
    "build_model",
    "check_sequences",
    "load",
    "load_space",
    "save",
    "sequences_from_long",
    "variant_info",
]
