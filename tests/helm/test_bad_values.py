"""Bad values are refused before anything reaches a cluster, with a message naming the value.

Each file in bad-values/ states what the error must contain (`# expect:` lines).
Shape errors come from values.schema.json (HelmValuesError); what a schema
cannot express (cross-field rules, KubeRay's) fails in the templates
(HelmRenderError). `helm install` runs both; `helm lint` reports schema errors but, by Helm's
design, only logs a template's `fail` (lint mode), so those cases must at
least lint without crashing.
"""

from __future__ import annotations

from pathlib import Path

import helm_python as helm
import pytest
from pydantic import ValidationError

from gemma_serve.k8s import ChartValues
from tests.helm.chart import BAD_VALUES, lint, merged_values, read_values, render


def _expected(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("# expect:")]


def test_there_are_bad_values_files() -> None:
    assert len(BAD_VALUES) >= 15
    assert all(_expected(p) for p in BAD_VALUES)


@pytest.mark.parametrize("path", BAD_VALUES, ids=[p.name for p in BAD_VALUES])
def test_helm_rejects_bad_values_with_a_clear_message(path: Path) -> None:
    values = read_values(path)
    with pytest.raises((helm.HelmValuesError, helm.HelmRenderError)) as caught:
        render(values)
    message = str(caught.value)
    for fragment in _expected(path):
        assert fragment in message, message
    findings = lint(values)
    if isinstance(caught.value, helm.HelmValuesError):
        assert any(m["severity"] == 3 for m in findings), findings
    else:
        assert findings == [], findings  # no crash after a template's fail in lint mode


@pytest.mark.parametrize("path", BAD_VALUES, ids=[p.name for p in BAD_VALUES])
def test_schema_errors_are_the_pydantic_models_errors_too(path: Path) -> None:
    """What the generated schema refuses, the values models refuse as well.

    Except Kubernetes-shaped fields (`# models: accept`): the models pass them
    through and the schema checks them with the embedded Kubernetes definitions.
    """
    values = read_values(path)
    passthrough = "# models: accept" in path.read_text()
    try:
        render(values)
    except helm.HelmValuesError:
        if passthrough:
            ChartValues.model_validate(merged_values(values))
        else:
            with pytest.raises(ValidationError):
                ChartValues.model_validate(merged_values(values))
    except helm.HelmRenderError:
        assert not passthrough  # a template rule: the models accept the shape
