"""Warm compiled starts on CPU: load vLLM's AOT compile cache, then skip the full-size warm-up.

1. The cache never loads. On CPU, vLLM 0.32 compiles with torch's stock Inductor
   backend (`vllm/platforms/cpu.py` turns `VLLM_COMPILE` into `DYNAMO_TRACE_ONCE`
   with backend "inductor"), so the artifact it saves holds torch's
   `BundledAOTAutogradSerializableCallable`, not vLLM's own
   `VllmSerializableFunction`. vLLM's loader (`vllm/compilation/decorators.py:315`,
   `_try_load_aot_compiled_fn`) ends every load with
   `compiled_fn.finalize_loading(vllm_config)`, a method only vLLM's class has; the
   torch wrapper forwards unknown attributes to the plain function it wraps
   (`torch/_dynamo/aot_compile_types.py`, `__getattr__`), the AttributeError is
   taken for a cache miss ("Compiling model again due to a load failure ...
   'function' object has no attribute 'finalize_loading'"), and every start
   compiles again. The torch artifact is complete once deserialized, so there is
   nothing to finalize: `patch_stock_aot_loading` gives the torch wrapper a
   `finalize_loading` that does nothing (and nothing when torch has its own).
2. Even with the graph loaded, vLLM's CPU worker runs a profile forward of
   `max_num_batched_tokens` tokens before it sizes the KV cache
   (`vllm/v1/worker/cpu_worker.py`, `determine_available_memory`): it is where the
   graph gets compiled, and where RSS is measured when no KV size is given. With
   the KV size given (gemma-serve always sets `VLLM_CPU_KVCACHE_SPACE`) and the
   saved graph on disk, a short forward loads it; the full-size one only burns
   bf16 matmuls (tens of seconds on a 2-core AVX2 host).

Both run in the engine's worker process (vLLM spawns it), through
`CompileCacheCPUWorker`, chosen with `--worker-cls`.
"""

from __future__ import annotations

import hashlib
import os
from argparse import Namespace
from typing import Any

from vllm.logger import init_logger
from vllm.v1.worker.cpu_worker import CPUWorker

# Under vLLM's logger, so the line shows in the engine's log with vLLM's own.
logger = init_logger(f"vllm.{__name__}")

#: `--worker-cls` of a compiled CPU engine (resolved by vLLM in its worker process).
WORKER_CLS = "gemma_serve.engine.compile_cache.CompileCacheCPUWorker"
#: Tokens of the forward that loads a saved graph (any size in its compiled range does;
#: above 1, which Dynamo would specialize on).
LOAD_TOKENS = 16


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


def saved_graph_paths(worker: Any) -> list[str]:
    """Where vLLM will look for this worker's AOT-compiled graphs (empty: no AOT cache).

    The same key vLLM computes on a module's first call (`decorators.py`, the
    `VLLM_USE_AOT_COMPILE` branch of `__call__`): env and config factors plus the
    module's forward, one file per rank.
    """
    import vllm.envs as envs
    from vllm.compilation.caching import aot_compile_hash_factors
    from vllm.compilation.decorators import _model_hash_key

    if not envs.VLLM_USE_AOT_COMPILE or envs.VLLM_DISABLE_COMPILE_CACHE:
        return []
    config = worker.vllm_config
    parallel = config.parallel_config
    paths = []
    for module in worker.model_runner.model.modules():
        if getattr(module, "do_not_compile", True):  # set on every @support_torch_compile
            continue
        factors = [*aot_compile_hash_factors(config), _model_hash_key(module.forward)]
        key = hashlib.sha256(str(factors).encode()).hexdigest()
        rank = f"rank_{parallel.rank}_{parallel.data_parallel_index}"
        root = os.path.join(envs.VLLM_CACHE_ROOT, "torch_compile_cache", "torch_aot_compile")
        paths.append(os.path.join(root, key, rank, "model"))
    return paths


class CompileCacheCPUWorker(CPUWorker):
    """vLLM's CPU worker that loads its saved compiled graph and skips the full-size warm-up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        patch_stock_aot_loading()
        super().__init__(*args, **kwargs)
        self._graph_loaded = False

    def determine_available_memory(self) -> int:
        if self._can_load_short():
            from vllm.v1.worker.cpu_model_runner import _set_global_compilation_settings

            with _set_global_compilation_settings(self.vllm_config):
                self.model_runner._dummy_run(LOAD_TOKENS, is_profile=True)
            self._graph_loaded = True
            logger.info(
                "Loaded the saved compiled graph with a %d-token forward; skipped the "
                "%d-token warm-up",
                LOAD_TOKENS,
                self.model_runner.max_num_tokens,
            )
        return super().determine_available_memory()

    def _should_warm_up_model(self) -> bool:
        return not self._graph_loaded and super()._should_warm_up_model()

    def _can_load_short(self) -> bool:
        # A miss compiles on this first forward, at its size: keep vLLM's full-size one then.
        # One rank only: a TP group's profile run also sizes its communication buffers.
        if self.cache_config.kv_cache_memory_bytes is None:
            return False
        if self.parallel_config.world_size != 1:
            return False
        paths = saved_graph_paths(self)
        return bool(paths) and all(os.path.isfile(p) for p in paths)


def configure(args: Namespace, *, on_cpu: bool) -> None:
    """Run a compiled CPU engine on gemma-serve's worker, unless a worker was chosen already."""
    if on_cpu and not args.enforce_eager and args.worker_cls == "auto":
        args.worker_cls = WORKER_CLS
