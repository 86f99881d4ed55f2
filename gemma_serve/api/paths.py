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
#: One model's card (`GET /v1/models/{id}`; an id may contain "/", as `google/gemma-3-1b-it`).
MODEL = MODELS + "/{id}"
COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
MESSAGES = "/v1/messages"
#: POST paths that run the engine (measured; a LoRA adapter's name served on each).
GENERATION_PATHS = frozenset({COMPLETIONS, CHAT, RESPONSES, MESSAGES})
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
    MODEL: _GET,
    COMPLETIONS: _POST,
    CHAT: _POST,
    RESPONSES: _POST,
    MESSAGES: _POST,
    "/v1/messages/count_tokens": _POST,
    "/tokenize": _POST,
    "/detokenize": _POST,
    LOAD_LORA: _POST,
    UNLOAD_LORA: _POST,
}
#: vLLM 0.32 app routes gemma-serve does not expose (each answers the edge's 404), by why.
#: README "Endpoints" lists them; tests/e2e/test_edge.py sends each on both shapes.
NOT_EXPOSED: Mapping[str, tuple[str, ...]] = {
    "prompt rendering without generation (vLLM's debugging aid)": (
        "/v1/completions/render", "/v1/chat/completions/render", "/v1/responses/render",
        "/v1/messages/render", "/v1/completions/derender", "/v1/chat/completions/derender",
    ),
    "stored responses (vLLM keeps them in one replica's memory: a second replica or a "
    "restart loses them)": ("/v1/responses/{id}", "/v1/responses/{id}/cancel"),
    "batch, token-in and other vendors' APIs": (
        "/v1/chat/completions/batch", "/inference/v1/generate", "/invocations",
        "/cohere/v2/chat", "/v1/systemone",
    ),
    "pooling, embedding, scoring and audio (a generative Gemma 3 serves none)": (
        "/pooling", "/classify", "/v1/embeddings", "/v2/embed", "/score", "/v1/score",
        "/rerank", "/v1/rerank", "/v2/rerank", "/generative_scoring",
        "/v1/audio/transcriptions", "/v1/audio/translations",
    ),
    "probes and server facts (`/health` answers for the deployment)": (
        "/ping", "/ready", "/readyz", "/load", "/version", "/server_info", "/tokenizer_info",
    ),
    "engine control and dev mode (sleep, pause, profiling, caches, weights, elastic scaling, "
    "fault tolerance)": (
        "/sleep", "/wake_up", "/is_sleeping", "/pause", "/resume", "/is_paused",
        "/start_profile", "/stop_profile", "/reset_prefix_cache", "/reset_mm_cache",
        "/reset_encoder_cache", "/release_kv_cache_memory", "/abort_requests",
        "/collective_rpc", "/get_world_size", "/kv_event_sources", "/update_weights",
        "/start_weight_update", "/finish_weight_update", "/update_weight_version",
        "/weight_info", "/weight_checker", "/init_weight_transfer_engine",
        "/shutdown_weight_transfer_engine", "/start_draft_weight_update",
        "/scale_elastic_ep", "/is_scaling_elastic_ep", "/fault_tolerance/apply",
        "/fault_tolerance/status",
    ),
    "API docs": ("/docs", "/redoc", "/openapi.json"),
}  # fmt: skip
#: Routes open without an API key: probes, and the scrape (counts, never content).
OPEN_PATHS = frozenset({HEALTH, METRICS})
#: POST routes whose body names the model that serves them (required there).
MODEL_ROUTED_PATHS = frozenset(
    path for path, methods in ROUTES.items() if methods == _POST and path not in ADMIN_PATHS
)


def route_of(path: str) -> str:
    """The `ROUTES` key `path` matches: itself, or `MODEL` for `/v1/models/<id>`."""
    rest = path.removeprefix(MODELS + "/")
    return MODEL if rest != path and rest else path


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


def not_exposed_markdown() -> str:
    """README's list of vLLM routes the edge answers 404 (`make regen`)."""
    return "\n".join(
        f"- {why}: " + ", ".join(f"`{p}`" for p in paths) for why, paths in NOT_EXPOSED.items()
    )
