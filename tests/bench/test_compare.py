from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from gemma_serve.bench.compare import paired_ratios, run_side_by_side, spread, summarize_rounds
from gemma_serve.bench.datasets import SyntheticText
from gemma_serve.bench.lengths import FixedLength
from gemma_serve.bench.loads import ConcurrentLoad
from gemma_serve.bench.results import RoundResult, SideBySideResult, load_result
from gemma_serve.bench.spec import BenchSpec, Target
from gemma_serve.errors import ConfigError
from tests.bench.fake_openai import FakeOpenAI

FIXTURE = Path(__file__).parent / "fixtures" / "side_by_side_result.json"


def test_summary_is_medians_over_rounds_and_ratios_to_the_baseline() -> None:
    result = load_result(FIXTURE)
    assert isinstance(result, SideBySideResult)
    rows = summarize_rounds(result.rounds, ["gemma-serve", "bare-vllm"], "bare-vllm")
    # gemma-serve is 1.0x, 1.1x, 1.2x slower in rounds 0..2: the median round is 1.1x
    gs = next(r for r in rows if r.target == "gemma-serve" and r.label == "c=1")
    assert gs.rounds == 3
    assert gs.ttft_p50_ms == pytest.approx(275.0)
    assert gs.throughput_ratio == pytest.approx(1 / 1.1)
    assert gs.ttft_p50_ratio == pytest.approx(1.1)
    assert gs.ttft_p99_ratio == pytest.approx(1.1)
    assert gs.itl_p50_ratio == pytest.approx(1.1)
    base = next(r for r in rows if r.target == "bare-vllm" and r.label == "c=4")
    assert base.throughput_ratio == 1.0
    assert rows == result.summary


def test_each_ratio_has_its_spread_over_rounds() -> None:
    result = load_result(FIXTURE)
    assert isinstance(result, SideBySideResult)
    rows = summarize_rounds(result.rounds, ["gemma-serve", "bare-vllm"], "bare-vllm")
    gs = next(r for r in rows if r.target == "gemma-serve" and r.label == "c=1")
    # TTFT ratios by round are 1.0, 1.1, 1.2; throughput's are their inverses
    assert gs.ttft_p50_ratio_rounds is not None and gs.ttft_p50_ratio_rounds.n == 3
    assert (gs.ttft_p50_ratio_rounds.min, gs.ttft_p50_ratio_rounds.max) == pytest.approx((1, 1.2))
    assert gs.ttft_p50_ratio_rounds.median == pytest.approx(1.1)
    assert gs.throughput_ratio_rounds is not None
    assert gs.throughput_ratio_rounds.min == pytest.approx(1 / 1.2)
    assert paired_ratios(result.rounds, "bare-vllm", "gemma-serve", "c=1", "ttft_p50_ms") == (
        pytest.approx([1 / 1.0, 1 / 1.1, 1 / 1.2])
    )
    assert spread([]) is None


def test_missing_metrics_give_no_ratio() -> None:
    result = load_result(FIXTURE)
    assert isinstance(result, SideBySideResult)
    only_one = [r for r in result.rounds if r.target == "gemma-serve"]
    rows = summarize_rounds(only_one, ["gemma-serve", "bare-vllm"], "bare-vllm")
    gs = next(r for r in rows if r.target == "gemma-serve")
    assert gs.throughput_ratio is None and gs.output_throughput is not None


def _spec() -> BenchSpec:
    return BenchSpec(
        dataset=SyntheticText(input_len=FixedLength(value=3), output_len=FixedLength(value=2)),
        loads=[ConcurrentLoad(concurrency=2)],
        num_requests=4,
        warmup_requests=1,
    )


