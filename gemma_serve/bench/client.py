"""The benchmark's HTTP client: one streamed request in, one timed record out.

async httpx, `stream=True` with `stream_options.include_usage` so output token
counts come from the server's own usage, `ignore_eos` so lengths are exact.
Times are `time.perf_counter()` taken as each SSE line is read.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from types import TracebackType
from typing import Any

import httpx

from gemma_serve.bench.datasets import BenchRequest
from gemma_serve.bench.results import RequestRecord
from gemma_serve.bench.spec import Api, Target
from gemma_serve.bench.sse import error_message, parse_line

_PATHS: dict[Api, str] = {"completions": "/v1/completions", "chat": "/v1/chat/completions"}


class OpenAIClient:
    """Streams requests to one target; use as `async with OpenAIClient(...) as c`."""

    def __init__(
        self,
        target: Target,
        api: Api,
        *,
        ignore_eos: bool = True,
        extra_body: dict[str, Any] | None = None,
        timeout_s: float = 600.0,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.target = target
        self.api = api
        self.ignore_eos = ignore_eos
        self.extra_body = dict(extra_body or {})
        self.timeout_s = timeout_s
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> OpenAIClient:
        self._http = httpx.AsyncClient(
            base_url=self.target.base_url,
            headers=self._headers,
            timeout=httpx.Timeout(self.timeout_s, connect=30.0),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
            transport=self._transport,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def body(self, req: BenchRequest) -> dict[str, Any]:
        """The JSON body for `req`, shaped like `vllm bench serve`'s."""
        body: dict[str, Any] = {
            "model": self.target.model,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.api == "completions":
            if req.prompt is None:
                raise ValueError("a chat request cannot be sent to /v1/completions")
            body["prompt"] = req.prompt
            body["max_tokens"] = req.output_len
        else:
            body["messages"] = req.chat_messages()
            body["max_completion_tokens"] = req.output_len
        if self.ignore_eos:
            body["ignore_eos"] = True
        body.update(self.extra_body)
        return body

    async def send(self, index: int, req: BenchRequest, t0: float) -> RequestRecord:
        """Send `req` and time it; `t0` is the step's start (`perf_counter`)."""
        if self._http is None:
            raise RuntimeError("OpenAIClient used outside `async with`")
        rec: dict[str, Any] = {"index": index, "itl_s": []}
        st = time.perf_counter()
        rec["start_s"] = st - t0
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._stream(self._http, req, st, rec)
        except TimeoutError:
            rec.update(error_kind="timeout", error=f"no completion after {self.timeout_s:g} s")
        except httpx.TimeoutException as e:
            rec.update(error_kind="timeout", error=f"{type(e).__name__}: {e}"[:300])
        except httpx.TransportError as e:
            rec.update(error_kind="transport", error=f"{type(e).__name__}: {e}"[:300])
        except ValueError as e:
            rec.update(error_kind="stream", error=str(e)[:300])
        if rec.get("error_kind") is None and rec.get("ttft_s") is None:
            rec.update(error_kind="no_tokens", error="stream ended without a token")
        return RequestRecord(**rec)

    async def _stream(
        self, http: httpx.AsyncClient, req: BenchRequest, st: float, rec: dict[str, Any]
    ) -> None:
        async with http.stream("POST", _PATHS[self.api], json=self.body(req)) as resp:
            rec["status"] = resp.status_code
            if resp.status_code != 200:
                raw = await resp.aread()
                try:
                    msg = error_message(json.loads(raw))
                except ValueError:
                    msg = raw.decode("utf-8", "replace")[:300]
                rec.update(error_kind="http", error=msg or resp.reason_phrase)
                return
            last = st
            async for line in resp.aiter_lines():
                ev = parse_line(line)
                if ev.kind == "done":
                    # Read on to the end of the body so the connection is reused.
                    continue
                if ev.kind == "error":
                    rec.update(error_kind="stream", error=error_message(ev.data))
                    return
                if ev.kind == "token":
                    now = time.perf_counter()
                    if rec.get("ttft_s") is None:
                        rec["ttft_s"] = now - st
                    else:
                        rec["itl_s"].append(now - last)
                    last = now
                usage = (ev.data or {}).get("usage")
                if isinstance(usage, dict):
                    rec["output_tokens"] = int(usage.get("completion_tokens") or 0)
                    if usage.get("prompt_tokens") is not None:
                        rec["prompt_tokens"] = int(usage["prompt_tokens"])
            if rec.get("ttft_s") is not None:
                rec["latency_s"] = last - st
