"""Chart example values, one per GPU profile in configs/, generated from the profile.

The profile's text becomes the `gemmaServe` key verbatim (comments included),
so a profile and its chart example cannot disagree: edit configs/, then run
`python -m gemma_serve.k8s sync`. CPU profiles get no example: they describe
this machine (its cores, the core ids engines bind), not a pod;
tests/cluster/values-cpu.yaml is the chart's CPU example.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from gemma_serve.config.loader import validate_config

#: GKE's node label value for each GPU kind (a hint in the examples' comments).
_GKE_ACCELERATOR = {
    "l4": "nvidia-l4",
    "a10g": "",
    "a100-40gb": "nvidia-tesla-a100",
    "a100-80gb": "nvidia-a100-80gb",
    "h100-80gb": "nvidia-h100-80gb",
    "h200": "nvidia-h200-141gb",
}

_EKS_HINT = "node.kubernetes.io/instance-type: g5.2xlarge"

#: Cache size for a variant's checkpoint (bf16 weights plus room for a second revision).
_CACHE_SIZE = {"270m": "20Gi", "1b": "20Gi", "4b": "50Gi", "12b": "100Gi", "27b": "200Gi"}


def example_for(profile: Path) -> str | None:
    """The example values text for `profile`, or None if it is not a GPU profile."""
    text = profile.read_text()
    config = validate_config(yaml.safe_load(text))
    kinds = sorted({m.hardware.accelerator for m in config.models})
    if "cpu" in kinds:
        return None
    size = max((_CACHE_SIZE[m.variant] for m in config.models), key=lambda s: int(s[:-2]))
    groups = "\n".join(_group(kind) for kind in kinds)
    return (
        f"# Generated from configs/{profile.name} by `python -m gemma_serve.k8s sync`:\n"
        "# edit the profile, not this file. Install with (see the chart's README):\n"
        f"#   helm install gemma helm/gemma-serve -f helm/gemma-serve/examples/{profile.name} \\\n"
        "#     --set image.repository=REGISTRY/gemma-serve\n"
        "\n"
        "huggingface:\n"
        "  tokenSecret: {name: hf-token, key: HF_TOKEN}\n"
        "\n"
        "# Shared cache: a new pod loads the checkpoint from it instead of the Hub.\n"
        "# Needs a ReadWriteMany storage class; without one use `type: emptyDir`.\n"
        "modelCache:\n"
        "  type: pvc\n"
        "  pvc:\n"
        f"    size: {size}\n"
        "    accessModes: [ReadWriteMany]\n"
        "\n"
        "# Pods per GPU kind follow the profile: gpusPerPod = hardware.count, and\n"
        "# minPods/maxPods from its autoscaling.\n"
        "workerGroups:\n"
        f"{groups}\n"
        "\n"
        f"# configs/{profile.name}, verbatim.\n"
        "gemmaServe:\n"
        f"{textwrap.indent(text.rstrip(), '  ')}\n"
    )


def _group(kind: str) -> str:
    gke = _GKE_ACCELERATOR[kind]
    hint = f"cloud.google.com/gke-accelerator: {gke}" if gke else _EKS_HINT
    return f"  {kind}:\n    # Pin to this GPU's nodes, e.g. {{{hint}}}\n    nodeSelector: {{}}"


def sync_examples(configs: Path, examples: Path, *, write: bool = True) -> list[str]:
    """One example per GPU profile, none without one; returns the changes (made if `write`)."""
    changes: list[str] = []
    wanted: dict[str, str] = {}
    for profile in sorted(configs.glob("*.yaml")):
        text = example_for(profile)
        if text is not None:
            wanted[profile.name] = text
    for stale in sorted(examples.glob("*.yaml")):
        if stale.name not in wanted:
            changes.append(f"remove {stale}")
            if write:
                stale.unlink()
    for name, text in wanted.items():
        path = examples / name
        if not path.exists() or path.read_text() != text:
            changes.append(f"write {path}")
            if write:
                examples.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return changes
