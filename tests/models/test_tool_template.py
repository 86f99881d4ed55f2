"""gemma3_tools.jinja: Gemma 3's template where there are no tools, tools and calls otherwise.

Rendered by transformers' `apply_chat_template`, the renderer vLLM uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemma_serve.planner.tools import builtin_path

TEMPLATES = Path(builtin_path("builtin:gemma3_tools.jinja")).parent
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def tok(checkpoint_270m: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(checkpoint_270m)


def _render(tok: Any, name: str, messages: list[dict[str, Any]], **kw: Any) -> str:
    template = (TEMPLATES / name).read_text()
    return str(tok.apply_chat_template(messages, chat_template=template, tokenize=False,
                                       add_generation_prompt=True, **kw))  # fmt: skip


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "Hi"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": [{"type": "text", "text": "Again"}, {"type": "image"}]},
        ],
    ],
)
def test_without_tools_it_renders_as_gemma3s_template(tok: Any, messages: list[Any]) -> None:
    expected = _render(tok, "gemma3_chat.jinja", messages)
    assert _render(tok, "gemma3_tools.jinja", messages) == expected


def _call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"id": name, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_tools_calls_and_results_become_user_and_model_turns(tok: Any) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None,
         "tool_calls": [_call("get_weather", city="Paris", metric=True), _call("get_time")]},
        {"role": "tool", "tool_call_id": "get_weather", "content": "sunny"},
        {"role": "tool", "tool_call_id": "get_time", "content": "noon"},
        {"role": "assistant", "content": "Sunny at noon."},
        {"role": "user", "content": "And Rome?"},
    ]  # fmt: skip
    text = _render(tok, "gemma3_tools.jinja", messages, tools=[WEATHER])
    first_user, calls, results, *_ = text.split("<start_of_turn>")[1:]
    assert first_user.startswith("user\nBe brief.\n\nYou can call these functions.")
    assert '{"name": "get_weather", "description": "Current weather in a city"' in first_user
    assert first_user.endswith("Weather in Paris?<end_of_turn>\n")
    # Python literals (True, not true): what vLLM's pythonic parser reads back.
    assert calls == 'model\n[get_weather(city="Paris", metric=True), get_time()]<end_of_turn>\n'
    assert results == "user\n```tool_output\nsunny\n```\n```tool_output\nnoon\n```<end_of_turn>\n"
    assert text.endswith("<start_of_turn>user\nAnd Rome?<end_of_turn>\n<start_of_turn>model\n")


def test_roles_must_still_alternate(tok: Any) -> None:
    from jinja2.exceptions import TemplateError

    with pytest.raises(TemplateError, match="alternate"):
        _render(tok, "gemma3_tools.jinja", [{"role": "assistant", "content": "Hi"}])
