"""Per-key budgets at the edge: requests and tokens a minute, concurrency, priority.

Each budget is a token bucket, OpenAI's model: the capacity is the per-minute
budget and it refills continuously, so `remaining` and `reset` mean what
OpenAI's `x-ratelimit-*` headers mean. Tokens are charged on admission, as
OpenAI does: the prompt estimated at 4 bytes a token plus the request's
maximum output tokens (the model's context when the request sets none).
Over budget: 429 `rate_limit_exceeded` with `Retry-After`, nothing reaches the
engine. Every answer to a key with budgets carries the headers.

The book lives in the edge, and an application has one edge process (the
gateway's one replica, or the one replica that is the ingress), so a budget
holds across every model replica and node behind it.

The key's `priority` replaces any `priority` a client sets on completions and
chat: vLLM's priority scheduling (`--scheduling-policy priority`) runs lower
values first, so a client cannot promote itself.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gemma_serve.api.auth import caller
from gemma_serve.api.body import read_body, replay, with_length
from gemma_serve.api.paths import GENERATION_PATHS, is_model_routed
from gemma_serve.config.keys import ApiKey
from gemma_serve.errors import RateLimited

#: OpenAI's estimate of a token, for the prompt part of a request's cost.
BYTES_PER_TOKEN = 4
#: Output-length fields of the bodies the edge routes (completions/chat, Responses, Messages).
_MAX_OUTPUT = ("max_tokens", "max_completion_tokens", "max_output_tokens")
KeyOutcome = Literal["admitted", "limited"]


@dataclass
class Bucket:
    """`capacity` a minute, refilled continuously; a level below zero is debt."""

    capacity: float
    level: float
    at: float

    @classmethod
    def full(cls, capacity: int, now: float) -> Bucket:
        return cls(float(capacity), float(capacity), now)

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.capacity / 60)
        self.at = now

    def wait_s(self, cost: float) -> float:
        """Seconds until `cost` fits (after `refill`); inf if it never can."""
        if cost > self.capacity:
            return math.inf
        return max(0.0, (cost - self.level) * 60 / self.capacity)

    def reset_s(self) -> float:
        """Seconds until the bucket is full again (after `refill`)."""
        return max(0.0, (self.capacity - self.level) * 60 / self.capacity)


@dataclass
class KeyState:
    """One key's buckets and its requests in flight."""

    key: ApiKey
    requests: Bucket | None
    tokens: Bucket | None
    in_flight: int = 0


@dataclass
class QuotaBook:
    """Every key's budgets; `admit` charges a request or raises RateLimited."""

    keys: Sequence[ApiKey]
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, KeyState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = self.clock()
        for k in self.keys:
            self._state[k.name] = KeyState(
                k,
                Bucket.full(k.requests_per_minute, now) if k.requests_per_minute else None,
                Bucket.full(k.tokens_per_minute, now) if k.tokens_per_minute else None,
            )

    def admit(self, key: ApiKey, tokens: int) -> None:
        """Charge one request of `tokens` to `key`, or raise RateLimited (nothing charged)."""
        state = self._state[key.name]
        now = self.clock()
        waits: list[tuple[float, str]] = []
        charges = ((state.requests, "requests", 1), (state.tokens, "tokens", tokens))
        for bucket, what, cost in charges:
            if bucket is None:
                continue
            bucket.refill(now)
            wait = bucket.wait_s(cost)
            if wait > 0:
                left = max(0, int(bucket.level))
                waits.append((wait, f"{what} per minute: limit {int(bucket.capacity)}, "
                                    f"remaining {left}, requested {cost}"))  # fmt: skip
        if key.max_concurrency is not None and state.in_flight >= key.max_concurrency:
            waits.append((1.0, f"concurrent requests: limit {key.max_concurrency}"))
        if waits:
            wait, why = max(waits)
            never = math.isinf(wait)
            raise RateLimited(
                f"rate limit reached for key {key.name!r} on {why}"
                + ("; this request can never fit the budget" if never else ""),
                retry_after_s=60.0 if never else max(1.0, math.ceil(wait)),
                headers=self.headers(key),
            )
        for bucket, _, cost in charges:
            if bucket is not None:
                bucket.level -= cost
        state.in_flight += 1

    def release(self, key: ApiKey) -> None:
        """One admitted request of `key` has finished."""
        self._state[key.name].in_flight -= 1

    def headers(self, key: ApiKey) -> list[tuple[bytes, bytes]]:
        """OpenAI's x-ratelimit-limit/remaining/reset-{requests,tokens} for `key`, now."""
        state = self._state[key.name]
        now = self.clock()
        out = []
        for bucket, what in ((state.requests, "requests"), (state.tokens, "tokens")):
            if bucket is not None:
                bucket.refill(now)
                out += [
                    (f"x-ratelimit-limit-{what}".encode(), str(int(bucket.capacity)).encode()),
                    (f"x-ratelimit-remaining-{what}".encode(),
                     str(max(0, int(bucket.level))).encode()),
                    (f"x-ratelimit-reset-{what}".encode(), _duration(bucket.reset_s()).encode()),
                ]  # fmt: skip
        return out


def _duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `120ms`."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    minutes, secs = divmod(math.ceil(seconds), 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def request_cost(body: bytes, payload: Mapping[str, Any], context_tokens: int) -> int:
    """Tokens charged on admission: the prompt estimate plus the maximum output."""
    prompt = len(body) // BYTES_PER_TOKEN
    for name in _MAX_OUTPUT:
        value = payload.get(name)
        if isinstance(value, int) and value >= 0:
            return prompt + value
    return max(prompt, context_tokens)


class Quotas:
    """Pure ASGI, right after auth: charge each model request to its key's budgets.

    `context_tokens` maps a model name to the output a request without a
    maximum may take; `on_key(model, key name, outcome, tokens)` counts per key.
    """

    def __init__(
        self,
        app: Any,
        *,
        book: QuotaBook,
        context_tokens: Mapping[str, int],
        on_key: Callable[[str, str, KeyOutcome, int], None] = lambda *_: None,
    ) -> None:
        self.app = app
        self.book = book
        self._context = context_tokens
        self._default_context = max(context_tokens.values(), default=0)
        self._on_key = on_key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = caller(scope)
        if key is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        charged = is_model_routed(scope)
        if charged:
            body = await read_body(receive)
            payload = _json_object(body)
            model = str(payload.get("model"))
            tokens = request_cost(body, payload, self._context.get(model, self._default_context))
            try:
                self.book.admit(key, tokens)
            except RateLimited:
                self._on_key(model, key.name, "limited", 0)
                raise
            self._on_key(model, key.name, "admitted", tokens)
            if (
                payload
                and scope["path"] in GENERATION_PATHS
                and (key.priority or "priority" in payload)
            ):
                body = json.dumps({**payload, "priority": key.priority}).encode()
                scope = with_length(scope, len(body))
            receive = replay(body, receive)
        if key.limited:
            send = self._with_headers(key, send)
        try:
            await self.app(scope, receive, send)
        finally:
            if charged:
                self.book.release(key)

    def _with_headers(self, key: ApiKey, send: Any) -> Any:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()),
                                                  *self.book.headers(key)]}  # fmt: skip
            await send(message)

        return sending


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
