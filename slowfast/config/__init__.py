"""Config: PySlowFast-compatible yacs defaults plus our own keys."""
from slowfast.config.defaults import get_cfg
from slowfast.config.load import ConfigError, load_config

__all__ = ["get_cfg", "load_config", "ConfigError"]
