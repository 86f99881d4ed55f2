"""The local stack's ports: a taken one is a one-line error naming its setting; HAProxy's
own listeners are rewritten onto the API's host (Ray's real template, rendered)."""

from __future__ import annotations

import socket

import pytest

from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ClusterError, PortInUse
from gemma_serve.serve import haproxy
from gemma_serve.serve.runtime import check_ports_free
from tests.stack import free_port


@pytest.mark.parametrize(
    ("field", "setting"),
    [("port", "server.port (--port)"), ("haproxy_metrics_port", "server.haproxy_metrics_port")],
)
def test_a_taken_port_names_its_setting(field: str, setting: str) -> None:
    ports = {"port": free_port(), "haproxy_metrics_port": free_port()}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[field]))
        holder.listen()
        with pytest.raises(PortInUse) as info:
            check_ports_free(ServerConfig(**ports))
    message = str(info.value)
    assert f"port {ports[field]} on 127.0.0.1 is already in use" in message
    assert setting in message and "\n" not in message


def test_free_ports_pass_and_are_left_free() -> None:
    server = ServerConfig(port=free_port(), haproxy_metrics_port=free_port())
    check_ports_free(server)
    check_ports_free(server)


def test_a_listener_on_every_interface_takes_the_port_on_loopback_too() -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", port))
        holder.listen()
        with pytest.raises(PortInUse):
            check_ports_free(ServerConfig(port=port, haproxy_metrics_port=free_port()))


def test_the_api_port_and_haproxys_metrics_port_differ() -> None:
    with pytest.raises(ValueError, match="haproxy_metrics_port=8000 is the API port"):
        ServerConfig(port=8000, haproxy_metrics_port=8000)


def _render(template: str, host: str) -> str:
    """Ray's own rendering of its HAProxy config (no backends yet)."""
    from jinja2 import Environment
    from ray.serve._private.haproxy import HAProxyConfig
    from ray.serve.config import HTTPOptions

    config = HAProxyConfig(http_options=HTTPOptions(host=host, port=8123), metrics_port=9123)
    env = Environment()
    env.filters["haproxy_fmt"] = lambda v: v
    return env.from_string(template).render(config=config, backends=[], grpc_backends=[],
                                            route_info=None)  # fmt: skip


def test_haproxys_metrics_bind_the_api_host_and_the_stats_page_is_gone() -> None:
    from ray.serve._private.haproxy_templates import HAPROXY_CONFIG_TEMPLATE

    original = _render(HAPROXY_CONFIG_TEMPLATE, "127.0.0.1")
    assert "bind :9123" in original and "listen stats" in original  # what Ray 2.60 renders
    rewritten = _render(haproxy.rewrite_template(HAPROXY_CONFIG_TEMPLATE), "127.0.0.1")
    assert "bind 127.0.0.1:9123" in rewritten and "bind 127.0.0.1:8123" in rewritten
    assert "listen stats" not in rewritten and "stats enable" not in rewritten
    assert "bind *:9123" in _render(haproxy.rewrite_template(HAPROXY_CONFIG_TEMPLATE), "0.0.0.0")


def test_the_hook_rewrites_the_template_ray_renders_once() -> None:
    from ray.serve._private import haproxy as ray_haproxy

    before = ray_haproxy.HAPROXY_CONFIG_TEMPLATE
    try:
        haproxy.close_side_listeners()
        haproxy.close_side_listeners()
        assert ray_haproxy.HAPROXY_CONFIG_TEMPLATE == haproxy.rewrite_template(before)
    finally:
        ray_haproxy.HAPROXY_CONFIG_TEMPLATE = before
    haproxy.check_template()


def test_an_unknown_template_is_refused_in_one_line() -> None:
    with pytest.raises(ClusterError, match="not the one gemma-serve knows"):
        haproxy.rewrite_template("frontend prometheus\n    bind 0.0.0.0:9101\n")
