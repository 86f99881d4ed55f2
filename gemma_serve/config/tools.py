"""`models[].tools`: tool calling (OpenAI `tools` / `tool_choice`), as vLLM serves it.

vLLM does the work: its chat template renders the tools into the prompt, its
tool parser turns the model's output into `tool_calls` (`auto`), and its
structured output constrains `required` and a named function. These models
only say which parser and which template.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: `chat_template` values naming a template shipped in gemma-serve (resolved on the node).
BUILTIN_PREFIX = "builtin:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolsConfig(_Strict):
    """Tool calling on one model: `tools`, `tool_choice` auto/required/none/named."""

    enabled: bool = Field(
        True,
        description="Accept requests with `tools` (vLLM's `--enable-auto-tool-choice`). "
        "Off: such requests with `tool_choice` `auto` are refused by vLLM (400).",
    )
    parser: str = Field(
        "pythonic",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="vLLM's `--tool-call-parser`: how the model's text becomes `tool_calls`. "
        "`pythonic` reads a Python list of calls, `[f(a=1), g(b='x')]`, which is what "
        "the Gemma 3 tool template asks the model to write.",
    )
    chat_template: str | None = Field(
        None,
        min_length=1,
        description="Chat template that renders `tools`, tool calls and tool results: a "
        "Jinja file on every node, or `builtin:<file>` (one shipped in "
        "gemma_serve/models/templates). Default: `models[].chat_template` if set, else "
        "the checkpoint's own (Gemma 3's renders no tool definitions: give the shipped "
        "`builtin:gemma3_tools.jinja` here for `auto`).",
    )
