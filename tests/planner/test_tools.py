"""`models[].tools`: resolved once into the plan, rendered into vLLM's argv (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_serve.config import load_config
from gemma_serve.errors import ConfigError, PlanError
from gemma_serve.planner import HostFacts, ModelPlan, launch_on_node, plan_deployment
from gemma_serve.planner.render import vllm_argv

TEMPLATES = Path(__file__).parents[2] / "gemma_serve" / "models" / "templates"


def _plan(*overrides: str) -> ModelPlan:
    config = load_config(None, env={}, overrides=list(overrides))
    return plan_deployment(config, HostFacts(cores_per_node=2)).models[0]


def _argv(plan: ModelPlan) -> list[str]:
    return launch_on_node(plan, cores=[0, 1], cache_root=Path("/cache")).vllm_argv


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_default_model_serves_tools_with_its_own_template() -> None:
    plan = _plan()
    assert plan.tools is not None and plan.tools.parser == "pythonic"
    assert plan.chat_template is None  # the checkpoint's own
    argv = _argv(plan)
    assert "--enable-auto-tool-choice" in argv
    assert _flag(argv, "--tool-call-parser") == "pythonic"
    assert "--chat-template" not in argv


def test_tools_off_leaves_the_checkpoints_template() -> None:
    plan = _plan("models.0.tools.enabled=false")
    assert plan.tools is None and plan.chat_template is None
    argv = vllm_argv(plan, checkpoint="/c")
    assert not {"--enable-auto-tool-choice", "--tool-call-parser", "--chat-template"} & set(argv)


def test_an_own_chat_template_is_the_tools_template_too() -> None:
    plan = _plan("models.0.chat_template=/t/mine.jinja")
    assert plan.chat_template == "/t/mine.jinja"
    assert _flag(_argv(plan), "--chat-template") == "/t/mine.jinja"
    plan = _plan("models.0.tools.chat_template=/t/tools.jinja", "models.0.tools.parser=llama3_json")
    assert _flag(_argv(plan), "--chat-template") == "/t/tools.jinja"
    assert _flag(_argv(plan), "--tool-call-parser") == "llama3_json"


def test_two_different_templates_are_refused_and_unknown_builtins_named() -> None:
    with pytest.raises(ConfigError, match="one template"):
        _plan("models.0.chat_template=/a.jinja", "models.0.tools.chat_template=/b.jinja")
    with pytest.raises(ConfigError, match=r"models\.0\.tools\.colour: unknown key"):
        _plan("models.0.tools.colour=blue")
    with pytest.raises(PlanError, match=r"builtin:gemma3_chat\.jinja"):
        _plan("models.0.chat_template=builtin:nope.jinja")
    assert _plan("models.0.chat_template=builtin:gemma3_chat.jinja").chat_template
