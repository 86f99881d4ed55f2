"""Scale out on the real stack: two models routed by name; tensor parallelism over two cores."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.test_fidelity import PROMPTS, TOKENS, Greedy, assert_matches_reference
from tests.stack import METRICS_LAG_S, Stack

pytestmark = pytest.mark.e2e
A, B = "gemma-3-270m-a", "gemma-3-270m-b"


def _complete(stack: Stack, model: str, prompt: str, max_tokens: int = 10) -> httpx.Response:
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
            "return_token_ids": True, "ignore_eos": True}  # fmt: skip
    r = httpx.post(stack.base_url + "/completions", json=body, headers=stack.headers, timeout=120)
    assert r.status_code == 200, r.text
    return r


def test_models_lists_both_with_context_and_modalities(multi_stack: Stack) -> None:
    data = httpx.get(multi_stack.base_url + "/models", headers=multi_stack.headers).json()["data"]
    assert {m["id"]: m["max_model_len"] for m in data} == {A: 2048, B: 1024}
    assert all(card["input_modalities"] == ["text"] for card in data)


def test_requests_are_routed_by_model_name(multi_stack: Stack) -> None:
    for model in (A, B):
        assert _complete(multi_stack, model, "Hello").json()["model"] == model
    r = httpx.post(
        multi_stack.base_url + "/completions",
        json={"model": "gemma-3-27b", "prompt": "x"},
        headers=multi_stack.headers,
    )
    assert r.status_code == 404 and "does not exist" in r.json()["error"]["message"]
    r = httpx.post(
        multi_stack.base_url + "/completions", content=b"{oops", headers=multi_stack.headers
    )
    assert r.status_code == 400


def test_each_models_limits_are_its_own(multi_stack: Stack) -> None:
    long_prompt = "word " * 1500  # fits A's 2048 tokens, not B's 1024
    r = httpx.post(
        multi_stack.base_url + "/completions",
        json={"model": B, "prompt": long_prompt, "max_tokens": 4},
        headers=multi_stack.headers,
        timeout=120,
    )
    assert r.status_code == 400, r.text
    assert _complete(multi_stack, A, long_prompt, max_tokens=2).status_code == 200


def test_streaming_through_the_gateway(multi_stack: Stack) -> None:
    body = {"model": B, "prompt": "1, 2, 3,", "max_tokens": 8, "stream": True}
    url = multi_stack.base_url + "/completions"
    with httpx.stream("POST", url, json=body, headers=multi_stack.headers, timeout=60) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert r.status_code == 200
    assert events[-1] == "data: [DONE]" and len(events) >= 3


def test_health_and_the_scrape_target_cover_both_models(multi_stack: Stack) -> None:
    assert httpx.get(multi_stack.url + "/health").status_code == 200
    # An idle engine stops reporting and Ray's agent drops its gauges: both models busy now,
    # then the node's metrics agent (the one target) shows both, within its report lag.
    for model in (A, B):
        _complete(multi_stack, model, "Hello", max_tokens=4)
    deadline = time.monotonic() + METRICS_LAG_S + 10
    while True:
        text = httpx.get(multi_stack.metrics_url, timeout=10).text
        missing = [m for m in (A, B) if f'model_name="{m}"' not in text]
        if "# TYPE ray_vllm_num_requests_running gauge" not in text:
            missing.append("ray_vllm_num_requests_running")
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, missing
    assert text.count("# TYPE ray_vllm_num_requests_running gauge") == 1


@pytest.mark.parametrize("prompt", PROMPTS)
def test_tensor_parallel_2_gives_the_reference_greedy_tokens(
    tp2_stack: Stack, reference_ids: dict[str, Greedy], prompt: str
) -> None:
    """configs/gemma3-270m-cpu-tp2.yaml: one rank per core, same tokens as transformers."""
    out = _complete(tp2_stack, "gemma-3-270m", prompt, max_tokens=TOKENS).json()
    assert_matches_reference(out["choices"][0]["token_ids"], reference_ids[prompt])
