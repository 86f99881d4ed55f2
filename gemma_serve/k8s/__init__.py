"""Kubernetes packaging: the Helm chart's values model, schema, assets and checks.

The chart itself is helm/gemma-serve (GPU and CPU worker groups, Ray token
authentication); this package generates its
`values.schema.json` from the config models, keeps its copies of the metrics
dashboards and alert rules in sync, and checks values files with the planner.
"""

from gemma_serve.k8s._types import GpuAccelerator, ray_accelerator_type
from gemma_serve.k8s.assets import AssetLayout, diff, sync
from gemma_serve.k8s.check import chart_dir, check_values, coalesce, merged_values
from gemma_serve.k8s.schema import K8S_SCHEMA_VERSION, schema_json, values_schema, write_schema
from gemma_serve.k8s.values import ChartValues, CpuWorkerGroup, WorkerGroup, WorkerGroups

__all__ = [
    "K8S_SCHEMA_VERSION",
    "AssetLayout",
    "ChartValues",
    "CpuWorkerGroup",
    "GpuAccelerator",
    "WorkerGroup",
    "WorkerGroups",
    "chart_dir",
    "check_values",
    "coalesce",
    "diff",
    "merged_values",
    "ray_accelerator_type",
    "schema_json",
    "sync",
    "values_schema",
    "write_schema",
]
