"""Quantized checkpoints in the plan: weight bytes per format, the fits, vLLM's refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemma_serve import catalogue
from gemma_serve.catalogue import Accelerator
from gemma_serve.config.models import ModelConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import HostFacts, ModelPlan, fits, plan_model, quant
from gemma_serve.planner.render import vllm_argv

W4A16 = {"method": "compressed-tensors", "scheme": "W4A16"}
W8A8 = {"method": "compressed-tensors", "scheme": "W8A8"}
FP8 = {"method": "compressed-tensors", "scheme": "FP8_DYNAMIC"}
AVX2 = HostFacts(cores_per_node=2)
AVX512 = HostFacts(cores_per_node=2, cpu_features=("avx512",))


def _model(variant: str, accel: str = "cpu", length: int = 8192, **kw: Any) -> ModelConfig:
    engine = kw.pop("engine", {})
    return ModelConfig.model_validate(
        {
            "name": "m",
            "variant": variant,
            "source": "s",
            "max_model_len": length,
            "hardware": {"accelerator": accel, "count": kw.pop("count", 1)},
            "engine": engine,
            **kw,
        }
    )


def _plan(model: ModelConfig, host: HostFacts = AVX2) -> ModelPlan:
    return plan_model(model, host)


def _linear_params(variant: str) -> int:
    v = catalogue.variant(variant)
    h, i, q, kv = (
        v.hidden_size,
        v.intermediate_size,
        v.num_heads * v.head_dim,
        (v.num_kv_heads * v.head_dim),
    )
    return v.num_layers * (h * q + 2 * h * kv + q * h + 3 * h * i)


def test_weight_bytes_per_format_on_the_270m_by_hand() -> None:
    v = catalogue.variant("270m")
    linear = _linear_params("270m")
    rest = v.text_params() - linear  # embedding (tied lm_head) + norms, always bf16
    assert rest > v.vocab_size * v.hidden_size
    bf16 = _plan(_model("270m")).capacity.weight_bytes
    assert bf16 == 2 * v.text_params()
    # Per decoder block: q, k, v, o, gate, up, down with out-features 1024, 256, 256, 640,
    # 2048, 2048, 640 (sum 6912); inputs 640 except o (1024) and down (2048).
    outs = 6912 * v.num_layers
    w8a8 = _plan(_model("270m", engine={"quantization": W8A8})).capacity.weight_bytes
    assert w8a8 == 2 * rest + linear + 4 * outs  # int8 + one fp32 scale per output channel
    groups = v.num_layers * (1024 * 640 + 2 * 256 * 640 + 640 * 1024 + 2 * 2048 * 640
                             + 640 * 2048) // 128  # fmt: skip
    w4 = _plan(_model("270m", engine={"quantization": W4A16}), AVX512).capacity.weight_bytes
    assert w4 == 2 * rest + linear // 2 + 2 * groups  # int4 + a bf16 scale per 128 weights
    awq = {"method": "awq"}
    asym = _plan(_model("270m", engine={"quantization": awq}), AVX512).capacity.weight_bytes
    assert asym == w4 + groups // 2  # plus a 4-bit zero point per group
    gptq = {"method": "gptq"}  # symmetric, but GPTQ checkpoints always carry qzeros
    assert _plan(_model("270m", engine={"quantization": gptq}), AVX512).capacity.weight_bytes == (
        asym
    )


def test_27b_weights_halve_in_fp8_and_quarter_in_4bit() -> None:
    def weights(q: dict[str, Any] | None) -> int:
        model = _model("27b", "h100-80gb", engine={"quantization": q})
        return _plan(model).capacity.weight_bytes

    bf16, fp8, w4 = weights(None), weights(FP8), weights(W4A16)
    linear = _linear_params("27b")
    assert bf16 - fp8 == pytest.approx(linear, rel=0.01)
    assert bf16 - w4 == pytest.approx(1.5 * linear - 2 * linear / 128, rel=0.01)
    assert 14.5 * 2**30 < w4 < 15.5 * 2**30  # 4-bit linears, bf16 262K x 5376 embedding


def test_12b_fp8_fits_one_l4_where_bf16_needs_two() -> None:
    with pytest.raises(PlanError, match="does not fit on 1x l4"):
        _plan(_model("12b", "l4"))
    plan = _plan(_model("12b", "l4", engine={"quantization": FP8}))
    assert plan.tensor_parallel_size == 1 and plan.capacity.fits
    assert plan.engine.weight_scheme == "FP8_DYNAMIC"


def test_27b_4bit_fits_one_l4_with_its_kv_budget() -> None:
    base = {"quantization": W4A16, "max_num_seqs": 16}
    text_only = {"max_images_per_prompt": 0}
    plan = _plan(_model("27b", "l4", engine=base, multimodal=text_only))
    assert plan.tensor_parallel_size == 1
    assert plan.capacity.max_concurrent_full_context == 1
    fp8_kv = _plan(_model("27b", "l4", engine={**base, "kv_cache_dtype": "fp8"},
                          multimodal=text_only))  # fmt: skip
    assert fp8_kv.capacity.kv_capacity_tokens == pytest.approx(
        2 * plan.capacity.kv_capacity_tokens, rel=0.01
    )
    with pytest.raises(PlanError, match="does not fit on 1x l4"):
        _plan(_model("27b", "l4", engine={"max_num_seqs": 16}, multimodal=text_only))


def test_27b_fp8_on_one_h100_has_about_twice_the_kv_tokens_of_bf16() -> None:
    eng = {"max_num_seqs": 64, "max_num_batched_tokens": 4096}
    bf16 = _plan(_model("27b", "h100-80gb", 32768, engine=eng)).capacity
    fp8 = _plan(_model("27b", "h100-80gb", 32768, engine={**eng, "quantization": FP8})).capacity
    assert fp8.kv_capacity_tokens >= 2 * bf16.kv_capacity_tokens
    assert fp8.kv_cache_bytes - bf16.kv_cache_bytes == bf16.weight_bytes - fp8.weight_bytes


def test_the_method_reaches_vllm_and_nothing_else_of_the_quantization() -> None:
    plan = _plan(_model("12b", "l4", engine={"quantization": FP8}))
    argv = vllm_argv(plan, checkpoint="/c")
    assert argv[argv.index("--quantization") + 1] == "compressed-tensors"
    assert "FP8_DYNAMIC" not in " ".join(argv)
    assert "--quantization" not in vllm_argv(_plan(_model("12b", "a100-80gb")), checkpoint="/c")


def test_fp8_below_ada_runs_through_marlin_and_says_so() -> None:
    plan = _plan(_model("27b", "a100-80gb", engine={"quantization": {"method": "fp8"}}))
    notes = " ".join(plan.capacity.notes)
    assert "weight-only through Marlin" in notes and "a100-80gb (cc 8.0)" in notes
    h100 = _plan(_model("27b", "h100-80gb", engine={"quantization": {"method": "fp8"}}))
    assert "Marlin" not in " ".join(h100.capacity.notes)


def test_a_gpu_below_the_schemes_minimum_capability_is_refused() -> None:
    volta = Accelerator(name="v100", memory_bytes=16 * 2**30, ray_name="V100",
                        compute_capability=(7, 0))  # fmt: skip
    model = _model("4b", "l4", engine={"quantization": W4A16})
    with pytest.raises(PlanError, match=r"W4A16 needs compute capability 7\.5\+.*v100 has 7\.0"):
        quant.check(model, catalogue.variant("4b"), volta, ())
    quant.check(model, catalogue.variant("4b"), catalogue.accelerator("l4"), ())


@pytest.mark.parametrize(
    ("engine", "host", "pattern"),
    [
        ({"quantization": W4A16}, AVX2, r"W4A16 weights do not run on the CPU.*cpu_gemm_wna16"),
        ({"quantization": {"method": "awq"}}, AVX2, "W4A16_ASYM weights do not run on the CPU"),
        ({"kv_cache_dtype": "fp8"}, AVX2, "FP8 KV cache on CPU requires x86 with AVX-512 or AMX"),
        ({"quantization": {"method": "compressed-tensors", "scheme": "FP8_BLOCK"}}, AVX512,
         "needs amx"),
        ({"quantization": {"method": "fp8", "scheme": "FP8"}}, AVX512,
         "static_scaled_fp8_quant, an empty stub"),
    ],
)  # fmt: skip
def test_what_vllms_cpu_engine_cannot_run_on_this_isa_is_refused(
    engine: dict[str, Any], host: HostFacts, pattern: str
) -> None:
    with pytest.raises(PlanError, match=pattern) as err:
        _plan(_model("270m", engine=engine), host)
    assert "\n" not in str(err.value)


def test_what_the_cpu_engine_runs_on_each_isa_plans() -> None:
    assert _plan(_model("270m", engine={"quantization": W8A8})).engine.weight_scheme == "W8A8"
    assert _plan(_model("270m", engine={"quantization": FP8})).capacity.fits
    assert _plan(_model("270m", engine={"quantization": W4A16}), AVX512).capacity.fits
    fp8_kv = _plan(_model("270m", length=2048, engine={"kv_cache_dtype": "fp8"}), AVX512)
    assert fp8_kv.capacity.kv_capacity_tokens == 110_733  # vLLM's own count, seen on this host


def test_float32_with_a_method_that_takes_only_16_bit_activations_is_refused() -> None:
    with pytest.raises(PlanError, match=r"dtype=float32 is not supported for .* awq"):
        _plan(_model("4b", "l4", dtype="float32", engine={"quantization": {"method": "awq"}}))
    assert _plan(_model("4b", "l4", dtype="float32", engine={"quantization": W8A8})).capacity.fits


def test_group_scales_may_not_straddle_tensor_parallel_ranks() -> None:
    eng = {"quantization": W4A16}
    with pytest.raises(PlanError, match=r"tensor_parallel_size=16.*1344 input features"):
        _plan(_model("27b", "l4", count=16, tensor_parallel_size=16, engine=eng))
    per_channel = {"quantization": {**W4A16, "group_size": -1}}
    assert _plan(_model("27b", "l4", count=16, tensor_parallel_size=16, engine=per_channel))


def test_fits_table_cells_are_the_planners_decisions() -> None:
    assert fits.cell("12b", "l4", "bf16").tensor_parallel_size == 2
    assert fits.cell("12b", "l4", "FP8 (`fp8`, FP8_DYNAMIC)").tensor_parallel_size == 1
    assert fits.cell("27b", "h100-80gb", "bf16").tensor_parallel_size == 1
    a100 = fits.cell("27b", "a100-80gb", "FP8 (`fp8`, FP8_DYNAMIC)")
    assert a100.fallback and a100.markdown().endswith("*")
    table = fits.markdown_table()
    rows = len(catalogue.variant_names()) * len(fits.FORMATS)
    assert table.count("\n") == rows + 1
    assert all(f"| {g} " in table.splitlines()[0] + " " for g in catalogue.gpu_kinds())
    cpu = fits.cpu_table()
    assert "| W8A8 | yes | yes | yes |" in cpu and "| W4A16 | no | yes | yes |" in cpu
    assert "| FP8 KV cache | no | yes | yes |" in cpu


def test_host_cpu_features_come_from_cpuinfo_flags(tmp_path: Path) -> None:
    from gemma_serve.serve.cores import cpu_features

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx avx2 f16c\n")
    assert cpu_features(info) == ()
    flags = "avx2 avx512f avx512bw avx512vl avx512dq avx512_bf16 amx_tile amx_bf16"
    info.write_text(f"flags\t: {flags}\n")
    assert cpu_features(info) == ("avx512", "avx512_bf16", "amx")
    assert cpu_features(tmp_path / "missing") == ()
