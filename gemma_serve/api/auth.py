"""Optional API keys: `Authorization: Bearer <key>`, compared in constant time.

Keys come from an environment variable (comma-separated) and/or a file (a
mounted Kubernetes Secret): one bare key per line, or a YAML list of named keys
with budgets and priorities (`gemma_serve.config.keys`). No keys configured =
no auth. The 401 never says whether the header was missing or the key was
wrong. Without keys the LoRA adapter admin calls are closed (`AdminClosed`).
The matched `ApiKey` is left in the request's state (`caller`), for the layers
after auth (per-key quotas) to read.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gemma_serve.api.paths import is_admin
from gemma_serve.config.keys import ApiKey, KeyFile, bare_keys
from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ConfigError, Unauthorized

#: Where auth leaves the matched `ApiKey` in the request's `state`.
CALLER = "gemma_serve.caller"


def load_api_keys(server: ServerConfig, env: dict[str, str] | None = None) -> list[ApiKey]:
    """Every configured key, from the environment variable and the key file."""
    env = dict(os.environ) if env is None else env
    keys = bare_keys(
        [k.strip() for k in env.get(server.api_keys_env, "").split(",") if k.strip()],
        source="env",
    )
    if server.api_keys_file:
        keys += read_key_file(Path(server.api_keys_file))
    if len({k.key for k in keys}) < len(keys):
        raise ConfigError("api keys: the same key is configured twice")
    return keys


def read_key_file(path: Path) -> list[ApiKey]:
    """One bare key per line, or a YAML list of `ApiKey` entries."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"server.api_keys_file: cannot read: {exc.strerror}") from None
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError:
        entries = None
    if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
        return bare_keys([k.strip() for k in text.splitlines() if k.strip()], source="file")
    try:
        return KeyFile.model_validate(entries).root
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"server.api_keys_file: {where}: {first['msg']}") from None


def caller(scope: dict[str, Any]) -> ApiKey | None:
    """The key this request presented, once auth has run (None without keys)."""
    state = scope.get("state")
    return state.get(CALLER) if isinstance(state, dict) else None


class ApiKeyAuth:
    """Reject every request without a valid bearer key with a 401 (OpenAI-style JSON).

    Routes open without a key (`/health`, `/metrics`) are answered before it.
    """

    def __init__(
        self, app: Any, *, keys: Sequence[ApiKey], on_reject: Callable[[], None] = lambda: None
    ) -> None:
        self.app = app
        self._keys = [(k.key.encode(), k) for k in keys]
        self._on_reject = on_reject

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            matched = self._match(scope)
            if matched is None:
                self._on_reject()
                raise Unauthorized("invalid or missing API key")
            scope.setdefault("state", {})[CALLER] = matched
        await self.app(scope, receive, send)

    def _match(self, scope: dict[str, Any]) -> ApiKey | None:
        presented = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    presented = token.strip()
                break
        # Compare against every key, always, so timing does not reveal which one matched.
        matched = None
        for secret, key in self._keys:
            if hmac.compare_digest(presented, secret):
                matched = key
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
