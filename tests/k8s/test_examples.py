"""One chart example per GPU profile in configs/, carrying the profile verbatim."""

from __future__ import annotations

from pathlib import Path

import yaml

from gemma_serve.config.loader import load_config
from gemma_serve.k8s import chart_dir
from gemma_serve.k8s.examples import example_for, sync_examples

CONFIGS = chart_dir().parents[1] / "configs"
EXAMPLES = chart_dir() / "examples"


def _gpu_profiles() -> list[Path]:
    return [
        p
        for p in sorted(CONFIGS.glob("*.yaml"))
        if all(m.hardware.accelerator != "cpu" for m in load_config(p, env={}).models)
    ]


def test_examples_are_generated_from_the_profiles() -> None:
    assert sync_examples(CONFIGS, EXAMPLES, write=False) == [], (
        "run: python -m gemma_serve.k8s sync"
    )


def test_every_gpu_profile_has_its_example() -> None:
    profiles = _gpu_profiles()
    assert {p.name for p in profiles} == {p.name for p in EXAMPLES.glob("*.yaml")}
    promised = {"1b-l4", "4b-l4", "12b-a100-80gb", "12b-2xl4", "27b-h100", "27b-2xh100"}
    assert {f"gemma3-{name}.yaml" for name in promised} <= {p.name for p in profiles}
    for profile in profiles:
        example = yaml.safe_load((EXAMPLES / profile.name).read_text())
        assert example["gemmaServe"] == yaml.safe_load(profile.read_text())


def test_cpu_profiles_get_no_example(tmp_path: Path) -> None:
    profile = tmp_path / "cpu.yaml"
    profile.write_text("models:\n  - {name: m, variant: 270m, source: 'embedded:gemma-3-270m'}\n")
    assert example_for(profile) is None
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.yaml").write_text("{}")
    assert sync_examples(tmp_path, tmp_path / "out") == [f"remove {tmp_path / 'out/stale.yaml'}"]
    assert not (tmp_path / "out" / "stale.yaml").exists()
