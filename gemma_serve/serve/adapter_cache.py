"""The bounded LRU of dynamic LoRA adapters one replica keeps loaded.

vLLM keeps whatever it was told to load in its registry and re-reads evicted
adapters from disk behind the scenes, so neither memory nor evictions are
visible. This cache owns that decision: at most `capacity` dynamic adapters
are loaded, the least recently used one goes first, and an adapter serving a
request is never unloaded under it (it is unloaded when its last request
ends, if it was evicted meanwhile). Loads of one name are shared by
concurrent requests. Pure asyncio: loading and unloading are callables.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from gemma_serve.errors import Overloaded, RequestError

Load = Callable[[str, str | None], Awaitable[None]]
Unload = Callable[[str], Awaitable[None]]
#: Loads one request may wait for before giving up (others evicting it meanwhile).
_ATTEMPTS = 3


@dataclass
class _Entry:
    source: str | None  # an admin-given source; None: found by name
    in_use: int = 0
    evicted: bool = False


@dataclass
class CacheEvents:
    """What the cache tells its owner: metrics and the routing report."""

    on_load: Callable[[str], None] = lambda _: None
    on_evict: Callable[[str], None] = lambda _: None
    #: With the adapters held or loading, whenever that set may have changed.
    on_change: Callable[[list[str]], None] = lambda _: None


@dataclass
class AdapterCache:
    """Dynamic adapters of one replica, least recently used first."""

    capacity: int
    load: Load
    unload: Unload
    events: CacheEvents = field(default_factory=CacheEvents)
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)
    _loading: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: Admin-given sources, remembered after eviction so a later use reloads the same one.
    _sources: dict[str, str] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {self.capacity}")

    @property
    def loaded(self) -> list[str]:
        """Loaded adapters, least recently used first (evicted-but-busy ones excluded)."""
        return [name for name, e in self._entries.items() if not e.evicted]

    @asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[None]:
        """Hold `name` loaded for the duration of one request (loading it if needed)."""
        entry = await self._acquire(name)
        try:
            yield
        finally:
            entry.in_use -= 1
            if entry.evicted and entry.in_use == 0:
                async with self._lock:
                    if entry.evicted and entry.in_use == 0:
                        await self._drop(name, entry)

    async def add(self, name: str, source: str | None = None) -> None:
        """Load `name` now (admin): from `source`, or found by name when None.

        A given source is remembered, so the adapter reloads from it after an
        eviction; loading a loaded name from another source replaces it.
        """
        entry = self._entries.get(name)
        if entry is not None and not entry.evicted and entry.source != source:
            await self.remove(name)
        if source is None:
            self._sources.pop(name, None)
        else:
            self._sources[name] = source
        async with self.use(name):
            pass

    async def remove(self, name: str) -> bool:
        """Unload `name` (once its requests end) and forget its source; False if unknown."""
        known = self._sources.pop(name, None) is not None
        async with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.evicted:
                return known
            entry.evicted = True
            if entry.in_use == 0:
                await self._drop(name, entry)
            self._changed()
        return True

    async def _acquire(self, name: str) -> _Entry:
        """The loaded entry of `name`, counted in use (the caller releases it)."""
        for _ in range(_ATTEMPTS):
            entry = self._entries.get(name)
            if entry is not None and not entry.evicted:
                self._entries.move_to_end(name)
                entry.in_use += 1  # no await since the check: nothing evicts it in between
                return entry
            task = self._loading.get(name)
            if task is None:
                task = self._loading[name] = asyncio.create_task(self._load(name))
                task.add_done_callback(lambda _: self._loading.pop(name, None))
                self._changed()  # routers may send this name here while it loads
            await asyncio.shield(task)  # a client leaving does not cancel a shared load
        raise Overloaded(
            f"adapter {name!r} was evicted before it could serve: more distinct adapters are "
            f"in flight than the {self.capacity} this replica keeps (lora.max_cpu_loras)"
        )

    async def _load(self, name: str) -> None:
        async with self._lock:
            entry = self._entries.get(name)
            source = self._sources.get(name)
            if entry is not None:  # evicted while still serving: keep it, no reload
                if entry.source != source:
                    raise RequestError(
                        f"adapter {name!r} is still serving requests from its previous "
                        "source; retry once they finish"
                    )
                entry.evicted = False
                self._entries.move_to_end(name)
            else:
                # Loaded before anything is evicted (as vLLM's own cache does): an adapter
                # that cannot be found or loaded costs the others nothing.
                await self.load(name, source)
                self._entries[name] = _Entry(source=source)
                self.events.on_load(name)
            await self._make_room(keep=name)
            self._changed()

    async def _make_room(self, *, keep: str) -> None:
        """Evict least recently used adapters, idle ones first, until `capacity` are loaded."""
        for busy in (False, True):
            for name, entry in list(self._entries.items()):
                if len(self.loaded) <= self.capacity:
                    return
                if name == keep or entry.evicted or (entry.in_use > 0) != busy:
                    continue
                entry.evicted = True
                self.events.on_evict(name)
                if entry.in_use == 0:
                    await self._drop(name, entry)

    async def _drop(self, name: str, entry: _Entry) -> None:
        if self._entries.get(name) is entry:
            del self._entries[name]
            await self.unload(name)

    @property
    def held(self) -> list[str]:
        """Loaded adapters and those loading now: what the routing report lists."""
        return [*self.loaded, *(n for n in self._loading if n not in self._entries)]

    def _changed(self) -> None:
        self.events.on_change(self.held)
