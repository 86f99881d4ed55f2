"""The offline validator rejects what a cluster would: a green chart test means something."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helm.chart import OVERLAYS, manifests, one, read_values
from tests.k8s.kube import CRDS, K8S_VERSIONS, structural_to_json_schema, validate


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    (path,) = [p for p in OVERLAYS if p.name == "everything-servicemonitor.yaml"]
    return manifests(read_values(path))


def _broken(doc: dict[str, Any], edit: Any) -> list[str]:
    bad = copy.deepcopy(doc)
    edit(bad)
    return validate(bad)


def test_the_crds_in_the_repo_are_the_ones_the_tests_need() -> None:
    names = sorted(p.name for p in CRDS.glob("*.yaml"))
    assert names == [
        "monitoring.coreos.com_podmonitors.yaml",
        "monitoring.coreos.com_prometheusrules.yaml",
        "monitoring.coreos.com_servicemonitors.yaml",
        "ray.io_rayservices.yaml",
    ]
    assert K8S_VERSIONS[0] == "1.29.0"


def test_rendered_objects_start_valid(docs: list[dict[str, Any]]) -> None:
    assert all(validate(d) == [] for d in docs)


def _worker(rs: dict[str, Any]) -> dict[str, Any]:
    group: dict[str, Any] = rs["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    return group


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda rs: _worker(rs).update(replicaz=1), "'replicaz' was unexpected"),
        (lambda rs: _worker(rs).update(minReplicas="one"), "is not of type 'integer'"),
        (lambda rs: rs["spec"].update(serveConfigV2={"a": 1}), "is not of type 'string'"),
        (
            lambda rs: _worker(rs)["template"]["spec"]["containers"][0].update(imagePullSecret=1),
            "'imagePullSecret' was unexpected",
        ),
        (
            lambda rs: _worker(rs)["template"]["spec"]["containers"][0]["env"].append(
                {"name": "HF_HOME", "value": "/elsewhere"}
            ),
            "duplicate entries by ['name']",
        ),
        (lambda rs: _worker(rs).update(minReplicas=99), "minReplicas=99 maxReplicas="),
        (
            lambda rs: _worker(rs)["rayStartParams"].update({"num-gpus": "1"}),
            "resources set in both rayStartParams and resources",
        ),
        (
            lambda rs: rs["metadata"].update(name="x" * 48),
            "a DNS-1035 label of at most 47 characters",
        ),
        (
            lambda rs: _worker(rs)["template"]["metadata"]["labels"].update({"bad key!": "v"}),
            "invalid label key 'bad key!'",
        ),
        (lambda rs: rs["spec"].update(upgradeStrategy={"type": "Rolling"}), "is invalid"),
        (
            lambda rs: rs["spec"]["rayClusterConfig"].update(rayVersion="2.51.0"),
            "minimum Ray version is 2.52.0",
        ),
        (
            lambda rs: rs["spec"]["rayClusterConfig"]["authOptions"].update(mode="tokens"),
            "'tokens' is not one of",
        ),
    ],
    ids=[
        "unknown-group-field",
        "wrong-type",
        "serve-config-not-string",
        "unknown-container-field",
        "duplicate-env",
        "min-above-max",
        "ray-resources-twice",
        "long-name",
        "bad-pod-label",
        "bad-upgrade-strategy",
        "token-auth-on-old-ray",
        "unknown-auth-mode",
    ],
)
def test_rayservice_mistakes_are_caught(
    docs: list[dict[str, Any]], edit: Any, expected: str
) -> None:
    errors = _broken(one(docs, "RayService"), edit)
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize(
    ("kind", "edit", "expected"),
    [
        ("Ingress", lambda d: d["spec"].update(rulez=[]), "'rulez' was unexpected"),
        ("Service", lambda d: d["spec"]["ports"][0].update(port="http"), "is not of type"),
        ("Service", lambda d: d["metadata"].update(name="Metrics"), "DNS-1035"),
        ("ConfigMap", lambda d: d.update(data={"a": 1}), "is not of type 'string'"),
        ("ServiceMonitor", lambda d: d["spec"].update(endpoint=[]), "'endpoint' was unexpected"),
        (
            "PrometheusRule",
            lambda d: d["spec"].update(groups=[{"rules": []}]),
            "'name' is a required property",
        ),
    ],
)
def test_other_mistakes_are_caught(
    docs: list[dict[str, Any]], kind: str, edit: Any, expected: str
) -> None:
    doc = next(d for d in docs if d["kind"] == kind)
    errors = _broken(doc, edit)
    assert any(expected in e for e in errors), errors


def test_structural_schema_conversion() -> None:
    schema = structural_to_json_schema(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "nullable": True},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "port": {"x-kubernetes-int-or-string": True},
            },
        }
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["a"]["type"] == ["string", "null"]
    assert "additionalProperties" not in schema["properties"]["free"]
    assert schema["properties"]["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
