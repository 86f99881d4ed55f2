"""A fake OpenAI streaming server as an httpx transport (no sockets, no vLLM).

Imported by the tests as `fake_openai` (pytest puts this directory on sys.path).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class FakeOpenAI:
    """Streams `max_tokens` one-token chunks: first after `ttft_s`, then every `itl_s`.

    Records every request body and the peak number of requests in flight.
    """

    ttft_s: float = 0.0
    itl_s: float = 0.0
    status: int = 200
    role_chunk: bool = True
    usage: bool = True
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if self.status != 200:
            return httpx.Response(
                self.status, json={"error": {"message": "overloaded", "type": "overloaded"}}
            )
        chat = request.url.path.endswith("/chat/completions")
        n = body.get("max_completion_tokens", body.get("max_tokens", 1))
        return httpx.Response(200, content=self._stream(n, chat))

    async def _stream(self, n: int, chat: bool) -> AsyncIterator[bytes]:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.ttft_s)
            for i in range(n):
                if i:
                    await asyncio.sleep(self.itl_s)
                if chat:
                    if i == 0 and self.role_chunk:
                        role = {
                            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]
                        }
                        yield f"data: {json.dumps(role)}\n\n".encode()
                    choice = {"index": 0, "delta": {"content": f" w{i}"}}
                else:
                    choice = {"index": 0, "text": f" w{i}"}
                yield f"data: {json.dumps({'choices': [choice]})}\n\n".encode()
            if self.usage:
                usage = {"prompt_tokens": 7, "completion_tokens": n, "total_tokens": 7 + n}
                yield f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode()
            yield b"data: [DONE]\n\n"
        finally:
            self.in_flight -= 1
