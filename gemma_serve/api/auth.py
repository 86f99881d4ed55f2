"""Optional API keys: `Authorization: Bearer <key>`, compared in constant time.

Keys come from an environment variable (comma-separated) and/or a file with
one key per line (a mounted Kubernetes Secret). No keys configured = no auth.
The 401 never says whether the header was missing or the key was wrong.
Without keys the LoRA adapter admin calls are closed (`AdminClosed`). Which
key matched is left in the request's state (`caller`), for the layers after
auth (per-key quotas) to read; the key itself never is.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gemma_serve.api.paths import is_admin
from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ConfigError, Unauthorized

#: Where auth leaves the matched key's position (0-based) in the request's `state`.
CALLER = "gemma_serve.caller"


def load_api_keys(server: ServerConfig, env: dict[str, str] | None = None) -> list[bytes]:
    """Every configured key, from the environment variable and the key file."""
    env = dict(os.environ) if env is None else env
    keys = [k.strip() for k in env.get(server.api_keys_env, "").split(",")]
    if server.api_keys_file:
        try:
            keys += Path(server.api_keys_file).read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"server.api_keys_file: cannot read: {exc.strerror}") from None
    return [k.strip().encode() for k in keys if k.strip()]


def caller(scope: dict[str, Any]) -> int | None:
    """The position of the key this request presented, once auth has run."""
    state = scope.get("state")
    return state.get(CALLER) if isinstance(state, dict) else None


class ApiKeyAuth:
    """Reject every request without a valid bearer key with a 401 (OpenAI-style JSON).

    Routes open without a key (`/health`, `/metrics`) are answered before it.
    """

    def __init__(
        self, app: Any, *, keys: list[bytes], on_reject: Callable[[], None] = lambda: None
    ) -> None:
        self.app = app
        self._keys = keys
        self._on_reject = on_reject

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            matched = self._match(scope)
            if matched is None:
                self._on_reject()
                raise Unauthorized("invalid or missing API key")
            scope.setdefault("state", {})[CALLER] = matched
        await self.app(scope, receive, send)

    def _match(self, scope: dict[str, Any]) -> int | None:
        presented = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    presented = token.strip()
                break
        # Compare against every key, always, so timing does not reveal which one matched.
        matched = None
        for i, key in enumerate(self._keys):
            if hmac.compare_digest(presented, key):
                matched = i
        return matched


class AdminClosed:
    """Without API keys: 401 for the LoRA adapter admin calls, everything else passes.

    Loading an adapter runs new weights on the engine; nobody may do that anonymously.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if is_admin(scope):
            raise Unauthorized(
                "the adapter admin endpoints need an API key, and none is configured "
                "(server.api_keys_env or server.api_keys_file)"
            )
        await self.app(scope, receive, send)
