"""`flavour: pt`: chat responses carry a Warning header, nothing else does."""

from __future__ import annotations

from typing import Any

import httpx

from gemma_serve.api.flavour import PretrainedChatWarning


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def test_only_chat_answers_are_marked() -> None:
    app = PretrainedChatWarning(_ok, model="gemma-3-270m")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        chat = await c.post("/v1/chat/completions", json={})
        text = await c.post("/v1/completions", json={})
    assert chat.headers["warning"].startswith('299 gemma-serve "gemma-3-270m is a pretrained')
    assert "warning" not in text.headers
