"""LoRA adapters through the real stack: static, dynamic, evicted, administered, batched.

One stack (`tp2_stack`): the shipped TP=2 profile (each adapter sharded over two
CPU ranks, as on a TP GPU deployment) with two static adapters and a directory of
four dynamic ones, two dynamic slots (max_cpu_loras 4), API keys on. Every
adapter is a real peft adapter with random non-zero weights
(tests/tiny_lora.py). Greedy tokens are compared with
transformers + peft (`lora_reference`) token by token; a difference is only
accepted where the reference itself cannot decide in bf16 (its top two
choices within one bf16 step), and the comparison stops there. Metrics are
read at the scrape target (the Ray node's metrics agent), up to
METRICS_LAG_S old: a count is read once settled, and awaited after a change.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gemma_serve.metrics.edge import ADAPTER_EVICTIONS, ADAPTER_LOADS, ADAPTERS_LOADED
from tests.e2e.test_fidelity import PROMPTS, TIE, TOKENS, Greedy, agreed
from tests.stack import METRICS_LAG_S, Stack

pytestmark = pytest.mark.e2e

BASE = "gemma-3-270m"
STATIC = ("tiny-attn-r8", "tiny-all-r16")
DYNAMIC = ("tiny-mlp-r4", "tiny-qv-r8", "tiny-down-r16", "tiny-o-r4")
#: Adapters whose greedy tokens are checked against transformers + peft.
FIDELITY_ADAPTERS = (*STATIC, "tiny-mlp-r4")
Reference = dict[tuple[str | None, str], Greedy]


def lora_section(
    adapters: dict[str, Path],
    directory: Path,
    static: tuple[str, ...] = STATIC,
    dynamic: tuple[str, ...] = DYNAMIC,
    **limits: int,
) -> dict[str, Any]:
    """A `models.0.lora`: `static` adapters from the cache, copies of `dynamic` ones in
    `directory` (a name never resolves outside it); by default this module's stack's."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in dynamic:
        shutil.copytree(adapters[name], directory / name, dirs_exist_ok=True)
    return {
        "adapters": [{"name": n, "source": str(adapters[n])} for n in static],
        "directory": str(directory),
        **({"max_loras": 2, "max_lora_rank": 16, "max_cpu_loras": 4} if not limits else limits),
    }


def _greedy(stack: Stack, model: str, prompt: str) -> list[int]:
    out = stack.openai().completions.create(
        model=model, prompt=prompt, max_tokens=TOKENS, temperature=0,
        extra_body={"return_token_ids": True, "ignore_eos": True},
    )  # fmt: skip
    assert out.model == model
    return list(out.choices[0].model_extra["token_ids"])  # type: ignore[index]


LOADS, EVICTIONS, LOADED = (
    ADAPTER_LOADS.exported,
    ADAPTER_EVICTIONS.exported,
    ADAPTERS_LOADED.exported,
)


def _metric(stack: Stack, name: str) -> float:
    """The base model's series `name` at the scrape target, summed over replicas.

    0 when absent: Ray creates a counter's series with its first event.
    """
    text = httpx.get(stack.metrics_url, timeout=10).text
    found = re.findall(rf'^{name}\{{[^}}]*model="{BASE}"[^}}]*\}} ([0-9.e+-]+)$', text, re.M)
    return sum(float(v) for v in found)


def _settled(stack: Stack, name: str) -> float:
    """`name` once every earlier event has reached the metrics agent."""
    time.sleep(METRICS_LAG_S)
    return _metric(stack, name)


def _await_metric(stack: Stack, name: str, at_least: float, exactly: bool = True) -> float:
    """Until `name` reaches `at_least` (and then is exactly it, unless `exactly` is False)."""
    deadline = time.monotonic() + METRICS_LAG_S + 10
    while (seen := _metric(stack, name)) < at_least:
        assert time.monotonic() < deadline, f"{name} is {seen}, expected {at_least}"
        time.sleep(1)
    assert seen == at_least or not exactly, (name, seen, at_least)
    return seen


def _listed(stack: Stack) -> dict[str, str | None]:
    return {m.id: m.model_extra["parent"] for m in stack.openai().models.list()}  # type: ignore[index]


def test_models_lists_each_static_adapter_with_its_base_as_parent(tp2_stack: Stack) -> None:
    listed = _listed(tp2_stack)
    assert listed[BASE] is None
    assert {name: listed[name] for name in STATIC} == dict.fromkeys(STATIC, BASE)


@pytest.mark.parametrize("adapter", FIDELITY_ADAPTERS)
def test_adapter_greedy_tokens_equal_peft_and_differ_from_the_base(
    tp2_stack: Stack, lora_reference: Reference, adapter: str
) -> None:
    same, differs = 0, 0
    for prompt in PROMPTS:
        served = _greedy(tp2_stack, adapter, prompt)
        same += agreed(served, lora_reference[(adapter, prompt)])
        differs += served != _greedy(tp2_stack, BASE, prompt)
        print(f"{adapter} {prompt!r}: served {served}, peft {lora_reference[(adapter, prompt)][0]}")
    # Most tokens decided and equal; the adapter really changes what the model says.
    assert same >= len(PROMPTS) * TOKENS // 2, same
    assert differs >= 1


