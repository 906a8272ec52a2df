"""Typed, validated stack configuration: shared parts in `base`, one module per stage.

Importers use this package's names; the modules behind it are an implementation detail.
"""

from infra.config.aca import AcaConfig
from infra.config.base import (
    NAMESPACE,
    REPO_ROOT,
    SECRET_PLACEHOLDER,
    ConfigError,
    ResourcesConfig,
    SidecarResources,
    StackConfig,
    parse_image,
)
from infra.config.kubernetes import RedisConfig
from infra.config.loading import STAGE_MODELS, decode_pulumi_values, load_config
from infra.config.oci import OciStackConfig
from infra.config.planet import PlanetStackConfig
from infra.config.prototype import PrototypeConfig, read_kind_config

__all__ = [
    "NAMESPACE",
    "REPO_ROOT",
    "SECRET_PLACEHOLDER",
    "STAGE_MODELS",
    "AcaConfig",
    "ConfigError",
    "OciStackConfig",
    "PlanetStackConfig",
    "PrototypeConfig",
    "RedisConfig",
    "ResourcesConfig",
    "SidecarResources",
    "StackConfig",
    "decode_pulumi_values",
    "load_config",
    "parse_image",
    "read_kind_config",
]
