"""`gemma-serve plan` through its argparse surface: tables, JSON, one-line errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gemma_serve.cli import plan as plan_cli
from gemma_serve.planner import fits


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="gemma-serve")
    plan_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plan", *argv])
    code = plan_cli.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_plan_for_27b_on_h100(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--variant", "27b", "--gpu", "h100-80gb", "--max-model-len", "32768", "--json"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    (plan,) = json.loads(out)["models"]
    assert plan["tensor_parallel_size"] == 1
    assert plan["capacity"]["kv_bytes_per_token"] == 80 * 1024
    assert plan["capacity"]["max_concurrent_full_context"] >= 1
    assert "--enforce-eager" not in plan["launch"]["vllm_argv"]


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--variant", "4b", "--gpu", "l4", "--max-model-len", "32768"], capsys)
    assert code == 0
    assert "KV capacity" in out and "tokens" in out and "gemma-3-4b on 1x l4" in out


def test_gpus_flag_lets_the_planner_pick_tp(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--variant", "27b", "--gpu", "l4", "--gpus", "8", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["models"][0]["tensor_parallel_size"] == 4


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--variant", "3b"], "unknown Gemma 3 variant '3b'"),
        (["--variant", "1b", "--max-model-len", "65536"], "exceeds gemma-3-1b's context of 32768"),
        (["--variant", "1b", "--dtype", "float16"], "dtype=float16 is not supported"),
        (["--variant", "27b", "--gpu", "l4", "--gpus", "4", "--tp", "3"], "not legal"),
        (["--variant", "1b", "--images", "1"], "gemma-3-1b is text-only"),
        (["--variant", "27b", "--gpu", "l4"], "gemma-3-27b does not fit on 1x l4"),
        (["--variant", "4b", "--gpu", "tpu"], "unknown accelerator 'tpu'"),
        (["--variant", "4b", "--gpus", "0"], "--gpus=0"),
        ([], "give --variant"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("gemma-serve: error: ")
    assert needle in err


def test_27b_on_one_l4_says_what_would_work(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = _run(["--variant", "27b", "--gpu", "l4", "--max-model-len", "4096"], capsys)
    assert "would work: 4x l4" in err and "1x a100-80gb" in err


def test_config_file_errors_name_the_model_and_fp16(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("models:\n  - {name: tiny, variant: 1b, source: x, max_model_len: 65536}\n")
    code, _, err = _run(["--config", str(cfg)], capsys)
    assert code == 2 and "model 'tiny': max_model_len=65536" in err
    cfg.write_text("models:\n  - {name: tiny, variant: 1b, source: x, dtype: float16}\n")
    code, _, err = _run(["--config", str(cfg)], capsys)
    assert code == 2 and "dtype='float16'" in err and "use bfloat16" in err
    assert err.count("\n") == 1
    cfg.write_text("models:\n  - {name: tiny, variant: 3b, source: x}\n")
    code, _, err = _run(["--config", str(cfg)], capsys)
    assert code == 2 and "variant='3b'" in err


def test_quantized_model_from_flags(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--variant", "12b", "--gpu", "l4", "--quantization", "compressed-tensors",
            "--scheme", "FP8_DYNAMIC", "--json"]  # fmt: skip
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    (plan,) = json.loads(out)["models"]
    assert plan["tensor_parallel_size"] == 1 and plan["engine"]["weight_scheme"] == "FP8_DYNAMIC"
    argv_vllm = plan["launch"]["vllm_argv"]
    assert argv_vllm[argv_vllm.index("--quantization") + 1] == "compressed-tensors"
    code, out, _ = _run(["--variant", "12b", "--gpu", "l4", "--quantization", "fp8"], capsys)
    assert code == 0 and "FP8_DYNAMIC (fp8)" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--variant", "4b", "--quantization", "compressed-tensors"], "needs a scheme"),
        (["--variant", "4b", "--quantization", "awq", "--scheme", "W8A8"], "does not load W8A8"),
        (["--variant", "4b", "--scheme", "W4A16"], "--scheme and --group-size describe"),
        (["--variant", "270m", "--kv-cache-dtype", "fp8"], "requires x86 with AVX-512 or AMX"),
    ],
)
def test_quantization_errors_are_one_line(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gemma_serve.planner import HostFacts

    monkeypatch.setattr(plan_cli, "local_facts", lambda: HostFacts(cores_per_node=2))
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and needle in err, err


def test_fits_prints_every_format_on_every_gpu_kind(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--variant", "27b", "--fits", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)["fits"]
    assert {r["weights"] for r in rows} == set(fits.FORMATS)
    by = {r["weights"]: r["gpus"] for r in rows}
    assert by["bf16"]["l4"]["tensor_parallel_size"] == 4
    assert json.loads(out)["max_model_len"] == 4096  # the flag's default
    assert by["W4A16 + FP8 KV"]["l4"]["tensor_parallel_size"] == 1
    assert by["bf16"]["h100-80gb"]["tensor_parallel_size"] == 1
