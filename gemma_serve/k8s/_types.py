"""Types shared by the chart's values models: GPU kinds and Kubernetes-shaped fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from gemma_serve import catalogue
from gemma_serve.config._kinds import GpuKind

#: The GPU kinds of `HardwareConfig.accelerator`; the chart has one worker group per kind.
GpuAccelerator = GpuKind

#: Placeholder key `schema.py` turns into a `$ref` to an embedded Kubernetes definition.
K8S_REF = "x-gemma-serve-k8s"


def ray_accelerator_type(accelerator: str) -> str:
    """Ray's accelerator-type name (`ray.util.accelerators`) of a gemma-serve GPU kind.

    Worker groups advertise `accelerator_type:<name>`, so Ray (and its
    autoscaler, even at zero pods) can tell an A100 80GB node from a 40GB one.
    """
    name = catalogue.accelerator(accelerator).ray_name
    if name is None:
        raise ValueError(f"{accelerator} is not a GPU kind")
    return name


def k8s_ref(kind: str, *, array: bool = False) -> WithJsonSchema:
    """Schema of a field that is a core/v1 `kind` (or a list of them), resolved by schema.py."""
    ref = {K8S_REF: "io.k8s.api.core.v1." + kind}
    return WithJsonSchema({"type": "array", "items": ref} if array else ref)


Labels = dict[Annotated[str, Field(min_length=1, max_length=317)], str]
Tolerations = Annotated[list[dict[str, Any]], k8s_ref("Toleration", array=True)]
Affinity = Annotated[dict[str, Any], k8s_ref("Affinity")]
Resources = Annotated[dict[str, Any], k8s_ref("ResourceRequirements")]
PodSecurity = Annotated[dict[str, Any], k8s_ref("PodSecurityContext")]
ContainerSecurity = Annotated[dict[str, Any], k8s_ref("SecurityContext")]
EnvVars = Annotated[list[dict[str, Any]], k8s_ref("EnvVar", array=True)]
PullSecrets = Annotated[list[dict[str, Any]], k8s_ref("LocalObjectReference", array=True)]
Auto = Literal["auto"]
DnsName = Annotated[str, Field(max_length=253, pattern=r"^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