async def test_alternates_targets_and_launches_one_at_a_time() -> None:
    events: list[str] = []

    def launcher(name: str):  # type: ignore[no-untyped-def]
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            events.append(f"start {name}")
            yield
            events.append(f"stop {name}")

        return run

    targets = [Target(name=n, base_url=f"http://{n}", model="m") for n in ("a", "b")]
    fake = FakeOpenAI()
    res = await run_side_by_side(
        _spec(),
        targets,
        rounds=2,
        launchers={"a": launcher("a"), "b": launcher("b")},
        transport=fake.transport(),
    )
    assert [(r.round, r.target) for r in res.rounds] == [(0, "a"), (0, "b"), (1, "a"), (1, "b")]
    assert events == ["start a", "stop a", "start b", "stop b"] * 2
    assert res.baseline == "a" and len(res.summary) == 2
    # both targets got the same prompts in the same round, new prompts in the next
    prompts = [b["prompt"] for b in fake.bodies]
    per_turn = [prompts[i * 5 + 1 : i * 5 + 5] for i in range(4)]
    assert sorted(per_turn[0]) == sorted(per_turn[1])
    assert set(per_turn[0]).isdisjoint(per_turn[2])


async def test_mirror_order_reverses_every_other_round_and_keeps_the_server_up() -> None:
    events: list[str] = []

    def launcher(name: str):  # type: ignore[no-untyped-def]
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            events.append(f"start {name}")
            yield
            events.append(f"stop {name}")

        return run

    names = ("a", "b", "c")
    targets = [Target(name=n, base_url=f"http://{n}", model="m") for n in names]
    res = await run_side_by_side(
        _spec(),
        targets,
        rounds=3,
        launchers={n: launcher(n) for n in names},
        order="mirror",
        transport=FakeOpenAI().transport(),
    )
    assert [r.target for r in res.rounds] == list("abccbaabc")
    assert res.order == "mirror" and [r.round for r in res.rounds] == [0] * 3 + [1] * 3 + [2] * 3
    # c's turns at the end of round 0 and the start of round 1 share one start; a's likewise
    assert events == [
        "start a", "stop a", "start b", "stop b", "start c", "stop c",
        "start b", "stop b", "start a", "stop a", "start b", "stop b", "start c", "stop c",
    ]  # fmt: skip


async def test_after_turn_runs_while_the_server_is_up() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def server() -> AsyncIterator[None]:
        events.append("start")
        yield
        events.append("stop")

    async def after(round_: int, target: Target) -> None:
        events.append(f"after {round_} {target.name}")

    targets = [Target(name=n, base_url=f"http://{n}", model="m") for n in ("a", "b")]
    await run_side_by_side(
        _spec(),
        targets,
        rounds=1,
        launchers={"b": server},
        after_turn=after,
        transport=FakeOpenAI().transport(),
    )
    assert events == ["after 0 a", "start", "after 0 b", "stop"]


async def test_session_lifetime_starts_every_server_once() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def server() -> AsyncIterator[None]:
        events.append("start")
        yield
        events.append("stop")

    targets = [Target(name=n, base_url=f"http://{n}", model="m") for n in ("a", "b")]
    await run_side_by_side(
        _spec(),
        targets,
        rounds=3,
        launchers={"a": server, "b": server},
        lifetime="session",
        transport=FakeOpenAI().transport(),
    )
    assert events == ["start", "start", "stop", "stop"]


@pytest.mark.parametrize(
    ("names", "kw", "match"),
    [
        (["a"], {}, "two or more"),
        (["a", "a"], {}, "two or more"),
        (["a", "b"], {"rounds": 0}, "rounds"),
        (["a", "b"], {"baseline": "c"}, "baseline"),
        (["a", "b"], {"launchers": {"c": None}}, "unknown targets"),
    ],
)
async def test_bad_input(names: list[str], kw: dict, match: str) -> None:  # type: ignore[type-arg]
    targets = [Target(name=n, base_url="http://x", model="m") for n in names]
    with pytest.raises(ConfigError, match=match):
        await run_side_by_side(_spec(), targets, **kw)


def test_round_result_round_trips() -> None:
    result = load_result(FIXTURE)
    assert isinstance(result, SideBySideResult)
    again = RoundResult.model_validate_json(result.rounds[0].model_dump_json())
    assert again == result.rounds[0]
