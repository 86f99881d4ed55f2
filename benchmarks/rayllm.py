"""Ray Serve LLM with gemma-serve's engine settings, as a Serve config for `serve run`.

The benchmark does not import Ray: it writes a Serve config file whose one
application is `ray.serve.llm:build_openai_app` and starts Ray's own CLI on it.
The mode is the best Ray documents for throughput and latency: HAProxy ingress,
throughput-optimized Serve, direct streaming (HAProxy -> replica -> vLLM's own
FastAPI app, one model per app), no stream batching
(`stream_batching_interval_ms: 0`) and a bounded `max_ongoing_requests`.
The engine gets the same vLLM settings (the argv translated to `engine_kwargs`)
and the same engine environment (`runtime_env.env_vars`) as gemma-serve's replica.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from benchmarks.vllm_args import parse_vllm_argv
from gemma_serve.bench.errors import BenchError

#: Environment of `serve run` (read by Serve's controller when it builds the app).
SERVE_ENV = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": "1",
}
#: Bounded, as Ray's defaults (1e9) are not; well above the suite's 16 streams, so
#: Serve never queues a request the engine could have scheduled.
MAX_ONGOING_REQUESTS = 64
APP_NAME = "ray-serve-llm"


Accelerator = Literal["cpu", "gpu"]


def llm_config(
    vllm_argv: Sequence[str], engine_env: Mapping[str, str], accelerator: Accelerator
) -> dict[str, Any]:
    """One `LLMConfig` (as plain data) running `vllm_argv`'s engine with `engine_env`."""
    kwargs = parse_vllm_argv(vllm_argv)
    model = kwargs.pop("model", None)
    names = kwargs.pop("served_model_name", None) or []
    if not model:
        raise BenchError("the vLLM argv names no --model")
    if len(names) > 1:
        raise BenchError(f"Ray Serve LLM serves one name per model, the argv has {names}")
    # Ray sets these itself; a caller's value would be refused or ignored.
    for key in ("host", "port", "distributed_executor_backend"):
        kwargs.pop(key, None)
    return {
        "model_loading_config": {"model_id": names[0] if names else model, "model_source": model},
        "accelerator_config": {"kind": accelerator},
        "engine_kwargs": kwargs,
        "runtime_env": {"env_vars": dict(engine_env)},
        "deployment_config": {"num_replicas": 1, "max_ongoing_requests": MAX_ONGOING_REQUESTS},
        "experimental_configs": {"stream_batching_interval_ms": 0},
    }


def serve_config(
    vllm_argv: Sequence[str],
    engine_env: Mapping[str, str],
    *,
    port: int,
    accelerator: Accelerator = "cpu",
) -> dict[str, Any]:
    """The whole `serve run` config: HTTP on 127.0.0.1:`port`, one LLM application at `/`."""
    return {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": port},
        "applications": [
            {
                "name": APP_NAME,
                "route_prefix": "/",
                "import_path": "ray.serve.llm:build_openai_app",
                "args": {"llm_configs": [llm_config(vllm_argv, engine_env, accelerator)]},
            }
        ],
    }
