"""Generate the chart's `values.schema.json` from the values models.

The `gemmaServe` part is `DeploymentConfig.model_json_schema()` unchanged, so
Helm rejects at install time what `validate_config` would reject at start-up
(unknown keys, wrong enums, out-of-range numbers). Kubernetes-shaped values
reference the upstream OpenAPI definitions, copied here from the
`kubernetes-validate` package (a dev dependency, needed only to regenerate).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from gemma_serve.k8s._types import K8S_REF
from gemma_serve.k8s.values import ChartValues

#: Kubernetes version whose definitions are embedded: the oldest the chart supports.
K8S_SCHEMA_VERSION = "1.29.0"
_K8S_PREFIX = "io.k8s."
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def values_schema() -> dict[str, Any]:
    """The whole values schema: chart models, DeploymentConfig and Kubernetes definitions."""
    schema = _resolve_placeholders(ChartValues.model_json_schema())
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    upstream = _kubernetes_definitions()
    pending = sorted(_k8s_refs(schema))
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        if name not in upstream:
            raise KeyError(f"Kubernetes {K8S_SCHEMA_VERSION} has no definition {name}")
        definition = _clean(upstream[name])
        defs[name] = definition
        pending.extend(sorted(_k8s_refs(definition) - defs.keys()))
    schema["$defs"] = dict(sorted(defs.items()))
    return {"$schema": _DRAFT, **schema}


def schema_json() -> str:
    """`values_schema()` as the committed file's exact text."""
    return json.dumps(values_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(chart_dir: Path) -> bool:
    """Write `values.schema.json` into `chart_dir`; True if it changed."""
    path = chart_dir / "values.schema.json"
    text = schema_json()
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def _kubernetes_definitions() -> dict[str, Any]:
    try:
        root = resources.files("kubernetes_validate")
    except ModuleNotFoundError:
        raise RuntimeError(
            "regenerating the chart schema needs the dev extra (kubernetes-validate)"
        ) from None
    path = root / "kubernetes-json-schema" / f"v{K8S_SCHEMA_VERSION}-local-strict"
    loaded: dict[str, Any] = json.loads((path / "_definitions.json").read_text())
    defs: dict[str, Any] = loaded.get("$defs") or loaded["definitions"]
    return defs


def _resolve_placeholders(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _resolve_placeholders(v) for k, v in node.items() if k != K8S_REF}
        if K8S_REF in node:
            out = {"$ref": "#/$defs/" + node[K8S_REF], **out}
        return out
    if isinstance(node, list):
        return [_resolve_placeholders(v) for v in node]
    return node


def _k8s_refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                name = value.rsplit("/", 1)[-1]
                if name.startswith(_K8S_PREFIX):
                    found.add(name)
            else:
                found |= _k8s_refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _k8s_refs(value)
    return found


def _clean(node: Any) -> Any:
    """Local `#/$defs/...` refs; no `x-kubernetes-*` extensions (Helm ignores them)."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key.startswith("x-kubernetes-"):
                continue
            if key == "$ref" and isinstance(value, str):
                out[key] = "#/$defs/" + value.rsplit("/", 1)[-1]
            else:
                out[key] = _clean(value)
        return out
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node
