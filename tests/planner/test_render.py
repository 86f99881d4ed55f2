"""The plan's renderers: vLLM argv, engine env on a node, Ray Serve options (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_serve.config import default_config, load_config
from gemma_serve.config.models import DeploymentConfig
from gemma_serve.errors import PlanError
from gemma_serve.planner import HostFacts, ModelPlan, launch_on_node, plan_deployment
from gemma_serve.planner.render import (
    actor_options,
    deployment_options,
    omp_binding,
    vllm_argv,
)

TWO_CORES = HostFacts(cores_per_node=2)


def _plan(config: DeploymentConfig, host: HostFacts = TWO_CORES) -> ModelPlan:
    return plan_deployment(config, host).models[0]


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_default_binds_every_core_and_reaches_the_nodes_prepared_checkpoint() -> None:
    plan = _plan(default_config())
    launch = launch_on_node(plan, cores=[0, 1], cache_root=Path("/cache"))
    assert launch.checkpoint == "/cache/models/gemma-3-270m"
    argv = launch.vllm_argv
    assert _flag(argv, "--model") == "/cache/models/gemma-3-270m"
    assert _flag(argv, "--served-model-name") == "gemma-3-270m"
    assert _flag(argv, "--dtype") == "bfloat16"
    assert "--enforce-eager" in argv
    assert launch.env == {
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "0-1",
        "VLLM_CACHE_ROOT": "/cache/vllm",  # compile caches on the model cache (volume)
    }
    assert deployment_options(plan) == {"max_ongoing_requests": 80, "num_replicas": 1}
    assert actor_options(plan) == {"num_cpus": 2.0}
    assert plan.max_in_flight == 64
    assert plan.images.input_modalities == ["text"]
    assert "--limit-mm-per-prompt" not in argv


def test_every_scheduler_value_the_plan_used_is_passed() -> None:
    plan = _plan(default_config())
    argv = vllm_argv(plan, checkpoint="/c")
    sched = plan.engine.scheduler
    assert int(_flag(argv, "--block-size")) == sched.block_size == 128
    assert int(_flag(argv, "--max-num-batched-tokens")) == sched.max_num_batched_tokens
    assert int(_flag(argv, "--max-num-seqs")) == sched.max_num_seqs


def test_the_node_decides_which_cores_a_replica_binds() -> None:
    cfg = load_config(None, env={}, overrides=["models.0.hardware.cpu_cores=1"])
    plan = _plan(cfg)
    assert actor_options(plan) == {"num_cpus": 1.0}
    assert (
        launch_on_node(plan, cores=[1], cache_root=Path("/c")).env["VLLM_CPU_OMP_THREADS_BIND"]
        == "1"
    )
    with pytest.raises(ValueError, match="binds 1 cores, got 2"):
        omp_binding(plan, [0, 1])


def test_tensor_parallel_on_cpu_binds_one_core_set_per_rank() -> None:
    cfg = load_config(None, env={}, overrides=["models.0.tensor_parallel_size=2"])
    plan = _plan(cfg)
    assert omp_binding(plan, [0, 1]) == "0|1"
    four = _plan(cfg, HostFacts(cores_per_node=4))
    assert omp_binding(four, [0, 1, 4, 6]) == "0-1|4,6"
    assert _flag(vllm_argv(plan, checkpoint="/c"), "--tensor-parallel-size") == "2"
    assert deployment_options(plan)["placement_group_bundles"] == [{"CPU": 1.0}, {"CPU": 1.0}]
    assert actor_options(plan) == {"num_cpus": 1.0}


def test_cores_that_do_not_exist_or_do_not_split_are_refused() -> None:
    too_many = load_config(None, env={}, overrides=["models.0.hardware.cpu_cores=3"])
    with pytest.raises(PlanError, match="cpu_cores=3 exceeds the 2 cores of a node"):
        _plan(too_many)
    uneven = load_config(
        None,
        env={},
        overrides=["models.0.hardware.cpu_cores=3", "models.0.tensor_parallel_size=2"],
    )
    with pytest.raises(PlanError, match="does not split evenly"):
        _plan(uneven, HostFacts(cores_per_node=4))


def test_autoscaling_options_never_use_rays_unbounded_defaults() -> None:
    cfg = load_config(
        None,
        env={},
        overrides=["models.0.autoscaling.min_replicas=1", "models.0.autoscaling.max_replicas=3"],
    )
    opts = deployment_options(_plan(cfg))
    auto = opts["autoscaling_config"]
    assert (auto["min_replicas"], auto["max_replicas"], auto["initial_replicas"]) == (1, 3, 1)
    assert opts["max_ongoing_requests"] == 80
    assert auto["target_ongoing_requests"] < 1e9


def test_request_content_reaches_vllms_logs_only_when_asked() -> None:
    def argv(overrides: list[str]) -> list[str]:
        return vllm_argv(_plan(load_config(None, env={}, overrides=overrides)), checkpoint="/c")

    assert not {"--enable-log-requests", "--enable-log-outputs"} & set(argv([]))
    assert {"--enable-log-requests", "--enable-log-outputs"} <= set(
        argv(["server.log_requests=true"])
    )


def test_the_argv_is_one_vllms_own_parser_accepts() -> None:
    from gemma_serve.engine.vllm_engine import parse_vllm_args

    cfg = load_config(None, env={}, overrides=["server.log_requests=true"])
    plan = _plan(cfg)
    args = parse_vllm_args(vllm_argv(plan, checkpoint="/c"))
    assert args.enable_log_requests and args.enable_log_outputs
    assert args.max_num_seqs == plan.engine.scheduler.max_num_seqs
    assert args.block_size == 128
    # Tools on by default: vLLM's parser knows the parser; the checkpoint's own template.
    assert args.enable_auto_tool_choice and args.tool_call_parser == "pythonic"
    assert args.chat_template is None
    # Constrained JSON without free whitespace, on the backend that can do it.
    assert args.structured_outputs_config.backend == "xgrammar"
    assert args.structured_outputs_config.disable_any_whitespace


def test_free_whitespace_json_is_vllms_auto_backend() -> None:
    plan = _plan(load_config(None, env={}, overrides=["models.0.engine.compact_json=false"]))
    assert "--structured-outputs-config" not in vllm_argv(plan, checkpoint="/c")


def test_gpu_models_are_compiled_by_default_and_reserve_cuda_graph_memory() -> None:
    gpu = load_config(Path(__file__).parents[2] / "configs" / "gemma3-4b-l4.yaml", env={})
    plan = _plan(gpu)
    assert not plan.engine.enforce_eager
    assert "--enforce-eager" not in vllm_argv(plan, checkpoint="/c")
    assert plan.capacity.cuda_graph_bytes == 1024**3
    eager = _plan(
        load_config(
            Path(__file__).parents[2] / "configs" / "gemma3-4b-l4.yaml",
            env={},
            overrides=["models.0.engine.enforce_eager=true"],
        )
    )
    assert eager.capacity.cuda_graph_bytes == 0
    assert eager.capacity.kv_cache_bytes - plan.capacity.kv_cache_bytes == 1024**3


def test_gpu_replicas_land_on_their_kind() -> None:
    gpu = load_config(Path(__file__).parents[2] / "configs" / "gemma3-12b-2xl4.yaml", env={})
    plan = _plan(gpu)
    assert plan.resources.accelerator_type == "L4"
    assert deployment_options(plan)["placement_group_bundles"] == [{"GPU": 1.0, "CPU": 1.0}] * 2
    assert _flag(vllm_argv(plan, checkpoint="/c"), "--distributed-executor-backend") == "ray"
