"""Shared fixtures: each real stack configuration starts once per test session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_fidelity import Greedy
from tests.stack import ROOT, Stack, start_stack

#: Stacks started after the default stack has stopped, one after the other.
LATE_STACKS = ("multi_stack", "tp2_stack", "pair_stack", "tiny_mm_stack")
DEFAULT_KEY = "test-key-1"
MULTI_KEY = "multi-key-1"
DEFAULT_ADMISSION = 8
#: Session-scoped late stacks that are running, stopped after the last test that uses them.
_LIVE = pytest.StashKey[dict[str, Stack]]()


@pytest.fixture(scope="session")
def checkpoint_270m() -> Path:
    """The prepared embedded Gemma 3 270M checkpoint (converted once, then reused)."""
    from gemma_serve.models.prepare import prepare_embedded

    return prepare_embedded()


@pytest.fixture(scope="session")
def default_stack(
    checkpoint_270m: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The README's default deployment (gemma-3-270m on CPU), served for real.

    With API keys on (bare ones, and the named ones of `KEY_FILE`) and a small
    admission limit, so auth, quotas and overload are tested on the same stack.
    """
    root = tmp_path_factory.mktemp("default-stack")
    log = root / "serve.log"
    env = {
        "GEMMA_SERVE_API_KEYS": f"{DEFAULT_KEY},second-key",
        "GEMMA_SERVE_SERVER__API_KEYS_FILE": str(write_key_file(root / "keys.yaml")),
        "GEMMA_SERVE_MODELS__0__AUTOSCALING__MAX_ONGOING_REQUESTS": str(DEFAULT_ADMISSION),
    }
    stack = start_stack([], log, env=env, api_key=DEFAULT_KEY)
    yield stack
    stack.stop()


#: Named keys with budgets and priorities (tests/e2e/test_keys.py), on the default, multi
#: and pair stacks.
KEY_FILE = [
    {"name": "team-limited", "key": "limited-key-1", "requests_per_minute": 3},
    {"name": "team-urgent", "key": "urgent-key-1", "priority": -10},
    {"name": "team-batch", "key": "batch-key-1", "priority": 10},
    {"name": "team-shared", "key": "shared-key-1", "requests_per_minute": 8},
]


def write_key_file(path: Path) -> Path:
    path.write_text(json.dumps(KEY_FILE))  # JSON is YAML
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order by stack: the default stack's tests, its disruptive ones, its shutdown; then
    each late stack's tests, one late stack at a time (at most one engine stack runs)."""

    def rank(item: pytest.Item) -> int:
        names = getattr(item, "fixturenames", ())
        for i, fixture in enumerate(LATE_STACKS):
            if fixture in names:
                return 3 + i
        if item.get_closest_marker("teardown_stack"):
            return 2
        return 1 if item.get_closest_marker("disruptive") else 0

    items.sort(key=rank)


@pytest.fixture(scope="session")
def tiny_adapters(checkpoint_270m: Path) -> dict[str, Path]:
    """peft LoRA adapters on the 270M, random but non-zero (built once, under the cache)."""
    from gemma_serve.models.prepare import cache_root
    from tests.tiny_lora import build_adapters

    return build_adapters(cache_root() / "adapters" / "tiny", checkpoint_270m)


@pytest.fixture(scope="session")
def tiny_mm_checkpoint(checkpoint_270m: Path) -> Path:
    """The tiny random-weight Gemma 3 image model (built once from the 270M tokenizer)."""
    from gemma_serve.models.tiny_mm import build_tiny_mm, tiny_mm_checkpoint

    return build_tiny_mm(tiny_mm_checkpoint(), checkpoint_270m)


