"""Two models in one deployment on the real stack: routed by name, TP=2 parity with TP=1."""

from __future__ import annotations

import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e
TP1, TP2 = "gemma-3-270m-tp1", "gemma-3-270m-tp2"
PROMPTS = ["def fibonacci(n):", "The capital of France is", "Water boils at"]


def _complete(stack: Stack, model: str, prompt: str, max_tokens: int = 10) -> httpx.Response:
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
            "return_token_ids": True, "ignore_eos": True}  # fmt: skip
    r = httpx.post(stack.base_url + "/completions", json=body, timeout=120)
    assert r.status_code == 200, r.text
    return r


def test_models_lists_both_with_context_and_modalities(multi_stack: Stack) -> None:
    data = httpx.get(multi_stack.base_url + "/models").json()["data"]
    assert {m["id"] for m in data} == {TP1, TP2}
    for card in data:
        assert card["max_model_len"] == 2048
        assert card["input_modalities"] == ["text"]


def test_requests_are_routed_by_model_name(multi_stack: Stack) -> None:
    for model in (TP1, TP2):
        assert _complete(multi_stack, model, "Hello").json()["model"] == model
    r = httpx.post(
        multi_stack.base_url + "/completions", json={"model": "gemma-3-27b", "prompt": "x"}
    )
    assert r.status_code == 404 and "does not exist" in r.json()["error"]["message"]
    r = httpx.post(multi_stack.base_url + "/completions", content=b"{oops")
    assert r.status_code == 400


@pytest.mark.parametrize("prompt", PROMPTS)
def test_tensor_parallel_2_gives_the_same_greedy_tokens_as_tp_1(
    multi_stack: Stack, prompt: str
) -> None:
    tp2 = _complete(multi_stack, TP2, prompt).json()["choices"][0]["token_ids"]
    tp1 = _complete(multi_stack, TP1, prompt).json()["choices"][0]["token_ids"]
    assert tp2 == tp1


def test_streaming_through_the_gateway(multi_stack: Stack) -> None:
    body = {"model": TP2, "prompt": "1, 2, 3,", "max_tokens": 8, "stream": True}
    with httpx.stream("POST", multi_stack.base_url + "/completions", json=body, timeout=60) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert r.status_code == 200
    assert events[-1] == "data: [DONE]" and len(events) >= 3


def test_health_and_merged_metrics_cover_both_models(multi_stack: Stack) -> None:
    assert httpx.get(multi_stack.url + "/health").status_code == 200
    text = httpx.get(multi_stack.url + "/metrics").text
    for model in (TP1, TP2):
        assert f'model_name="{model}"' in text
    assert text.count("# TYPE vllm:num_requests_running gauge") == 1
