"""The one place where vLLM's and Ray's exceptions become gemma-serve's: by type, in a table.

An exception is never classified by the words of its message. What the table
does not name becomes an `EngineError` (HTTP 500) carrying the engine's own
message, which is also logged with its traceback.
"""

from __future__ import annotations

import asyncio
import logging

from gemma_serve.errors import EngineDead, EngineError, GemmaServeError

logger = logging.getLogger(__name__)


def _table() -> list[tuple[type[BaseException], type[GemmaServeError]]]:
    """Engine-side exception types, most specific first, and what each becomes."""
    from ray.exceptions import RayActorError
    from vllm.v1.engine.exceptions import EngineDeadError

    return [(EngineDeadError, EngineDead), (RayActorError, EngineDead)]


def translate_engine_error(
    exc: BaseException, *, doing: str = "the engine failed"
) -> BaseException:
    """Map an engine-side exception onto the gemma-serve tree; interrupts pass through."""
    if isinstance(exc, GemmaServeError | KeyboardInterrupt | SystemExit | asyncio.CancelledError):
        return exc
    text = (str(exc) or type(exc).__name__).splitlines()[0]
    for engine_type, ours in _table():
        if isinstance(exc, engine_type):
            return ours(f"{doing}: {type(exc).__name__}: {text}")
    logger.error("%s: %s", doing, text, exc_info=exc)
    return EngineError(f"{doing}: {type(exc).__name__}: {text}")
