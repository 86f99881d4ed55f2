"""Free TCP ports for the stacks the tests start, safe from the ports processes take by themselves.

A port the kernel hands out for `bind(("", 0))` comes from the ephemeral range
(32768-60999 here), the same range every outgoing connection and every
port-0 listener of Ray (raylet, object manager, gRPC servers) draws from. A
stack is told its ports before it starts and binds some of them only tens of
seconds later (Serve's HAProxy binds the API port when the app is deployed), so
an ephemeral port can be taken in between: CI saw "cannot bind socket
(Address already in use)" that way. These ports come from below the ephemeral
range and above Ray's worker range, and none is handed out twice in a session.
"""

from __future__ import annotations

import random
import socket

#: Ray's default worker ports (10002-19999) lie below; the kernel's ephemeral range above.
_RANGE = range(20000, 32768)
_given: set[int] = set()


def _ephemeral_start() -> int:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        return int(f.read().split()[0])


def free_port() -> int:
    """A port free on every interface now, outside the ranges others draw from by themselves."""
    stop = min(_RANGE.stop, _ephemeral_start())
    for port in random.sample(range(_RANGE.start, stop), stop - _RANGE.start):
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {_RANGE.start}-{stop - 1}")
