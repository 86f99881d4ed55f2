"""The built-in Gemma 3 catalogue: architecture facts, TP rules, lookups."""

from __future__ import annotations

import pytest

from gemma_serve import catalogue
from gemma_serve.errors import ConfigError, PlanError


@pytest.mark.parametrize(
    ("name", "layers", "global_layers", "params_b", "text_gb"),
    [
        ("270m", 18, 3, 0.27, 0.54),
        ("1b", 26, 4, 1.0, 2.0),
        ("4b", 34, 5, 4.3, 7.8),
        ("12b", 48, 8, 12.2, 23.5),
        ("27b", 62, 10, 27.4, 54.0),
    ],
)
def test_architecture_matches_published_sizes(
    name: str, layers: int, global_layers: int, params_b: float, text_gb: float
) -> None:
    v = catalogue.variant(name)
    assert v.num_layers == layers
    assert v.num_global_layers == global_layers
    assert v.num_local_layers == layers - global_layers
    total = (v.text_params() + v.vision_params()) / 1e9
    assert total == pytest.approx(params_b, rel=0.04)
    assert v.text_params() * 2 / 1e9 == pytest.approx(text_gb, rel=0.03)


def test_vision_tower_is_siglip_400m_and_only_on_4b_plus() -> None:
    assert not catalogue.variant("270m").multimodal
    assert not catalogue.variant("1b").multimodal
    for name in ("4b", "12b", "27b"):
        v = catalogue.variant(name)
        assert v.multimodal
        assert 0.41e9 < v.vision_params() < 0.43e9
        assert v.vocab_size == 262_208


@pytest.mark.parametrize(
    ("name", "legal"),
    [
        ("270m", [1, 2, 4]),
        ("1b", [1, 2, 4]),
        ("4b", [1, 2, 4, 8]),
        ("12b", [1, 2, 4, 8, 16]),
        ("27b", [1, 2, 4, 8, 16, 32]),
    ],
)
def test_legal_tensor_parallel_sizes(name: str, legal: list[int]) -> None:
    assert catalogue.variant(name).legal_tp_sizes() == legal


def test_context_limits() -> None:
    assert catalogue.variant("270m").max_context == 32_768
    assert catalogue.variant("1b").max_context == 32_768
    for name in ("4b", "12b", "27b"):
        assert catalogue.variant(name).max_context == 131_072
    assert catalogue.MAX_OUTPUT_TOKENS == 8192


def test_accelerators_cover_the_required_kinds() -> None:
    names = set(catalogue.accelerator_names())
    assert {"cpu", "l4", "a10g", "a100-40gb", "a100-80gb", "h100-80gb", "h200"} <= names
    assert catalogue.accelerator("cpu").is_cpu
    assert catalogue.gpu_kinds() == [n for n in catalogue.accelerator_names() if n != "cpu"]
    assert catalogue.accelerator("l4").ray_name == "L4"
    sizes = [catalogue.accelerator(n).memory_bytes for n in ("l4", "a100-40gb", "h200")]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("27b", "27b"), ("27B", "27b"), ("gemma-3-27b-it", "27b"), ("google/gemma-3-1b-pt", "1b")],
)
def test_variant_lookup_accepts_common_spellings(given: str, expected: str) -> None:
    assert catalogue.variant(given).name == expected


def test_unknown_names_are_one_line_errors_listing_the_known() -> None:
    with pytest.raises(ConfigError, match=r"unknown Gemma 3 variant '3b' \(known: 270m, 1b"):
        catalogue.variant("3b")
    with pytest.raises(ConfigError, match="unknown accelerator 'v100'"):
        catalogue.accelerator("v100")
    assert catalogue.accelerator("H100").name == "h100-80gb"


def test_rules() -> None:
    one_b, four_b = catalogue.variant("1b"), catalogue.variant("4b")
    with pytest.raises(PlanError, match="float16"):
        catalogue.check_dtype(one_b, "float16")
    with pytest.raises(PlanError, match=r"fp16.*bfloat16"):
        catalogue.check_dtype(one_b, "fp16")
    assert catalogue.dtype_problem("bf16") is None
    catalogue.check_dtype(one_b, "bfloat16")
    with pytest.raises(PlanError, match="max_model_len=65536 exceeds gemma-3-1b's context"):
        catalogue.check_context(one_b, 65_536)
    catalogue.check_context(four_b, 131_072)
    with pytest.raises(PlanError, match="text-only"):
        catalogue.check_images(one_b, 1)
    catalogue.check_images(four_b, 5)
    with pytest.raises(PlanError, match="output limit of 8192"):
        catalogue.check_output(one_b, 8193)
    with pytest.raises(PlanError, match=r"tensor_parallel_size=3 .*legal: 1, 2, 4, 8, 16, 32"):
        catalogue.check_tensor_parallel(catalogue.variant("27b"), 3)


def test_quantization_schemes_and_which_method_loads_them() -> None:
    schemes = catalogue.builtin_schemes()
    assert next(iter(schemes)) == "bf16" and "bf16" not in catalogue.quant_scheme_names()
    assert catalogue.quant_methods() == ["compressed-tensors", "fp8", "awq", "gptq"]
    for name in catalogue.quant_scheme_names():
        assert "compressed-tensors" in schemes[name].methods, name  # llm-compressor makes all
        assert schemes[name].min_capability == 75  # vLLM's get_min_capability() for each
    assert catalogue.quant_problem("fp8", None) is None
    assert catalogue.quant_problem("compressed-tensors", "W4A16") is None
    assert "needs a scheme" in (catalogue.quant_problem("compressed-tensors", None) or "")
    assert "takes W4A16, W4A16_ASYM" in (catalogue.quant_problem("awq", "W8A8") or "")
    assert "does not load W4A16_ASYM" in (catalogue.quant_problem("gptq", "W4A16_ASYM") or "")
    assert "unknown" in (catalogue.quant_problem("fp8", "NF4") or "")
    # FP8 falls back below Ada (8.9); the int schemes run natively from Turing on.
    assert schemes["FP8_DYNAMIC"].native_capability == 89 and schemes["FP8_DYNAMIC"].fallback
    assert schemes["W4A16"].native_capability == 75 and schemes["W4A16"].fallback is None
