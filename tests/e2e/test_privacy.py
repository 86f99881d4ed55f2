"""Request content stays out of the logs and /metrics by default."""

from __future__ import annotations

import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
CANARY = "zqxcanary7341"


def test_prompts_and_replies_reach_neither_logs_nor_metrics(default_stack: Stack) -> None:
    url, headers = default_stack.base_url, default_stack.headers
    completion = {"model": "gemma-3-270m", "prompt": f"{CANARY} says", "max_tokens": 4}
    chat = {
        "model": "gemma-3-270m",
        "messages": [{"role": "user", "content": f"Tell a story about {CANARY}"}],
        "max_tokens": 24,
        "temperature": 0,
    }
    assert httpx.post(url + "/completions", json=completion, headers=headers, timeout=60).is_success
    reply = httpx.post(url + "/chat/completions", json=chat, headers=headers, timeout=60)
    assert reply.is_success
    # Its longest plain line: what vLLM's request log would print with log_requests on.
    line = max(reply.json()["choices"][0]["message"]["content"].split("\n"), key=len).strip()
    leaks = [CANARY] + ([line] if len(line) >= 12 and not {"'", "\\"} & set(line) else [])
    bad = {**completion, "temperature": -1}  # an error path must not echo it into logs either
    rejected = httpx.post(url + "/completions", json=bad, headers=headers, timeout=60)
    assert rejected.status_code == 400
    metrics = httpx.get(default_stack.metrics_url, timeout=10).text
    assert "ray_vllm_" in metrics and CANARY not in metrics
    log = default_stack.log_path.read_text(errors="replace")
    assert not [leak for leak in leaks if leak in log], leaks
