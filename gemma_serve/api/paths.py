"""The generation endpoints of the API, named once.

Every edge layer that treats generation requests differently (required
`model`, images, admission, metrics) matches them through `is_generation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
#: POST paths that run the engine.
GENERATION_PATHS = frozenset({COMPLETIONS, CHAT})


def is_generation(scope: Mapping[str, Any]) -> bool:
    """Whether this ASGI scope is a generation request."""
    return (
        scope["type"] == "http"
        and scope.get("method") == "POST"
        and scope.get("path") in GENERATION_PATHS
    )
