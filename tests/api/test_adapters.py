"""Adapter names at a replica's edge and the admin calls (a recording engine, no vLLM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gemma_serve import catalogue
from gemma_serve.api.adapters import AdapterEdge
from gemma_serve.api.paths import LOAD_LORA as LOAD_PATH
from gemma_serve.api.paths import UNLOAD_LORA as UNLOAD_PATH
from gemma_serve.config.lora import LoraConfig
from gemma_serve.engine.lora import find_adapter, within
from gemma_serve.errors import ModelNotFound, RequestError
from gemma_serve.metrics import create_edge_metrics
from gemma_serve.planner.lora import resolve_lora
from gemma_serve.serve.adapters import ReplicaAdapters
from tests.metrics.recorder import Recorder


def _adapter(root: Path, name: str, peft_type: str = "LORA") -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": peft_type}))
    return path


class Engine:
    def __init__(self) -> None:
        self.loaded: dict[str, str] = {}

    async def resolve(self, directory: str | None, name: str) -> str | None:
        found = find_adapter(directory, name) if directory else None
        return str(found) if found else None

    async def load(self, name: str, path: str) -> None:
        self.loaded[name] = path

    async def unload(self, name: str) -> None:
        del self.loaded[name]


def _adapters(
    tmp_path: Path, recorder: Recorder | None = None, **lora: Any
) -> tuple[ReplicaAdapters, Engine]:
    config = LoraConfig.model_validate(
        {"adapters": [{"name": "static", "source": "/s"}], "directory": str(tmp_path),
         "max_loras": 1, **lora}
    )  # fmt: skip
    plan = resolve_lora(config, catalogue.variant("270m"), tp=1, dtype_bytes=2)
    assert plan is not None
    engine = Engine()
    metrics = create_edge_metrics("r1", recorder or Recorder()).for_model("base")
    return ReplicaAdapters(plan, base="base", engine=engine, metrics=metrics), engine


async def _call(app: Any, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode()
    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"])


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    """The inner app: answers with the model it was asked for."""
    model = json.loads((await receive())["body"])["model"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps({"model": model}).encode()})


def test_names_never_escape_the_directory(tmp_path: Path) -> None:
    _adapter(tmp_path / "adapters", "good")
    _adapter(tmp_path, "outside")
    _adapter(tmp_path / "adapters", "prefix", peft_type="PREFIX_TUNING")
    root = str(tmp_path / "adapters")
    assert find_adapter(root, "good") == (tmp_path / "adapters" / "good").resolve()
    assert find_adapter(root, "../outside") is None
    assert find_adapter(root, "prefix") is None
    assert find_adapter(root, "absent") is None
    assert find_adapter(root, ".") is None
    assert within(root, "/etc") is None and within(root, "good") is not None


async def test_a_dynamic_adapter_loads_on_first_use_and_an_unknown_one_is_a_404(
    tmp_path: Path,
) -> None:
    _adapter(tmp_path, "dyn")
    recorder = Recorder()
    adapters, engine = _adapters(tmp_path, recorder)
    app = AdapterEdge(_echo, adapters=adapters)
    assert recorder.value("gemma_serve_lora_adapters_loaded", model="base") == 0
    assert await _call(app, "/v1/completions", {"model": "dyn"}) == (200, {"model": "dyn"})
    assert "dyn" in engine.loaded and adapters.dynamic == ["dyn"]
    assert recorder.value("gemma_serve_lora_adapter_loads", model="base") == 1
    assert recorder.value("gemma_serve_lora_adapters_loaded", model="base") == 1
    assert await _call(app, "/v1/completions", {"model": "static"}) == (200, {"model": "static"})
    assert await _call(app, "/v1/completions", {"model": "base"}) == (200, {"model": "base"})
    with pytest.raises(ModelNotFound, match="`nope` does not exist"):
        await _call(app, "/v1/completions", {"model": "nope"})


async def test_admin_calls_stay_inside_the_directory(tmp_path: Path) -> None:
    _adapter(tmp_path / "v2", "dyn")
    adapters, engine = _adapters(tmp_path)
    app = AdapterEdge(_echo, adapters=adapters)
    with pytest.raises(RequestError, match="outside the adapter directory"):
        await _call(app, LOAD_PATH, {"lora_name": "x", "lora_path": "/etc"})
    with pytest.raises(RequestError, match="static adapter"):
        await _call(app, UNLOAD_PATH, {"lora_name": "static"})
    status, answer = await _call(app, LOAD_PATH, {"lora_name": "dyn", "lora_path": "v2/dyn"})
    assert (status, answer["loaded"]) == (200, True)
    assert engine.loaded["dyn"] == str((tmp_path / "v2" / "dyn").resolve())
    status, answer = await _call(app, UNLOAD_PATH, {"lora_name": "dyn"})
    assert (status, answer["loaded"]) == (200, False)
    assert engine.loaded == {}
    with pytest.raises(ModelNotFound, match="not loaded"):
        await _call(app, UNLOAD_PATH, {"lora_name": "dyn"})


async def test_without_a_directory_only_static_adapters_answer(tmp_path: Path) -> None:
    adapters, _ = _adapters(tmp_path, directory=None)
    app = AdapterEdge(_echo, adapters=adapters)
    with pytest.raises(ModelNotFound):
        await _call(app, "/v1/completions", {"model": "dyn"})
    with pytest.raises(RequestError, match="dynamic adapters are off"):
        await _call(app, LOAD_PATH, {"lora_name": "dyn"})


def test_models_list_each_adapter_with_its_base_as_parent() -> None:
    from gemma_serve.api.cards import cards_body
    from gemma_serve.config.models import ModelConfig
    from gemma_serve.planner import HostFacts, plan_model

    model = ModelConfig.model_validate({
        "name": "base", "variant": "270m", "source": "embedded:gemma-3-270m",
        "lora": {"adapters": [{"name": "a", "source": "/a"}], "directory": "/d"},
    })  # fmt: skip
    plan = plan_model(model, HostFacts(cores_per_node=2))
    cards = json.loads(cards_body([plan], ["dyn"]))["data"]
    assert [(c["id"], c["parent"], c["root"]) for c in cards] == [
        ("base", None, "embedded:gemma-3-270m"), ("a", "base", "/a"), ("dyn", "base", "/d/dyn"),
    ]  # fmt: skip
    assert cards[1]["max_model_len"] == plan.max_model_len
