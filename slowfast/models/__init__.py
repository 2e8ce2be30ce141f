"""Models: a registry of architectures and ``build_model(cfg)``."""
from slowfast.models.registry import ARCHS, ModelBuildError, build_model

__all__ = ["ARCHS", "ModelBuildError", "build_model"]
