"""Let a warm compiled start on CPU load vLLM's AOT compile cache instead of compiling again.

On CPU, vLLM 0.32 compiles with torch's stock Inductor backend
(`vllm/platforms/cpu.py` turns `VLLM_COMPILE` into `DYNAMO_TRACE_ONCE` with
backend "inductor"), so the artifact it saves holds torch's
`BundledAOTAutogradSerializableCallable`, not vLLM's own
`VllmSerializableFunction`. vLLM's loader (`vllm/compilation/decorators.py:315`,
`_try_load_aot_compiled_fn`) ends every load with
`compiled_fn.finalize_loading(vllm_config)`, a method only vLLM's class has; the
torch wrapper forwards unknown attributes to the plain function it wraps
(`torch/_dynamo/aot_compile_types.py`, `__getattr__`), the AttributeError is
taken for a cache miss ("Compiling model again due to a load failure ...
'function' object has no attribute 'finalize_loading'"), and every start
compiles again. The torch artifact is complete once deserialized, so there is
nothing to finalize: the patch gives the torch wrapper a `finalize_loading`
that does nothing. It is applied in the engine's worker process (vLLM spawns
it), through `CompileCacheCPUWorker`, and is a no-op where torch or vLLM
already handle it.
"""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from vllm.v1.worker.cpu_worker import CPUWorker

#: `--worker-cls` of an engine that needs the patch (resolved by vLLM in its worker).
WORKER_CLS = "gemma_serve.engine.compile_cache.CompileCacheCPUWorker"


def _stock_aot_callable() -> type | None:
    try:
        from torch._dynamo.aot_compile_types import BundledAOTAutogradSerializableCallable
    except ImportError:  # torch without AOT compile: vLLM does not use the cache path
        return None
    return BundledAOTAutogradSerializableCallable


def needs_patch() -> bool:
    """True when torch's stock AOT artifact has no `finalize_loading` of its own."""
    cls = _stock_aot_callable()
    return cls is not None and getattr(cls, "finalize_loading", _finalize_loading) is (
        _finalize_loading
    )


def _finalize_loading(self: Any, vllm_config: Any) -> None:
    """Nothing to do: the Inductor artifact was fully loaded when deserialized."""


def patch_stock_aot_loading() -> bool:
    """Give torch's stock AOT artifact a no-op `finalize_loading`; True if this call added it."""
    cls = _stock_aot_callable()
    if cls is None or hasattr(cls, "finalize_loading"):
        return False
    cls.finalize_loading = _finalize_loading  # type: ignore[attr-defined]
    return True


class CompileCacheCPUWorker(CPUWorker):
    """vLLM's CPU worker, patched before it builds (and compiles or loads) the model."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        patch_stock_aot_loading()
        super().__init__(*args, **kwargs)


def configure(args: Namespace, *, on_cpu: bool) -> None:
    """Run a compiled CPU engine on the patched worker, unless a worker was chosen already."""
    if on_cpu and not args.enforce_eager and args.worker_cls == "auto" and needs_patch():
        args.worker_cls = WORKER_CLS
