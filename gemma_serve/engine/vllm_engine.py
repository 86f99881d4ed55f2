"""A vLLM engine and vLLM's own OpenAI app, built exactly as `vllm serve` builds them.

We parse the planner's argv with vLLM's own parser, start `AsyncLLM` with
vLLM's own client builder and mount vLLM's own routers, protocol models,
chat templating and sampling validation. What gemma-serve adds wraps this app;
nothing here re-implements vLLM.
"""

from __future__ import annotations

import types
from argparse import Namespace
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from gemma_serve.engine.errors import translate_engine_error

if TYPE_CHECKING:
    from fastapi import FastAPI
    from vllm.engine.protocol import EngineClient


def parse_vllm_args(argv: list[str]) -> Namespace:
    """Parse and validate `argv` with the OpenAI server's own argument parser."""
    from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = make_arg_parser(FlexibleArgumentParser(prog="vllm"))
    args = parser.parse_args(argv)
    validate_parsed_serve_args(args)
    return args


class VllmEngine:
    """One running AsyncLLM plus the FastAPI app vLLM builds around it."""

    def __init__(self, args: Namespace, client: EngineClient, app: FastAPI, stack: AsyncExitStack):
        self.args = args
        self.client = client
        self.app = app
        self._stack = stack

    @classmethod
    async def start(cls, argv: list[str]) -> VllmEngine:
        """Start the engine process and build vLLM's app state, as `vllm serve` does."""
        from vllm.entrypoints.launchers.api_server.app_state import init_app_state
        from vllm.entrypoints.launchers.api_server.entry import build_async_engine_client
        from vllm.entrypoints.launchers.app import build_app
        from vllm.platforms import current_platform

        from gemma_serve.engine import compile_cache

        args = parse_vllm_args(argv)
        # vLLM 0.32 on CPU never loads its own compile cache; see compile_cache.
        compile_cache.configure(args, on_cpu=current_platform.is_cpu())
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(build_async_engine_client(args))
            tasks = await client.get_supported_tasks()
            app = build_app(args, tasks, client.model_config)
            await init_app_state(client, app.state, args, tasks)
        except BaseException as exc:
            await stack.aclose()
            raise translate_engine_error(exc) from exc
        # vLLM's engine-error handler flips `state.server.should_exit` (its uvicorn
        # server); under Ray Serve the replica's health check restarts us instead.
        app.state.server = types.SimpleNamespace()
        return cls(args, client, app, stack)

    @property
    def model_config(self) -> Any:
        return self.client.model_config

    async def check_health(self) -> None:
        """Raise EngineDead if the engine process is gone or errored."""
        try:
            await self.client.check_health()
        except BaseException as exc:
            raise translate_engine_error(exc) from exc
        if self.client.errored:
            raise translate_engine_error(RuntimeError("engine reported an error"))

    async def shutdown(self) -> None:
        await self._stack.aclose()
