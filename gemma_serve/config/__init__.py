"""Typed deployment configuration: models, loading and layering."""

from gemma_serve.config.loader import EMBEDDED_270M, default_config, load_config, validate_config
from gemma_serve.config.models import (
    AutoscalingConfig,
    ClusterConfig,
    DeploymentConfig,
    EngineConfig,
    HardwareConfig,
    ModelConfig,
    MultimodalConfig,
    ServerConfig,
)
from gemma_serve.config.tools import ToolsConfig

__all__ = [
    "EMBEDDED_270M",
    "AutoscalingConfig",
    "ClusterConfig",
    "DeploymentConfig",
    "EngineConfig",
    "HardwareConfig",
    "ModelConfig",
    "MultimodalConfig",
    "ServerConfig",
    "ToolsConfig",
    "default_config",
    "load_config",
    "validate_config",
]
