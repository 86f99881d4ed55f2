"""Optional API keys: `Authorization: Bearer <key>`, compared in constant time.

Keys come from an environment variable (comma-separated) and/or a file with
one key per line (a mounted Kubernetes Secret). No keys configured = no auth.
The 401 never says whether the header was missing or the key was wrong.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ConfigError, Unauthorized

#: Paths open without a key: probes and the Prometheus scrape (which carries no content).
OPEN_PATHS = ("/health", "/metrics")


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


class ApiKeyAuth:
    """Reject requests without a valid bearer key with a 401 (OpenAI-style JSON)."""

    def __init__(
        self, app: Any, *, keys: list[bytes], on_reject: Callable[[], None] = lambda: None
    ) -> None:
        self.app = app
        self._keys = keys
        self._on_reject = on_reject

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(OPEN_PATHS):
            if not self._authorized(scope):
                self._on_reject()
                raise Unauthorized("invalid or missing API key")
        await self.app(scope, receive, send)

    def _authorized(self, scope: dict[str, Any]) -> bool:
        presented = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    presented = token.strip()
                break
        # Compare against every key, always, so timing does not reveal which one matched.
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(presented, key)
        return ok