async def test_two_adapters_in_one_batch_each_get_their_own_output(
    tp2_stack: Stack, lora_reference: Reference
) -> None:
    """Both requests in flight at once: vLLM's continuous batching runs them in the same
    steps (max_loras slots for both), and each still gets its own adapter's tokens."""
    client = openai.AsyncOpenAI(base_url=tp2_stack.base_url, api_key=tp2_stack.api_key)

    def decided(prompt: str) -> int:
        """Leading reference tokens of both adapters that are no bf16 tie."""
        margins = [lora_reference[(a, prompt)][1] for a in STATIC]
        return min(next((i for i, m in enumerate(ms) if m <= TIE), len(ms)) for ms in margins)

    prompt = max(PROMPTS, key=decided)  # a tie would let either token be right
    assert decided(prompt) >= TOKENS // 2, [decided(p) for p in PROMPTS]

    async def greedy(model: str) -> tuple[list[int], float, float]:
        began = time.monotonic()
        out = await client.completions.create(
            model=model, prompt=prompt, max_tokens=TOKENS, temperature=0,
            extra_body={"return_token_ids": True, "ignore_eos": True},
        )  # fmt: skip
        ids = list(out.choices[0].model_extra["token_ids"])  # type: ignore[index]
        return ids, began, time.monotonic()

    results = await asyncio.gather(*(greedy(m) for m in STATIC))
    (_, a_began, a_ended), (_, b_began, b_ended) = results
    assert a_began < b_ended and b_began < a_ended  # in flight together
    outputs = [ids for ids, _, _ in results]
    for adapter, served in zip(STATIC, outputs, strict=True):
        assert agreed(served, lora_reference[(adapter, prompt)]) >= TOKENS // 2, adapter
    assert outputs[0] != outputs[1]


def test_a_dynamic_adapter_loads_on_first_use(tp2_stack: Stack) -> None:
    loads = _settled(tp2_stack, LOADS)
    assert "tiny-qv-r8" not in _listed(tp2_stack)
    assert len(_greedy(tp2_stack, "tiny-qv-r8", PROMPTS[0])) == TOKENS
    assert _listed(tp2_stack)["tiny-qv-r8"] == BASE
    _await_metric(tp2_stack, LOADS, loads + 1)
    _greedy(tp2_stack, "tiny-qv-r8", PROMPTS[1])  # loaded now: no second load
    assert _settled(tp2_stack, LOADS) == loads + 1


def test_an_unknown_adapter_is_a_404_in_openais_shape(tp2_stack: Stack) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        _greedy(tp2_stack, "no-such-adapter", PROMPTS[0])
    body: Any = caught.value.body
    assert body["type"] == "model_not_found" and "no-such-adapter" in body["message"]
    chat = httpx.post(
        tp2_stack.base_url + "/chat/completions", headers=tp2_stack.headers, timeout=30,
        json={"model": "../lora.yaml", "messages": [{"role": "user", "content": "hi"}]},
    )  # fmt: skip
    assert chat.status_code == 404 and chat.json()["error"]["code"] == 404
    assert httpx.get(tp2_stack.url + "/health", timeout=10).status_code == 200


def test_the_least_recently_used_adapter_is_evicted_after_max_cpu_loras(
    tp2_stack: Stack,
) -> None:
    evictions = _settled(tp2_stack, EVICTIONS)
    first, second, third = DYNAMIC[1:]  # two dynamic slots: the third use evicts the first
    for name in (first, second, third):
        _greedy(tp2_stack, name, PROMPTS[0])
    listed = _listed(tp2_stack)
    assert {n for n in DYNAMIC if n in listed} == {second, third}
    assert all(n in listed for n in STATIC)  # static adapters are never evicted
    _await_metric(tp2_stack, EVICTIONS, evictions + 1, exactly=False)
    assert _settled(tp2_stack, LOADED) == 2
    loads = _metric(tp2_stack, LOADS)  # settled with the gauge
    _greedy(tp2_stack, first, PROMPTS[0])  # back on next use, evicting `second`
    _await_metric(tp2_stack, LOADS, loads + 1)
    assert {n for n in DYNAMIC if n in _listed(tp2_stack)} == {third, first}


def test_admin_load_and_unload_need_the_api_key(tp2_stack: Stack) -> None:
    url, body = tp2_stack.base_url, {"lora_name": "custom-o", "lora_path": "tiny-o-r4"}
    for headers in ({}, {"authorization": "Bearer wrong"}):
        for path in ("/load_lora_adapter", "/unload_lora_adapter"):
            r = httpx.post(url + path, json=body, headers=headers, timeout=30)
            assert r.status_code == 401, (path, r.text)
            assert r.json()["error"]["type"] == "authentication_error"
    assert "custom-o" not in _listed(tp2_stack)
    r = httpx.post(url + "/load_lora_adapter", json=body, headers=tp2_stack.headers, timeout=60)
    assert r.status_code == 200, r.text
    assert _listed(tp2_stack)["custom-o"] == BASE
    # The same weights under another name: the same tokens.
    same = _greedy(tp2_stack, "tiny-o-r4", PROMPTS[2])
    assert _greedy(tp2_stack, "custom-o", PROMPTS[2]) == same
    outside = {"lora_name": "x", "lora_path": "/etc"}
    r = httpx.post(url + "/load_lora_adapter", json=outside, headers=tp2_stack.headers, timeout=30)
    assert r.status_code == 400 and "outside the adapter directory" in r.text
    r = httpx.post(url + "/unload_lora_adapter", json={"lora_name": "custom-o"},
                   headers=tp2_stack.headers, timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    assert "custom-o" not in _listed(tp2_stack)
    with pytest.raises(openai.NotFoundError):
        _greedy(tp2_stack, "custom-o", PROMPTS[0])
