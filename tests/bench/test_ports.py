"""Ports for stacks are chosen where no process takes one by itself between choosing and binding."""

from __future__ import annotations

import socket

from benchmarks.ports import free_port


def test_ports_lie_outside_the_ephemeral_and_ray_worker_ranges_and_never_repeat() -> None:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral = int(f.read().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(19999 < port < ephemeral for port in ports)


def test_a_port_is_bindable_on_every_interface() -> None:
    with socket.socket() as s:
        s.bind(("0.0.0.0", free_port()))
