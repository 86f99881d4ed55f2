"""Reading OpenAI streaming responses: which SSE events are tokens, which usage.

Matches `vllm bench serve`'s request functions (every event with `choices` is a
token chunk; the trailing `usage` event has none) with one exception: a chat
event that only announces the assistant role (vLLM sends it right before the
first token) is not a token, so it neither starts TTFT early on servers that
send it eagerly nor adds a near-zero gap to ITL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

EventKind = Literal["token", "usage", "error", "done", "skip"]


@dataclass(frozen=True)
class Event:
    """One parsed SSE line."""

    kind: EventKind
    data: dict[str, Any] | None = None


def _is_role_only(choice: dict[str, Any]) -> bool:
    delta = choice.get("delta")
    if not isinstance(delta, dict) or "role" not in delta:
        return False
    if choice.get("finish_reason") is not None:
        return False
    return all(not v for k, v in delta.items() if k != "role")


def parse_line(line: str) -> Event:
    """Classify one line of an SSE stream (comments and blanks are `skip`).

    Raises ValueError on a `data:` payload that is not JSON.
    """
    if not line.startswith("data:"):
        return Event("skip")
    payload = line[5:].strip()
    if payload == "[DONE]":
        return Event("done")
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as e:
        raise ValueError(f"bad SSE payload: {payload[:80]!r}") from e
    if not isinstance(data, dict):
        raise ValueError(f"bad SSE payload: {payload[:80]!r}")
    if "error" in data:
        return Event("error", data)
    choices = data.get("choices")
    if choices:
        if _is_role_only(choices[0]):
            return Event("skip", data)
        return Event("token", data)
    if data.get("usage"):
        return Event("usage", data)
    return Event("skip", data)


def error_message(body: Any) -> str:
    """The message of an OpenAI error body (`{"error": {"message": ...}}` or similar)."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:300]
        return str(err)[:300]
    return str(body)[:300]
