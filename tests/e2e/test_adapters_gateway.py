"""LoRA adapters through the gateway: two replicas of one model (`pair_stack`).

The gateway sends a static adapter's requests to its model, any other name to
the model that loads adapters by name, with Ray Serve's multiplexed model id:
once a replica holds an adapter, its requests go there. Admin calls reach
every replica.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.test_adapters import lora_section
from tests.stack import Stack

pytestmark = pytest.mark.e2e

PAIR = "gemma-3-270m-pair"
STATIC = "tiny-attn-r8"
DYNAMIC = ("tiny-mlp-r4", "tiny-qv-r8")
#: Ray Serve's controller relays a replica's report to the routers in its control loop.
REPORT_S = 3.0


def pair_lora(adapters: dict[str, Path], directory: Path) -> dict[str, Any]:
    """`models.0.lora` of the pair stack: one static adapter and a directory of two."""
    return lora_section(adapters, directory, (STATIC,), DYNAMIC, max_loras=2, max_lora_rank=16)


def _complete(stack: Stack, model: str, prompt: str = "The capital of France is") -> httpx.Response:
    body = {"model": model, "prompt": prompt, "max_tokens": 4, "temperature": 0}
    return httpx.post(stack.base_url + "/completions", json=body, headers=stack.headers,
                      timeout=120)  # fmt: skip


def test_static_adapter_by_name_through_the_gateway(pair_stack: Stack) -> None:
    r = _complete(pair_stack, STATIC)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == STATIC
    cards = {m.id: m.model_extra["parent"] for m in pair_stack.openai().models.list()}  # type: ignore[index]
    assert cards[STATIC] == PAIR


def test_a_dynamic_adapters_requests_stay_on_the_replica_holding_it(pair_stack: Stack) -> None:
    first = _complete(pair_stack, DYNAMIC[0])
    assert first.status_code == 200, first.text
    holder = first.headers["x-gemma-serve-replica"]
    time.sleep(REPORT_S)
    served = [_complete(pair_stack, DYNAMIC[0], f"Word {i} is") for i in range(6)]
    assert all(r.status_code == 200 for r in served)
    assert {r.headers["x-gemma-serve-replica"] for r in served} == {holder}


def test_an_unknown_adapter_is_a_404_through_the_gateway(pair_stack: Stack) -> None:
    with pytest.raises(openai.NotFoundError):
        pair_stack.openai().completions.create(model="no-such-adapter", prompt="x", max_tokens=1)


def test_admin_calls_reach_every_replica(pair_stack: Stack) -> None:
    url = pair_stack.base_url
    body = {"lora_name": "custom-qv", "lora_path": DYNAMIC[1]}
    r = httpx.post(url + "/load_lora_adapter", json=body, timeout=60)
    assert r.status_code == 401
    r = httpx.post(url + "/load_lora_adapter", json=body, headers=pair_stack.headers, timeout=180)
    assert r.status_code == 200, r.text
    assert r.json()["replicas"] == 2  # each replica loaded it
    assert _complete(pair_stack, "custom-qv").status_code == 200
    unload = {"lora_name": "custom-qv"}
    r = httpx.post(url + "/unload_lora_adapter", json=unload, headers=pair_stack.headers,
                   timeout=60)  # fmt: skip
    assert r.status_code == 200 and r.json()["replicas"] == 2, r.text
    assert _complete(pair_stack, "custom-qv").status_code == 404
