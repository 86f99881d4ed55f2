"""Offline manifest validation: what an API server (and KubeRay) would reject.

- Core objects: the Kubernetes OpenAPI schemas of `kubernetes-validate`, strict
  (unknown fields are errors), for the oldest and newest versions the chart
  supports. Pod templates and the serve Service embedded in a RayService are
  validated the same way.
- Custom resources: the CRDs in crds/ (copied from the KubeRay and
  prometheus-operator releases), their structural schemas turned into JSON
  Schema with unknown fields forbidden where the CRD does not preserve them,
  plus the uniqueness of `x-kubernetes-list-type: map/set` lists. CEL rules
  (`x-kubernetes-validations`) are not evaluated; the chart sets no field that
  has one.
- KubeRay's own admission rules for a RayService (ported from its
  `ValidateRayServiceSpec`), and name/label syntax for every object.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

CRDS = Path(__file__).parent / "crds"
#: Oldest and newest Kubernetes the chart is validated against (Chart.yaml: >=1.29).
K8S_VERSIONS = ("1.29.0", "1.37.0")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ROOT_METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def validate(obj: dict[str, Any]) -> list[str]:
    """Every problem with one rendered object; empty when it would be accepted."""
    errors = metadata_errors(obj)
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    crds = _crd_schemas()
    if key in crds:
        validator, structural = crds[key]
        errors += _schema_errors(validator, obj)
        errors += _list_errors(structural, obj, "")
    else:
        for version in K8S_VERSIONS:
            errors += [f"[k8s {version}] {e}" for e in core_errors(obj, version)]
    if key == ("ray.io/v1", "RayService"):
        if not errors:  # KubeRay only ever sees objects the API server accepted
            errors += kuberay_errors(obj)
        for embedded in embedded_objects(obj):
            errors += metadata_errors(embedded)
            pod_meta = (embedded.get("template") or {}).get("metadata") or {}
            errors += label_errors(pod_meta.get("labels") or {}, embedded["metadata"]["name"])
            for version in K8S_VERSIONS:
                errors += [
                    f"[k8s {version}] {embedded['kind']} {embedded['metadata']['name']}: {e}"
                    for e in core_errors(embedded, version)
                ]
    return errors


def core_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Strict Kubernetes OpenAPI validation of a core object."""
    return _schema_errors(_core_schema(version, obj["apiVersion"], obj["kind"]), obj)


def metadata_errors(obj: dict[str, Any]) -> list[str]:
    """Object name and label syntax, as the API server checks them."""
    meta = obj.get("metadata") or {}
    name, kind = str(meta.get("name", "")), obj.get("kind")
    errors = []
    if kind in ("Service",) and not (_DNS1035_LABEL.match(name) and len(name) <= 63):
        errors.append(f"metadata.name {name!r}: a Service name is a DNS-1035 label (<= 63)")
    elif not (_DNS1123_SUBDOMAIN.match(name) and len(name) <= 253):
        errors.append(f"metadata.name {name!r} is not a DNS-1123 subdomain")
    errors += label_errors(meta.get("labels") or {}, "metadata.labels")
    return errors


def label_errors(labels: dict[str, Any], where: str) -> list[str]:
    """Kubernetes label key/value syntax."""
    errors = []
    for key, value in labels.items():
        prefix, _, label = str(key).rpartition("/")
        ok_key = bool(_LABEL_NAME.match(label)) and len(label) <= 63
        if prefix:
            ok_key = ok_key and bool(_DNS1123_SUBDOMAIN.match(prefix)) and len(prefix) <= 253
        if not ok_key:
            errors.append(f"{where}: invalid label key {key!r}")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            errors.append(f"{where}: invalid value {value!r} of label {key!r}")
    return errors


