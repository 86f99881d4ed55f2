"""Run a tiny module through vLLM's own torch.compile decorator on CPU (run as a script).

Each run is a fresh engine-like process: vLLM's CPU platform turns the
compilation config into its CPU mode (Dynamo once, stock Inductor), the
decorator looks for its AOT artifact under VLLM_CACHE_ROOT, loads it or
compiles and saves it. Prints one JSON line: where gemma-serve predicts the
artifact, and vLLM's own counters of compiles and loads.
`--patch`: apply gemma-serve's patch first, as its CPU worker does.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import torch
from vllm.compilation.counter import compilation_counter
from vllm.compilation.decorators import support_torch_compile
from vllm.config import CompilationConfig, CompilationMode, VllmConfig, set_current_vllm_config

from gemma_serve.engine.compile_cache import patch_stock_aot_loading, saved_graph_paths


@support_torch_compile(dynamic_arg_dims={"x": 0})
class Tiny(torch.nn.Module):
    def __init__(self, *, vllm_config: VllmConfig, prefix: str = "") -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(8), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x) * self.weight + 1


def main() -> None:
    if "--patch" in sys.argv:
        patch_stock_aot_loading()
    config = VllmConfig(compilation_config=CompilationConfig(mode=CompilationMode.VLLM_COMPILE))
    with set_current_vllm_config(config):
        tiny = Tiny(vllm_config=config)
        worker = SimpleNamespace(
            vllm_config=config, model_runner=SimpleNamespace(model=torch.nn.Sequential(tiny))
        )
        predicted = saved_graph_paths(worker)
        x = torch.randn(5, 8)
        out = tiny(x)
    torch.testing.assert_close(out, torch.nn.functional.gelu(x) + 1)
    print(
        json.dumps(
            {
                "predicted": predicted,
                "compiles": compilation_counter.num_aot_compiles,
                "loads": compilation_counter.num_aot_artifacts_loaded,
            }
        )
    )


if __name__ == "__main__":
    main()
