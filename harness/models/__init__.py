"""Models resolved by name: the offline default and the paper's BERT family."""

from .registry import MODELS, ModelSpec, model_names, resolve_model
from .load import LoadedModel, load_model, model_config

__all__ = ["MODELS", "ModelSpec", "model_names", "resolve_model", "LoadedModel", "load_model",
           "model_config"]