def _late(request: pytest.FixtureRequest, stack: Stack) -> Iterator[Stack]:
    """Yield a session-scoped late stack, stopped right after the last test that uses it.

    Session scope lets every module using the stack share one start (tests are
    ordered by stack); `pytest_runtest_teardown` stops it once no later test needs it.
    """
    request.config.stash.setdefault(_LIVE, {})[request.fixturename] = stack
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def tiny_mm_stack(
    tiny_mm_checkpoint: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    """The tiny image model served as a Gemma 3 4B (tests/e2e/tiny_mm.yaml), for real."""
    log = tmp_path_factory.mktemp("tiny-mm-stack") / "serve.log"
    config = Path(__file__).resolve().parent / "e2e" / "tiny_mm.yaml"
    stack = start_stack(
        ["--config", str(config), "--set", f"models.0.source={tiny_mm_checkpoint}"], log
    )
    yield from _late(request, stack)


@pytest.fixture(scope="session")
def multi_stack(
    checkpoint_270m: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    """Two models behind the gateway (tests/e2e/multi.yaml, one core each), with API keys."""
    log = tmp_path_factory.mktemp("multi") / "serve.log"
    config = Path(__file__).parent / "e2e" / "multi.yaml"
    env = {
        "GEMMA_SERVE_API_KEYS": f"{MULTI_KEY},second-key",
        "GEMMA_SERVE_SERVER__API_KEYS_FILE": str(write_key_file(log.parent / "keys.yaml")),
    }
    stack = start_stack(["--config", str(config)], log, env=env, api_key=MULTI_KEY)
    yield from _late(request, stack)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop a session-scoped late stack once the next test does not use it (tests are
    ordered by stack, so no later one will): at most one late stack runs at a time."""
    live = item.config.stash.get(_LIVE, {})
    later = getattr(nextitem, "fixturenames", ()) if nextitem is not None else ()
    for name in [n for n in live if n not in later]:
        live.pop(name).stop()


@pytest.fixture(scope="session")
def tp2_stack(
    tiny_adapters: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    """The shipped TP=2 profile (configs/gemma3-270m-cpu-tp2.yaml, one rank per core) with
    two static LoRA adapters and a directory of dynamic ones, API keys on: tensor
    parallelism and adapters (tests/e2e/test_adapters.py) share one engine start."""
    from tests.e2e.test_adapters import lora_section

    root = tmp_path_factory.mktemp("tp2")
    lora = json.dumps(lora_section(tiny_adapters, root / "adapters"))
    stack = start_stack(
        ["--config", str(ROOT / "configs" / "gemma3-270m-cpu-tp2.yaml"),
         "--set", f"models.0.lora={lora}"],
        root / "serve.log", env={"GEMMA_SERVE_API_KEYS": DEFAULT_KEY}, api_key=DEFAULT_KEY,
    )  # fmt: skip
    yield from _late(request, stack)


@pytest.fixture(scope="session")
def reference_ids(checkpoint_270m: Path) -> dict[str, Greedy]:
    """transformers' bf16 270M on tests/e2e/test_fidelity.py's prompts: greedy ids, margins."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.e2e.test_fidelity import PROMPTS, greedy_reference

    tok = AutoTokenizer.from_pretrained(checkpoint_270m)
    model = AutoModelForCausalLM.from_pretrained(checkpoint_270m, dtype=torch.bfloat16)
    return {prompt: greedy_reference(model, tok, prompt) for prompt in PROMPTS}


@pytest.fixture(scope="session")
def pair_stack(
    checkpoint_270m: Path,
    tiny_adapters: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Stack]:
    """One model on two replicas behind the gateway's prefix-aware routing.

    With a static and dynamic LoRA adapters (tests/e2e/test_adapters_gateway.py)
    and API keys on, so the gateway's adapter routing runs on the same stack.
    """
    from tests.e2e.test_adapters_gateway import pair_lora

    root = tmp_path_factory.mktemp("pair")
    lora = json.dumps(pair_lora(tiny_adapters, root / "adapters"))
    stack = start_stack(
        ["--config", str(Path(__file__).parent / "e2e" / "pair.yaml"),
         "--set", f"models.0.lora={lora}"],
        root / "serve.log", api_key=DEFAULT_KEY,
        env={"GEMMA_SERVE_API_KEYS": DEFAULT_KEY,
             "GEMMA_SERVE_SERVER__API_KEYS_FILE": str(write_key_file(root / "keys.yaml"))},
    )  # fmt: skip
    yield from _late(request, stack)


@pytest.fixture(scope="session")
def lora_reference(
    checkpoint_270m: Path, tiny_adapters: dict[str, Path]
) -> dict[tuple[str | None, str], Greedy]:
    """transformers + peft greedy ids and top-2 log-prob margins, per (adapter, prompt).

    Adapter None is the base model. The margin of each step says whether the
    reference's choice is decidable at all in bf16 (a tie is not).
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.e2e.test_adapters import FIDELITY_ADAPTERS
    from tests.e2e.test_fidelity import PROMPTS, greedy_reference

    tok = AutoTokenizer.from_pretrained(checkpoint_270m)
    base = AutoModelForCausalLM.from_pretrained(checkpoint_270m, dtype=torch.bfloat16)
    model = PeftModel.from_pretrained(base, tiny_adapters[FIDELITY_ADAPTERS[0]],
                                      adapter_name=FIDELITY_ADAPTERS[0])  # fmt: skip
    for name in FIDELITY_ADAPTERS[1:]:
        model.load_adapter(tiny_adapters[name], adapter_name=name)
    out: dict[tuple[str | None, str], Greedy] = {}
    for prompt in PROMPTS:
        with model.disable_adapter():
            out[(None, prompt)] = greedy_reference(model, tok, prompt)
    for adapter in FIDELITY_ADAPTERS:
        model.set_adapter(adapter)
        for prompt in PROMPTS:
            out[(adapter, prompt)] = greedy_reference(model, tok, prompt)
    return out
