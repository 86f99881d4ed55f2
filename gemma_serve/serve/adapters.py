"""One replica's LoRA adapters: static ones from the plan, dynamic ones in a bounded LRU.

Which names a replica answers and what loading one means: the base model,
its static adapters (vLLM loaded them at start), and, when the plan has a
dynamic directory, any adapter found there (or given by the admin endpoint)
by name on first use. Loading, eviction and the routing report are wired
here; the LRU itself is `adapter_cache`, vLLM's side is `engine.lora`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal, Protocol

from gemma_serve.engine.lora import within
from gemma_serve.errors import ModelNotFound, RequestError
from gemma_serve.metrics import ModelEdgeMetrics
from gemma_serve.planner.lora import LoraPlan
from gemma_serve.serve.adapter_cache import AdapterCache, CacheEvents

Kind = Literal["base", "static", "dynamic"]


class Engine(Protocol):
    """What the adapters need from the engine (`gemma_serve.engine.lora.EngineAdapters`)."""

    async def resolve(self, directory: str | None, name: str) -> str | None: ...
    async def load(self, name: str, path: str) -> None: ...
    async def unload(self, name: str) -> None: ...


class ReplicaAdapters:
    """The adapters one replica serves on its base model."""

    def __init__(
        self,
        lora: LoraPlan,
        *,
        base: str,
        engine: Engine,
        metrics: ModelEdgeMetrics,
        report: Callable[[list[str]], None] = lambda _: None,
    ) -> None:
        self.lora = lora
        self.base = base
        self._engine = engine
        self._static = frozenset(lora.names)
        self._metrics = metrics
        self._report = report
        self._cache = (
            AdapterCache(
                capacity=lora.dynamic_slots,
                load=self._load,
                unload=engine.unload,
                events=CacheEvents(
                    on_load=lambda _: metrics.count_adapter_load(),
                    on_evict=lambda _: metrics.count_adapter_eviction(),
                    on_change=self._changed,
                ),
            )
            if lora.dynamic
            else None
        )
        if self._cache is not None:
            metrics.set_adapters_loaded(0)

    def kind(self, name: str) -> Kind | None:
        """What `name` is on this replica; None: nothing it could serve."""
        if name == self.base:
            return "base"
        if name in self._static:
            return "static"
        return "dynamic" if self._cache is not None else None

    @property
    def dynamic(self) -> list[str]:
        """The dynamic adapters loaded now, least recently used first."""
        return self._cache.loaded if self._cache else []

    @asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[None]:
        """Serve one request for `name`: a dynamic adapter is loaded and held meanwhile."""
        kind = self.kind(name)
        if kind is None:
            raise ModelNotFound(f"The model `{name}` does not exist.")
        if kind == "dynamic":
            assert self._cache is not None
            async with self._cache.use(name):
                yield
        else:
            yield

    async def add(self, name: str, source: str | None) -> None:
        """Admin load: `name` from `source` (inside the directory) or found by name."""
        cache = self._dynamic_cache(name)
        if source is not None:
            assert self.lora.directory is not None
            if within(self.lora.directory, source) is None:
                raise RequestError(
                    f"lora_path {source!r} is outside the adapter directory {self.lora.directory}"
                )
        await cache.add(name, source)

    async def remove(self, name: str) -> bool:
        """Admin unload; False when `name` was not loaded here."""
        return await self._dynamic_cache(name).remove(name)

    def _dynamic_cache(self, name: str) -> AdapterCache:
        if name == self.base or name in self._static:
            raise RequestError(f"{name!r} is a model or a static adapter; it cannot be changed")
        if self._cache is None:
            raise RequestError(
                "dynamic adapters are off for this model (set models[].lora.directory)"
            )
        return self._cache

    async def _load(self, name: str, source: str | None) -> None:
        path = source
        if path is not None and self.lora.directory is not None:
            found = within(self.lora.directory, path)
            path = str(found) if found else None
        else:
            path = await self._engine.resolve(self.lora.directory, name)
        if path is None:
            raise ModelNotFound(f"The model `{name}` does not exist.")
        await self._engine.load(name, path)

    def _changed(self, held: list[str]) -> None:
        self._metrics.set_adapters_loaded(len(self.dynamic))
        self._report(held)
