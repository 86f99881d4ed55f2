"""From config to launch: vLLM argv, engine env and Ray Serve options (pure)."""

from __future__ import annotations

from pathlib import Path

from gemma_serve.config import default_config, load_config
from gemma_serve.planner.launch import plan_launch


def test_default_launch_binds_every_core_and_reaches_the_prepared_checkpoint() -> None:
    plan = plan_launch(default_config(), host_cpus=2, cache_root=Path("/cache"))
    (model,) = plan.models
    assert model.checkpoint == "/cache/models/gemma-3-270m"
    argv = model.vllm_argv
    assert argv[argv.index("--model") + 1] == "/cache/models/gemma-3-270m"
    assert argv[argv.index("--served-model-name") + 1] == "gemma-3-270m"
    assert argv[argv.index("--dtype") + 1] == "bfloat16"
    assert "--enforce-eager" in argv
    assert model.env == {
        "VLLM_CACHE_ROOT": "/cache/vllm",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "0-1",
    }
    assert model.deployment_options == {"max_ongoing_requests": 80, "num_replicas": 1}
    assert model.max_in_flight == 64
    assert model.input_modalities == ["text"]
    assert "--limit-mm-per-prompt" not in argv


def test_tensor_parallel_on_cpu_binds_one_core_set_per_rank() -> None:
    cfg = load_config(None, env={}, overrides=["models.0.tensor_parallel_size=2"])
    (model,) = plan_launch(cfg, host_cpus=2, cache_root=Path("/c")).models
    assert model.env["VLLM_CPU_OMP_THREADS_BIND"] == "0|1"
    assert model.vllm_argv[model.vllm_argv.index("--tensor-parallel-size") + 1] == "2"
    assert len(model.placement_bundles) == 2


def test_autoscaling_options_never_use_rays_unbounded_defaults() -> None:
    cfg = load_config(
        None,
        env={},
        overrides=["models.0.autoscaling.min_replicas=1", "models.0.autoscaling.max_replicas=3"],
    )
    (model,) = plan_launch(cfg, host_cpus=2, cache_root=Path("/c")).models
    auto = model.deployment_options["autoscaling_config"]
    assert (auto["min_replicas"], auto["max_replicas"], auto["initial_replicas"]) == (1, 3, 1)
    assert model.deployment_options["max_ongoing_requests"] == 80
    assert auto["target_ongoing_requests"] < 1e9


def test_request_content_reaches_vllms_logs_only_when_asked() -> None:
    def argv(overrides: list[str]) -> list[str]:
        cfg = load_config(None, env={}, overrides=overrides)
        return plan_launch(cfg, host_cpus=2, cache_root=Path("/c")).models[0].vllm_argv

    assert not {"--enable-log-requests", "--enable-log-outputs"} & set(argv([]))
    assert {"--enable-log-requests", "--enable-log-outputs"} <= set(
        argv(["server.log_requests=true"])
    )


def test_log_flags_are_ones_vllms_own_parser_knows() -> None:
    from gemma_serve.engine.vllm_engine import parse_vllm_args

    cfg = load_config(None, env={}, overrides=["server.log_requests=true"])
    args = parse_vllm_args(plan_launch(cfg, host_cpus=2, cache_root=Path("/c")).models[0].vllm_argv)
    assert args.enable_log_requests and args.enable_log_outputs


def test_every_engine_keeps_its_compile_cache_on_the_model_cache() -> None:
    cfg = load_config(Path("configs/gemma3-1b-l4.yaml"), env={})
    (model,) = plan_launch(cfg, host_cpus=8, cache_root=Path("/cache")).models
    assert model.env == {"VLLM_CACHE_ROOT": "/cache/vllm"}
