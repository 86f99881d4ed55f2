"""Save and load a torch AOT artifact the way vLLM's CPU engine does (run as a script).

`save DIR`: compile a tiny module with the stock Inductor backend and torch's AOT
API, as `TorchCompileWithNoGuardsWrapper` does when vLLM runs on CPU, and save it.
`load DIR [--patch]`: load it through vLLM's own loader (`_try_load_aot_compiled_fn`)
in a fresh process, optionally after gemma-serve's patch; print LOADED or MISSED.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch


class Tiny(torch.nn.Module):
    """Stands in for vLLM's model: the attributes its AOT loader reads, one small graph."""

    def __init__(self) -> None:
        super().__init__()
        from vllm.config import VllmConfig

        self.vllm_config = VllmConfig()
        self.compilation_config = self.vllm_config.compilation_config
        self._is_encoder = False
        self.weight = torch.nn.Parameter(torch.ones(8), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x) * self.weight + 1


def save(path: Path) -> None:
    model = Tiny()
    with torch._dynamo.config.patch(enable_aot_compile=True):
        compiled = torch.compile(
            model.forward,
            fullgraph=True,
            dynamic=False,
            backend="inductor",
            options={"guard_filter_fn": torch.compiler.skip_all_guards_unsafe},
        )
        fn = compiled.aot_compile(((torch.randn(4, 8),), {}))
    fn.save_compiled_function(str(path))


def load(path: Path, *, patch: bool) -> None:
    from vllm.compilation.decorators import _try_load_aot_compiled_fn

    if patch:
        from gemma_serve.engine.compile_cache import patch_stock_aot_loading

        patch_stock_aot_loading()
    model = Tiny()
    loaded = _try_load_aot_compiled_fn(model, str(path))
    if loaded is None:
        print("MISSED")
        return
    x = torch.randn(4, 8)
    torch.testing.assert_close(loaded(model, x), model.forward(x))
    print("LOADED")


if __name__ == "__main__":
    command, where = sys.argv[1], Path(sys.argv[2])
    if command == "save":
        save(where)
    else:
        load(where, patch="--patch" in sys.argv)
