"""Every route of vLLM's app is either served or listed as not exposed (and in the README)."""

from __future__ import annotations

import re
from pathlib import Path

import vllm.entrypoints

from gemma_serve.api.paths import NOT_EXPOSED, ROUTES

ROOT = Path(__file__).resolve().parents[2]
#: A route decorator of vLLM's app, its path the first argument (maybe on the next line).
DECORATOR = re.compile(r'@(?:router|app)\.(?:get|post|put|delete)\(\s*"(/[^"]*)"')


def vllm_routes() -> set[str]:
    """The paths the installed vLLM's OpenAI app registers (path parameters as `{id}`)."""
    found: set[str] = set()
    for source in Path(vllm.entrypoints.__path__[0]).rglob("*.py"):
        for path in DECORATOR.findall(source.read_text(errors="replace")):
            found.add(re.sub(r"\{[a-z_]+\}", "{id}", path))
    return found


def test_every_vllm_route_is_served_or_listed_as_not_exposed() -> None:
    routes = vllm_routes()
    assert {"/v1/chat/completions", "/v1/responses", "/v1/messages", "/tokenize"} <= routes
    hidden = {p for paths in NOT_EXPOSED.values() for p in paths}
    assert not hidden & set(ROUTES)
    unlisted = routes - set(ROUTES) - hidden
    assert not unlisted, f"vLLM routes neither served nor in paths.NOT_EXPOSED: {unlisted}"


def test_the_readme_lists_every_endpoint_and_every_hidden_one() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.partition("## Endpoints")[2].partition("\n## ")[0]
    named = set(re.findall(r"`(?:GET |POST )?(/[^`]*)`", section))
    hidden = [p for paths in NOT_EXPOSED.values() for p in paths]
    missing = [p for p in [*ROUTES, *hidden] if p not in named]
    assert not missing, f"README 'Endpoints' does not name: {missing}"
