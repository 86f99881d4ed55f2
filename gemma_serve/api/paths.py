"""The routes the API serves, named once.

Every edge layer that treats some requests differently matches them here:
the edge answers 404 for a path not in `ROUTES` and 405 for a method a path
does not take (the same on every shape); generation requests (metrics, images,
admission) are matched through `is_generation`; requests the multi-model
gateway routes by their `model` field through `is_model_routed`; the LoRA
adapter admin calls (which need an API key) through `ADMIN_PATHS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HEALTH = "/health"
METRICS = "/metrics"
MODELS = "/v1/models"
COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
#: POST paths that run the engine.
GENERATION_PATHS = frozenset({COMPLETIONS, CHAT})
LOAD_LORA = "/v1/load_lora_adapter"
UNLOAD_LORA = "/v1/unload_lora_adapter"
#: POST paths that change a model's dynamic LoRA adapters (vLLM's bodies, our cache).
ADMIN_PATHS = frozenset({LOAD_LORA, UNLOAD_LORA})

_GET = frozenset({"GET"})
_POST = frozenset({"POST"})
#: Every route of the API and the methods it takes. vLLM's app serves more
#: (docs, render, elastic scaling, ...): those are not exposed and answer 404.
ROUTES: Mapping[str, frozenset[str]] = {
    HEALTH: _GET,
    METRICS: _GET,
    MODELS: _GET,
    COMPLETIONS: _POST,
    CHAT: _POST,
    "/v1/responses": _POST,
    "/v1/messages": _POST,
    "/v1/messages/count_tokens": _POST,
    "/tokenize": _POST,
    "/detokenize": _POST,
    LOAD_LORA: _POST,
    UNLOAD_LORA: _POST,
}
#: Routes open without an API key: probes, and the scrape (counts, never content).
OPEN_PATHS = frozenset({HEALTH, METRICS})
#: POST routes whose body names the model that serves them (required there).
MODEL_ROUTED_PATHS = frozenset(
    path for path, methods in ROUTES.items() if methods == _POST and path not in ADMIN_PATHS
)


def is_generation(scope: Mapping[str, Any]) -> bool:
    """Whether this ASGI scope is a generation request."""
    return (
        scope["type"] == "http"
        and scope.get("method") == "POST"
        and scope.get("path") in GENERATION_PATHS
    )


def is_admin(scope: Mapping[str, Any]) -> bool:
    """Whether this ASGI scope is a LoRA adapter admin call."""
    return scope["type"] == "http" and scope.get("path") in ADMIN_PATHS


def is_model_routed(scope: Mapping[str, Any]) -> bool:
    """Whether this ASGI scope is a request whose body names its model."""
    return (
        scope["type"] == "http"
        and scope.get("method") == "POST"
        and scope.get("path") in MODEL_ROUTED_PATHS
    )
