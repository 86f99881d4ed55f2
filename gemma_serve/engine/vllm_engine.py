"""A vLLM engine and vLLM's own OpenAI app, built exactly as `vllm serve` builds them.

We parse the planner's argv with vLLM's own parser, start `AsyncLLM` with
vLLM's own client builder and mount vLLM's own routers, protocol models,
chat templating and sampling validation. What gemma-serve adds wraps this app;
nothing here re-implements vLLM.
"""

from __future__ import annotations

import types
from argparse import Namespace
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from gemma_serve.engine.errors import translate_engine_error
from gemma_serve.errors import EngineDead

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
        from vllm.entrypoints.launchers.app import build_app
        from vllm.platforms import current_platform

        from gemma_serve.engine import compile_cache

        args = parse_vllm_args(argv)
        # vLLM 0.32 on CPU never loads its own compile cache; see compile_cache.
        compile_cache.configure(args, on_cpu=current_platform.is_cpu())
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(_engine_client(args))
            tasks = await client.get_supported_tasks()
            app = build_app(args, tasks, client.model_config)
            await init_app_state(client, app.state, args, tasks)
        except BaseException as exc:
            await stack.aclose()
            raise translate_engine_error(exc, doing="vLLM failed to start") from exc
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
            raise translate_engine_error(exc, doing="engine health check") from exc
        if self.client.errored:
            raise EngineDead("the vLLM engine reported an error and stopped serving")

    async def shutdown(self) -> None:
        await self._stack.aclose()


@asynccontextmanager
async def _engine_client(args: Namespace) -> AsyncIterator[EngineClient]:
    """vLLM's `build_async_engine_client`, with vLLM's Ray stat logger for the engine metrics.

    As Ray Serve LLM does: the series go through Ray's metrics API (tagged with the
    Serve replica) and each node's metrics agent exports them, so one scrape per node
    sees every replica. vLLM's default logger would keep them in this process's
    prometheus_client registry, reachable only through a load-balanced port.
    """
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.entrypoints.launchers.cli_args import propagate_flash_late_interaction
    from vllm.usage.usage_lib import UsageContext
    from vllm.v1.engine.async_llm import AsyncLLM
    from vllm.v1.metrics.ray_wrappers import RayPrometheusStatLogger

    engine_args = AsyncEngineArgs.from_cli_args(args)
    propagate_flash_late_interaction(args, engine_args)
    usage = UsageContext.OPENAI_API_SERVER
    config = engine_args.create_engine_config(usage_context=usage)
    client = AsyncLLM.from_vllm_config(
        vllm_config=config,
        usage_context=usage,
        stat_loggers=[RayPrometheusStatLogger],
        enable_log_requests=engine_args.enable_log_requests,
        aggregate_engine_logging=engine_args.aggregate_engine_logging,
        disable_log_stats=engine_args.disable_log_stats,
    )
    try:
        await client.reset_mm_cache()  # as vLLM's builder: no dummy data kept in memory
        yield client
    finally:
        client.shutdown(timeout=config.shutdown_timeout)
