"""Configuration: the typed schema (CONTRACTS §4) and the Hydra-based loader."""

from toolchain.config.loader import LoadedConfig, load_config, validate
from toolchain.config.schema import MODE_STEPS, OPERATION_MODES, ReidConfig

__all__ = ["LoadedConfig", "MODE_STEPS", "OPERATION_MODES", "ReidConfig", "load_config", "validate"]
