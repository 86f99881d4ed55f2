"""Joining an existing Ray cluster as a driver, failing fast and in one line."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from gemma_serve.errors import ClusterError

#: Seconds to wait for the GCS port to accept a connection before giving up.
_CONNECT_TIMEOUT_S = 5.0


@contextmanager
def joined(address: str, *, quiet: bool = False) -> Iterator[None]:
    """Connected to the cluster at `address` (`host:port` or `auto`) for the block.

    Ray itself retries an unreachable GCS for minutes; a plain TCP connect
    first turns a wrong address into an error within seconds.
    """
    if address != "auto":
        _check_reachable(address)
    import ray
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available,
    )

    # A local `ray.init()` cluster has token auth on by default (Ray >= 2.59) with the
    # token in ~/.ray/auth_token, but a driver joining it only sends a token when
    # RAY_AUTH_MODE says so: Ray's own rule, applied as `ray start --address` does.
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)

    try:
        ray.init(
            address=address,
            logging_level=logging.ERROR if quiet else logging.WARNING,
            log_to_driver=not quiet,
        )
    except (ConnectionError, RuntimeError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {exc}") from None
    try:
        yield
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterError(f"cluster address {address!r} is not host:port (or `auto`)")
    try:
        with socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ClusterError(
            f"cannot join the Ray cluster at {address}: nothing answers there ({exc.strerror})"
        ) from None
