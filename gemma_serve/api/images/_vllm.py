"""Raw-prompt completions with images, run by vLLM's own /v1/completions route."""

from __future__ import annotations

from typing import Any


async def run_vllm_completion(
    vllm_app: Any, payload: dict[str, Any], images: list[Any], scope: Any, receive: Any, send: Any
) -> None:
    """Run vLLM's /v1/completions route with the images as `multi_modal_data`.

    The HTTP schema has no image field, but the engine input it renders does
    (as in `LLM.generate`); responses, streaming, usage and errors stay vLLM's.
    """
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError
    from starlette.requests import Request
    from vllm.entrypoints.openai.completion.api_router import create_completion
    from vllm.entrypoints.openai.completion.protocol import CompletionRequest

    raw = Request({**scope, "app": vllm_app}, receive)
    try:
        request = CompletionRequest.model_validate(payload)
        mm_prompt = {"prompt": payload["prompt"], "multi_modal_data": {"image": images}}
        response = await create_completion(request.model_copy(update={"prompt": mm_prompt}), raw)
    except Exception as exc:  # answered by the handler vLLM's app registered for it
        error = RequestValidationError(exc.errors()) if isinstance(exc, ValidationError) else exc
        handler = next(
            (h for c in type(error).__mro__ if (h := vllm_app.exception_handlers.get(c))), None
        )
        if handler is None:
            raise
        response = await handler(raw, error)
    if response is not None:  # None: the client went away
        await response(scope, receive, send)
