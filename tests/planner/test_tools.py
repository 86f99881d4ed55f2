"""`models[].tools`: resolved once into the plan, rendered into vLLM's argv (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_serve.config import load_config
from gemma_serve.config.tools import GEMMA3_PYTHONIC
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


def test_the_default_model_serves_tools_with_the_gemma3_pythonic_template() -> None:
    plan = _plan()
    assert plan.tools is not None and plan.tools.parser == "pythonic"
    assert plan.chat_template == GEMMA3_PYTHONIC  # a name: resolved where the replica runs
    argv = _argv(plan)
    assert "--enable-auto-tool-choice" in argv
    assert _flag(argv, "--tool-call-parser") == "pythonic"
    template = Path(_flag(argv, "--chat-template"))
    assert template.resolve() == (TEMPLATES / "tool_chat_template_gemma3_pythonic.jinja").resolve()
    assert "vllm-project/vllm" in template.read_text().splitlines()[1]  # names its source


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


def test_without_tools_the_tool_template_renders_gemmas_own_prompt(checkpoint_270m: Path) -> None:
    """The default template changed to the tool one: chats without tools see the same prompt."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(checkpoint_270m)
    tool = (TEMPLATES / "tool_chat_template_gemma3_pythonic.jinja").read_text()
    chats = [
        [{"role": "user", "content": "Hi"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
         {"role": "assistant", "content": "Hello."}, {"role": "user", "content": " Again "}],
        [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    ]  # fmt: skip
    for chat in chats:
        kw = {"tokenize": False, "add_generation_prompt": True}
        assert tok.apply_chat_template(chat, chat_template=tool, **kw) == tok.apply_chat_template(
            chat, **kw
        )
