"""Telling Ray Serve which adapters a replica holds, so its routers prefer it.

Ray Serve's request routers (power-of-two and Ray Serve LLM's prefix-aware
one) already route a request carrying `multiplexed_model_id` to replicas that
reported that id, falling back to the replicas with the fewest ids and then to
any replica when those are busy. `@serve.multiplexed` reports ids from its own
LRU, which cannot unload a given adapter or keep one that is serving a
request; the replica's adapter cache owns that, so this sends the same report
`@serve.multiplexed` sends (a `RequestRoutingInfo` to the controller).
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


def _send(names: list[str]) -> None:
    from ray.serve._private.common import RequestRoutingInfo
    from ray.serve.context import _get_global_client, _get_internal_replica_context

    context = _get_internal_replica_context()
    if context is None:  # outside a replica (unit tests): nobody routes to us
        return
    info = RequestRoutingInfo(replica_id=context.replica_id, multiplexed_model_ids=names)
    client = _get_global_client()
    if client is not None:
        client.record_request_routing_info(info)


class AdapterReport:
    """Send the latest set of held adapters, one report at a time, off the event loop."""

    def __init__(self) -> None:
        self._latest: list[str] | None = None
        self._task: asyncio.Task[None] | None = None

    def __call__(self, names: list[str]) -> None:
        self._latest = list(names)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._latest is not None:
            names, self._latest = self._latest, None
            try:
                await asyncio.to_thread(_send, names)
            except Exception as exc:  # routing degrades to load balancing; serving goes on
                logger.warning("could not report loaded adapters to Ray Serve: %s", exc)
