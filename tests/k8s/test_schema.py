"""The committed values.schema.json is the generated one, closed and described everywhere."""

from __future__ import annotations

import json
from typing import Any

from gemma_serve.config.models import DeploymentConfig
from gemma_serve.k8s import chart_dir, schema_json, values_schema


def _objects(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema that describes an object, with its JSON pointer."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if (
            node.get("type") == "object"
            or "properties" in node
            or (isinstance(node.get("type"), list) and "object" in node["type"])
        ):
            found.append((path, node))
        for key, value in node.items():
            found += _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _objects(value, f"{path}/{i}")
    return found


def test_committed_schema_equals_generated() -> None:
    committed = (chart_dir() / "values.schema.json").read_text()
    assert committed == schema_json(), "run: python -m gemma_serve.k8s schema"


def test_gemma_serve_part_is_the_deployment_config_schema() -> None:
    schema = values_schema()
    assert schema["properties"]["gemmaServe"]["$ref"] == "#/$defs/DeploymentConfig"
    own = DeploymentConfig.model_json_schema()
    own_defs = own.pop("$defs")
    assert schema["$defs"]["DeploymentConfig"] == own
    for name, definition in own_defs.items():
        assert schema["$defs"][name] == definition, name


def test_every_object_is_closed() -> None:
    """additionalProperties false on every object with fields; maps have a typed value."""
    open_objects = []
    for path, node in _objects(values_schema()):
        extra = node.get("additionalProperties")
        if "properties" in node:
            if extra is not False:
                open_objects.append(path)
        elif not isinstance(extra, dict) and "$ref" not in node and "anyOf" not in node:
            open_objects.append(path)
    assert open_objects == []


def test_every_property_is_described() -> None:
    schema = values_schema()
    missing = []
    for path, node in _objects(schema):
        if path.startswith("#/$defs/io.k8s."):
            continue  # upstream Kubernetes definitions
        for name, prop in (node.get("properties") or {}).items():
            target = prop
            if "$ref" in prop and "description" not in prop:
                target = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
            if not target.get("description"):
                missing.append(f"{path}/{name}")
    assert missing == []


def test_kubernetes_definitions_are_embedded_and_local() -> None:
    text = schema_json()
    refs = {r.split('"')[0] for r in text.split('"$ref": "')[1:]}
    assert refs and all(r.startswith("#/$defs/") for r in refs)
    defs = json.loads(text)["$defs"]
    assert all(r.removeprefix("#/$defs/") in defs for r in refs)
    assert "io.k8s.api.core.v1.Toleration" in defs
    assert "x-gemma-serve-k8s" not in text
