"""What `flavour: pt` changes at the edge: chat on a pretrained model is answered, with a warning.

A `pt` checkpoint continues text; it was never trained on Gemma's chat turns, so
its chat answers are rarely what a client wants. gemma-serve still serves them
(the embedded 270M is `pt`, and its template renders the turns), and says so on
every chat response in a standard `Warning` header (RFC 9111 code 299), which
OpenAI clients expose as a response header. `it` models get no header.
"""

from __future__ import annotations

from typing import Any

from gemma_serve.api.paths import CHAT


def pretrained_chat_warning(model: str) -> str:
    """The warning text of a chat answer from a `pt` model."""
    return (
        f'299 gemma-serve "{model} is a pretrained (pt) checkpoint: chat answers need an '
        'instruction-tuned (it) one; /v1/completions continues text"'
    )


class PretrainedChatWarning:
    """Pure ASGI: add the `Warning` header to chat responses of a `pt` model."""

    def __init__(self, app: Any, *, model: str) -> None:
        self.app = app
        self._header = (b"warning", pretrained_chat_warning(model).encode())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != CHAT:
            await self.app(scope, receive, send)
            return

        async def send_with_warning(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self.app(scope, receive, send_with_warning)
