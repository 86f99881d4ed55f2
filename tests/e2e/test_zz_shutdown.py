"""SIGTERM drains in-flight requests, then stops everything, leaving no process (runs last)."""

from __future__ import annotations

import threading

import httpx
import psutil
import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.teardown_stack]
TOKENS = 48


def test_sigterm_drains_in_flight_requests_then_stops_everything(default_stack: Stack) -> None:
    result: dict[str, object] = {}
    first_chunk = threading.Event()

    def stream() -> None:
        body = {
            "model": "gemma-3-270m",
            "prompt": "Once",
            "max_tokens": TOKENS,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with httpx.Client(headers=default_stack.headers, timeout=120) as client:
            with client.stream("POST", default_stack.base_url + "/completions", json=body) as r:
                lines = []
                for line in r.iter_lines():
                    if line:
                        lines.append(line)
                        first_chunk.set()
                result["status"] = r.status_code
                result["lines"] = lines

    worker = threading.Thread(target=stream)
    worker.start()
    assert first_chunk.wait(60)
    code = default_stack.stop(timeout_s=120)
    worker.join(60)
    assert code == 0, default_stack.log_tail()
    assert result.get("status") == 200
    lines = result["lines"]
    assert isinstance(lines, list) and lines[-1] == "data: [DONE]"
    assert f'"completion_tokens":{TOKENS}' in "".join(lines)
    assert default_stack.descendants, "expected Ray and engine processes under the server"
    _, alive = psutil.wait_procs(default_stack.descendants, timeout=15)
    assert not alive, [(p.pid, p.name()) for p in alive]
