"""The gateway's routing hint is what Ray's prefix-aware router can read (pure)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from gemma_serve.serve.gateway import routing_hint


def _router_text(hint: SimpleNamespace) -> Any:
    """The attribute lookup of Ray Serve LLM's PrefixCacheAffinityRouter, in its order."""
    for name in ("messages", "prompt"):
        if hasattr(hint, name):
            return getattr(hint, name)
    raise AssertionError("router would find nothing")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"prompt": "Once upon"}, "Once upon"),
        ({"messages": [{"role": "user", "content": "hi"}]}, [{"role": "user", "content": "hi"}]),
        ({"prompt": None}, ""),
        ({}, ""),
    ],
)
def test_hint_exposes_only_what_the_request_has(body: dict[str, Any], text: Any) -> None:
    assert _router_text(routing_hint(body)) == text
