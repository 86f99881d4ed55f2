"""Tool calling, resolved: which parser, which chat template; and where a template is on a node.

A `builtin:` template is a file shipped in the package; the plan keeps its
name (the plan may be made on another machine) and `template_on_node` finds
it where the replica runs.
"""

from __future__ import annotations

from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.config.models import ModelConfig
from gemma_serve.config.tools import BUILTIN_PREFIX
from gemma_serve.errors import PlanError

#: The package whose `templates/` directory holds the `builtin:` chat templates.
_TEMPLATES = ("gemma_serve.models", "templates")


class ToolsPlan(BaseModel):
    """Tool calling on one model: vLLM's auto tool choice with this parser."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parser: str = Field(..., description="vLLM's `--tool-call-parser`.")


def resolve_tools(model: ModelConfig) -> tuple[ToolsPlan | None, str | None]:
    """The tools plan (None: off) and the chat template the model renders with."""
    tools = model.tools
    if not tools.enabled:
        template = model.chat_template
        plan = None
    else:
        template = tools.chat_template or model.chat_template
        plan = ToolsPlan(parser=tools.parser)
    if template is not None and template.startswith(BUILTIN_PREFIX):
        builtin_path(template)  # an unknown name fails here, not on the node
    return plan, template


def builtin_path(template: str) -> str:
    """The file of a `builtin:<file>` template in this installation."""
    name = template.removeprefix(BUILTIN_PREFIX)
    directory = files(_TEMPLATES[0]) / _TEMPLATES[1]
    path = directory / name
    if "/" in name or not path.is_file():
        shipped = sorted(p.name for p in directory.iterdir() if p.name.endswith(".jinja"))
        raise PlanError(
            f"chat template {template!r} is not shipped; builtin ones: "
            + ", ".join(BUILTIN_PREFIX + n for n in shipped)
        )
    return str(path)


def template_on_node(template: str | None) -> str | None:
    """A chat template as vLLM's `--chat-template` takes it on this node."""
    if template is not None and template.startswith(BUILTIN_PREFIX):
        return builtin_path(template)
    return template
