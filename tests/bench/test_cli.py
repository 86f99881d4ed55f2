"""`gemma-serve bench` argument handling (the CLI module is gemma_serve/cli/bench.py)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from gemma_serve.bench.args import build_spec, launchers, targets
from gemma_serve.bench.datasets import ImageChat, SharedPrefixChat
from gemma_serve.bench.errors import BenchError, LaunchError
from gemma_serve.bench.launch import SubprocessLauncher
from gemma_serve.bench.lengths import FixedLength, UniformLength
from gemma_serve.bench.loads import ConcurrentLoad, PoissonLoad
from gemma_serve.cli import bench as cli
from gemma_serve.errors import ConfigError, GemmaServeError

FIXTURES = Path(__file__).parent / "fixtures"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gemma-serve")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bench", *argv])


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.run(parse(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_flags_build_the_spec() -> None:
    args = parse(
        "--base-url http://h:1 --model m --concurrency 1,4,16 --num-prompts 20 "
        "--input-len 100 --input-dist uniform --output-len 64 --slo ttft:500 "
        '--rate 2 --max-seconds 30 --seed 3 --extra-body {"top_k":1}'.split()
    )
    spec = build_spec(args)
    assert spec.loads == [ConcurrentLoad(concurrency=c) for c in (1, 4, 16)] + [PoissonLoad(rate=2)]
    assert spec.num_requests == 20 and spec.max_seconds == 30 and spec.seed == 3
    assert spec.dataset.output_len == FixedLength(value=64)
    assert spec.dataset.input_len == UniformLength(low=50, high=150)  # type: ignore[union-attr]
    assert spec.slo.ttft_ms == 500 and spec.extra_body == {"top_k": 1}
    assert spec.resolved_api == "completions" and spec.ignore_eos


def test_chat_datasets_default_to_chat() -> None:
    spec = build_spec(
        parse("--dataset shared-prefix --num-prefixes 3 --turns 2 --system-prompt-len 500".split())
    )
    assert isinstance(spec.dataset, SharedPrefixChat) and spec.resolved_api == "chat"
    assert spec.dataset.num_prefixes == 3 and spec.dataset.system_prompt_len.upper == 500
    spec = build_spec(parse("--dataset image --image-size 64x32 --images-per-request 2".split()))
    assert isinstance(spec.dataset, ImageChat) and (spec.dataset.width, spec.dataset.height) == (
        64,
        32,
    )


def test_side_by_side_targets_and_launchers() -> None:
    args = parse(
        [
            "--model",
            "m",
            "--side-by-side",
            "gs=http://h:8000",
            "--side-by-side",
            "vllm=http://h:8123/v1",
            "--target-model",
            "vllm=/models/x",
            "--launch",
            "vllm=python -m vllm.entrypoints.openai.api_server --port 8123",
        ]
    )
    tgts = targets(args)
    assert [(t.name, t.base_url, t.model) for t in tgts] == [
        ("gs", "http://h:8000", "m"),
        ("vllm", "http://h:8123", "/models/x"),
    ]
    launch = launchers(args, tgts)["vllm"]
    assert isinstance(launch, SubprocessLauncher)
    assert launch.health_url == "http://h:8123/health" and launch.argv[:2] == ["python", "-m"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ("--model m", "--base-url and --model are required"),
        ("--base-url http://h --model m --concurrency 0", "--concurrency '0': expected positive"),
        ("--base-url ftp://h --model m", "must start with http"),
        ("--base-url http://h --model m --api completions --dataset image", "needs api 'chat'"),
        ("--base-url http://h --model m --spec x.yaml --num-prompts 3", "cannot be combined"),
        (
            "--base-url http://h --model m --input-dist uniform --input-len 3 --input-spread -9",
            "--input-len",
        ),
        ("--model m --side-by-side a=http://h", "two or more"),
        ("--base-url http://h --model m --launch b=cmd", "no target of that name"),
        ("--report-from /nonexistent.json", "cannot read"),
        (
            "--model m --side-by-side a=http://h --side-by-side b=http://g --parity-vllm",
            "one target",
        ),
        ("--base-url http://h --model m --parity-vllm --tolerance 2", "--tolerance"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv.split(), capsys)
    assert code == 2
    assert err.startswith("gemma-serve: error: ") and err.count("\n") == 1
    assert message in err


def test_unreachable_server_fails_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        "--base-url http://127.0.0.1:9 --model m --num-prompts 1 --no-progress".split(), capsys
    )
    assert code == 1 and "warm-up against http://127.0.0.1:9 failed" in err


def test_a_server_that_cannot_start_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        [
            "--base-url",
            "http://127.0.0.1:9",
            "--model",
            "m",
            "--launch",
            "target=/nonexistent/server --port 9",
            "--no-progress",
        ],
        capsys,
    )
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("gemma-serve: error: cannot start /nonexistent/server")


def test_bench_errors_carry_no_http_status_of_their_own() -> None:
    """A client's failure is not an HTTP answer: no status or OpenAI error type is set."""
    for cls in (BenchError, LaunchError):
        assert "status_code" not in vars(cls) and "error_type" not in vars(cls)
    assert issubclass(LaunchError, BenchError) and issubclass(BenchError, GemmaServeError)


def test_report_from_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(FIXTURES / "bench_result.json", tmp_path / "result.json")
    code, out, _ = run(["--report-from", str(tmp_path / "result.json"), "--no-plots"], capsys)
    assert code == 0 and "c=4" in out
    assert (tmp_path / "summary.md").read_text().startswith("# Benchmark: bare-vllm")


def test_spec_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("loads: [{kind: burst, size: 4, interval_s: 2}]\nnum_requests: 8\n")
    spec = build_spec(parse(["--spec", str(path)]))
    assert spec.num_requests == 8 and spec.loads[0].label == "burst 4/2s"


def test_scenarios_in_benchmarks_dir_are_valid() -> None:
    scenarios = sorted((Path(__file__).parents[2] / "benchmarks" / "scenarios").glob("*.yaml"))
    assert scenarios
    for path in scenarios:
        build_spec(parse(["--spec", str(path)]))


def test_build_spec_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        build_spec(parse(["--rate", "fast"]))
