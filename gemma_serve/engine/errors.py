"""The one place where vLLM's and Ray's exceptions become gemma-serve's."""

from __future__ import annotations

from gemma_serve.errors import EngineDead, GemmaServeError, PlanError


def translate_engine_error(exc: BaseException) -> BaseException:
    """Map an engine-side exception onto the gemma-serve tree (others pass through)."""
    if isinstance(exc, GemmaServeError | KeyboardInterrupt | SystemExit):
        return exc
    name = type(exc).__name__
    text = str(exc) or name
    if name in ("EngineDeadError", "EngineGenerateError") or "EngineCore" in text:
        return EngineDead(f"vLLM engine is not running: {text.splitlines()[0]}")
    if "KV cache" in text or "max_model_len" in text or "memory" in text.lower():
        return PlanError(f"vLLM refused the plan: {text.splitlines()[0]}")
    if name == "RayActorError" or name == "ActorDiedError":
        return EngineDead(f"engine actor died: {text.splitlines()[0]}")
    return exc
