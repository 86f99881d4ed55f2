"""The replica's LRU of dynamic adapters (pure asyncio; loading and unloading recorded)."""

from __future__ import annotations

import asyncio

import pytest

from gemma_serve.errors import ModelNotFound
from gemma_serve.serve.adapter_cache import AdapterCache, CacheEvents


class Engine:
    """Records what the cache asks of the engine; `gate` holds loads until set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self.held: set[str] = set()
        self.gate = asyncio.Event()
        self.gate.set()

    async def load(self, name: str, source: str | None) -> None:
        await self.gate.wait()
        if name.startswith("missing"):
            raise ModelNotFound(name)
        assert name not in self.held, f"{name} loaded twice"
        self.calls.append(("load", name, source))
        self.held.add(name)

    async def unload(self, name: str) -> None:
        self.calls.append(("unload", name, None))
        self.held.remove(name)


def _cache(capacity: int, engine: Engine, log: list[str] | None = None) -> AdapterCache:
    events = CacheEvents(on_evict=(log.append if log is not None else lambda _: None))
    return AdapterCache(capacity=capacity, load=engine.load, unload=engine.unload, events=events)


async def _use(cache: AdapterCache, name: str) -> None:
    async with cache.use(name):
        pass


async def test_least_recently_used_goes_first_and_evictions_are_reported() -> None:
    engine, evicted = Engine(), []
    cache = _cache(2, engine, evicted)
    for name in ("a", "b", "a", "c"):  # `a` used again: `b` is the least recent
        await _use(cache, name)
    assert cache.loaded == ["a", "c"]
    assert engine.held == {"a", "c"}
    assert evicted == ["b"]


async def test_concurrent_first_uses_share_one_load() -> None:
    engine = Engine()
    engine.gate.clear()
    cache = _cache(2, engine)
    tasks = [asyncio.create_task(_use(cache, "a")) for _ in range(5)]
    await asyncio.sleep(0)
    engine.gate.set()
    await asyncio.gather(*tasks)
    assert [c for c in engine.calls if c[0] == "load"] == [("load", "a", None)]


async def test_an_adapter_serving_a_request_is_unloaded_only_when_it_ends() -> None:
    engine, evicted = Engine(), []
    cache = _cache(1, engine, evicted)
    async with cache.use("a"):
        await _use(cache, "b")  # `a` is evicted from the LRU but still serving
        assert evicted == ["a"]
        assert "a" in engine.held
        assert cache.loaded == ["b"]
    assert engine.held == {"b"}


async def test_an_evicted_adapter_used_again_while_busy_is_kept_not_reloaded() -> None:
    engine = Engine()
    cache = _cache(1, engine)
    async with cache.use("a"):
        await _use(cache, "b")
        await _use(cache, "a")
    assert engine.calls.count(("load", "a", None)) == 1
    assert cache.loaded == ["a"]


async def test_a_failed_load_leaves_nothing_behind() -> None:
    engine = Engine()
    cache = _cache(1, engine)
    await _use(cache, "a")
    with pytest.raises(ModelNotFound):
        await _use(cache, "missing")
    assert cache.loaded == ["a"]


async def test_admin_sources_are_remembered_across_evictions_until_removed() -> None:
    engine = Engine()
    cache = _cache(1, engine)
    await cache.add("a", "v2/a")
    await _use(cache, "b")  # evicts a
    await _use(cache, "a")  # reloads from the admin-given source
    assert ("load", "a", "v2/a") in engine.calls[-2:]
    assert await cache.remove("a") is True
    assert "a" not in engine.held
    assert await cache.remove("a") is False
    await _use(cache, "a")  # found by name again
    assert engine.calls[-1] == ("load", "a", None)