def embedded_objects(rayservice: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The core objects inside a RayService: each group's pod template, the serve Service."""
    cluster = rayservice["spec"]["rayClusterConfig"]
    name = rayservice["metadata"]["name"]
    groups = [("head", cluster["headGroupSpec"])]
    groups += [(g["groupName"], g) for g in cluster.get("workerGroupSpecs") or []]
    for group_name, group in groups:
        yield {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": f"{name}-{group_name}"},
            "template": group["template"],
        }
    service = rayservice["spec"].get("serveService")
    if service:
        yield {"apiVersion": "v1", "kind": "Service", **service}


def kuberay_errors(rs: dict[str, Any]) -> list[str]:
    """KubeRay's admission checks of a RayService (the subset a chart can get wrong)."""
    errors: list[str] = []
    name = rs["metadata"]["name"]
    if len(name) > 47 or not _DNS1035_LABEL.match(name):
        errors.append(f"RayService name {name!r}: a DNS-1035 label of at most 47 characters")
    spec = rs["spec"]
    strategy = (spec.get("upgradeStrategy") or {}).get("type")
    if strategy not in (None, "NewCluster", "None", "NewClusterWithIncrementalUpgrade"):
        errors.append(f"upgradeStrategy.type {strategy!r} is invalid")
    cluster = spec["rayClusterConfig"]
    auth = cluster.get("authOptions") or {}
    if auth.get("enableK8sTokenAuth"):
        errors.append("K8s token auth mode is currently not supported for RayService")
    if auth.get("mode", "token" if auth else "disabled") == "token":
        version = tuple(int(x) for x in str(cluster.get("rayVersion", "0.0.0")).split("."))
        if version < (2, 52, 0):
            errors.append(
                f"authOptions.mode is 'token' but minimum Ray version is 2.52.0, got {version}"
            )
    autoscaling = bool(cluster.get("enableInTreeAutoscaling"))
    v2 = autoscaling and (cluster.get("autoscalerOptions") or {}).get("version") == "v2"
    head = cluster["headGroupSpec"]
    groups = [("head", head)] + [(g["groupName"], g) for g in cluster.get("workerGroupSpecs") or []]
    names = [g for g, _ in groups[1:]]
    if len(set(names)) != len(names):
        errors.append(f"worker group names repeat: {names}")
    for group_name, group in groups:
        containers = group["template"]["spec"].get("containers") or []
        if not containers:
            errors.append(f"{group_name}: no container")
        params = group.get("rayStartParams") or {}
        if group.get("resources") and any(
            params.get(k) for k in ("num-cpus", "num-gpus", "memory", "resources")
        ):
            errors.append(f"{group_name}: resources set in both rayStartParams and resources")
        if "labels" in params:
            errors.append(f"{group_name}: rayStartParams['labels'] is not supported")
        errors += label_errors(group.get("labels") or {}, f"{group_name}.labels")
        restart = group["template"]["spec"].get("restartPolicy")
        if v2 and restart not in (None, "", "Never"):
            errors.append(f"{group_name}: restartPolicy must be Never with autoscaler v2")
        if group_name == "head":
            continue
        lo, hi, n = group.get("minReplicas"), group.get("maxReplicas"), group.get("replicas")
        if not autoscaling and (lo is None or hi is None):
            errors.append(f"{group_name}: min/maxReplicas are required without autoscaling")
        if lo is not None and hi is not None and not (0 <= lo <= hi):
            errors.append(f"{group_name}: minReplicas={lo} maxReplicas={hi}")
        if n is not None and lo is not None and hi is not None and not lo <= n <= hi:
            errors.append(f"{group_name}: replicas={n} outside [{lo}, {hi}]")
    ports = {p.get("name") for p in head["template"]["spec"]["containers"][0].get("ports") or []}
    if "serve" not in ports and not spec.get("serveService"):
        errors.append("head container has no port named 'serve' and no serveService is set")
    return errors


def structural_to_json_schema(node: Any) -> Any:
    """A CRD's structural schema as strict JSON Schema (unknown fields are errors)."""
    if isinstance(node, list):
        return [structural_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: structural_to_json_schema(v)
        for k, v in node.items()
        if not k.startswith("x-kubernetes-") and k != "nullable"
    }
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if node.get("nullable") and isinstance(node.get("type"), str):
        out["type"] = [node["type"], "null"]
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in node:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


@functools.cache
def _crd_schemas() -> dict[tuple[str, str], tuple[Draft202012Validator, dict[str, Any]]]:
    """(apiVersion, kind) -> (strict JSON Schema validator, original structural schema)."""
    found: dict[tuple[str, str], tuple[Draft202012Validator, dict[str, Any]]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            structural = version["schema"]["openAPIV3Schema"]
            schema = structural_to_json_schema(structural)
            schema["properties"]["metadata"] = _ROOT_METADATA
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            found[(f"{group}/{version['name']}", kind)] = (Draft202012Validator(schema), structural)
    return found


@functools.cache
def _core_schema(version: str, api_version: str, kind: str) -> Draft202012Validator:
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    folder = root / f"v{version}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_file = folder / f"{kind.lower()}-{api}.json"
    if not schema_file.is_file():
        raise LookupError(f"no Kubernetes {version} schema for {api_version} {kind}")
    schema = json.loads(schema_file.read_text())
    definitions = json.loads((folder / "_definitions.json").read_text())
    registry: Registry = Resource.from_contents(definitions) @ Registry()
    return Draft202012Validator(schema, registry=registry)


def _schema_errors(validator: Draft202012Validator, obj: Any) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
    ]


def _list_errors(schema: dict[str, Any], data: Any, path: str) -> list[str]:
    """Duplicates in lists the CRD declares as `map` (by keys) or `set`."""
    errors: list[str] = []
    if isinstance(data, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, value in data.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else None)
            if sub:
                errors += _list_errors(sub, value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        kind = schema.get("x-kubernetes-list-type")
        keys = schema.get("x-kubernetes-list-map-keys") or []
        if kind == "map" and keys:
            seen = [tuple(item.get(k) for k in keys) for item in data if isinstance(item, dict)]
            if len(set(seen)) != len(seen):
                errors.append(f"{path}: duplicate entries by {keys}: {seen}")
        elif kind == "set":
            dumped = [json.dumps(item, sort_keys=True) for item in data]
            if len(set(dumped)) != len(dumped):
                errors.append(f"{path}: duplicate entries in a set")
        for i, item in enumerate(data):
            errors += _list_errors(schema.get("items") or {}, item, f"{path}[{i}]")
    return errors
