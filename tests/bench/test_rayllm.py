"""The Ray Serve LLM column runs gemma-serve's engine settings, as Ray itself reads them.

The suite may not import Ray; this test may: it validates the generated Serve
config with Ray's own schema and LLM config models, and checks that what Ray
would hand vLLM equals what vLLM's parser makes of gemma-serve's argv.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks.planned import PlannedModel, planned_model
from benchmarks.rayllm import MAX_ONGOING_REQUESTS, serve_config
from benchmarks.readme import REPO
from benchmarks.servers import columns
from benchmarks.vllm_args import parse_vllm_argv
from gemma_serve.bench.errors import BenchError

pytest.importorskip("ray.serve.llm")
pytest.importorskip("vllm")


@pytest.fixture(scope="module")
def planned() -> PlannedModel:
    return planned_model(REPO / "configs" / "default.yaml", cwd=REPO)


def test_the_written_config_is_a_valid_serve_config(planned: PlannedModel, tmp_path: Path) -> None:
    from ray.llm._internal.serve.core.configs.llm_config import LLMConfig
    from ray.llm._internal.serve.core.ingress.builder import LLMServingArgs
    from ray.serve.schema import ServeDeploySchema

    columns(REPO / "configs" / "default.yaml", planned, tmp_path, tmp_path / "ray")
    config = yaml.safe_load((tmp_path / "ray-serve-llm.yaml").read_text())
    schema = ServeDeploySchema.model_validate(config)
    (app,) = schema.applications
    assert app.import_path == "ray.serve.llm:build_openai_app" and app.route_prefix == "/"
    (llm,) = LLMServingArgs.model_validate(app.args).llm_configs
    assert isinstance(llm, LLMConfig)
    assert llm.model_id == planned.name
    assert llm.experimental_configs["stream_batching_interval_ms"] == 0
    assert llm.deployment_config["max_ongoing_requests"] == MAX_ONGOING_REQUESTS < 10**9
    assert llm.runtime_env == {"env_vars": planned.launch.env}
    assert llm.accelerator_config is not None and llm.accelerator_config.kind == "cpu"


def test_ray_hands_vllm_exactly_the_argv_settings(planned: PlannedModel) -> None:
    from ray.llm._internal.serve.core.configs.llm_config import LLMConfig
    from ray.llm._internal.serve.engines.vllm.vllm_models import VLLMEngineConfig

    argv = planned.launch.vllm_argv
    (llm_data,) = serve_config(argv, planned.launch.env, port=1)["applications"][0]["args"][
        "llm_configs"
    ]
    engine = VLLMEngineConfig.from_llm_config(LLMConfig.model_validate(llm_data))
    handed = {**engine.get_initialization_kwargs(), **engine.frontend_kwargs}
    for key, value in parse_vllm_argv(argv).items():
        assert handed[key] == value, key
    model = argv[argv.index("--model") + 1]
    assert handed["model"] == model and handed["served_model_name"] == [planned.name]


def test_a_flag_ray_cannot_take_is_refused() -> None:
    with pytest.raises(BenchError, match="one name per model"):
        serve_config(["--model", "m", "--served-model-name", "a", "b"], {}, port=1)
