"""HAProxy's own listeners kept on the API's host, in the local `gemma-serve serve`.

Ray 2.60's HAProxy config template binds a Prometheus frontend on `:9101` and a
stats page on `*:8404`: every interface, whatever `server.host` is (Ray has
settings for their ports, none for their address, and none to turn either off).
`close_side_listeners` is the local Ray's `worker_process_setup_hook`: in each
Ray worker, so in Ray's HAProxy manager before it renders a config, it makes
the Prometheus frontend bind the API's address and drops the stats page (Ray
never reads it: it drives HAProxy through its admin socket). The driver checks
first (`check_template`) that this Ray's template is the one rewritten here.
"""

from __future__ import annotations

from gemma_serve.config.models import ServerConfig
from gemma_serve.errors import ClusterError

#: The setup hook's import path, for `ray.init(runtime_env=...)`.
HOOK = f"{__name__}.close_side_listeners"
_METRICS_BIND = "bind :{{ config.metrics_port }}"
_METRICS_BIND_ON_HOST = "bind {{ config.frontend_host }}:{{ config.metrics_port }}"
_STATS = """listen stats
  bind *:{{ config.stats_port }}
  stats enable
  stats uri {{ config.stats_uri }}
  stats refresh 1s
"""


def haproxy_env(server: ServerConfig) -> dict[str, str]:
    """Ray's settings for HAProxy's ports, from the config."""
    return {"RAY_SERVE_HAPROXY_METRICS_PORT": str(server.haproxy_metrics_port)}


def rewrite_template(template: str) -> str:
    """Ray's HAProxy template with the Prometheus frontend on the API host and no stats page."""
    if template.count(_METRICS_BIND) != 1 or template.count(_STATS) != 1:
        raise ClusterError(
            "Ray's HAProxy config template is not the one gemma-serve knows (Ray 2.60): "
            "cannot keep HAProxy's metrics and stats listeners off other interfaces"
        )
    return template.replace(_METRICS_BIND, _METRICS_BIND_ON_HOST).replace(_STATS, "")


def check_template() -> None:
    """A ClusterError now, in the driver, if Ray's workers could not rewrite the template."""
    from ray.serve._private import haproxy_templates

    rewrite_template(haproxy_templates.HAPROXY_CONFIG_TEMPLATE)


def close_side_listeners() -> None:
    """Ray worker setup hook: rewrite the template HAProxy's manager renders configs from."""
    from ray.serve._private import haproxy

    template = haproxy.HAPROXY_CONFIG_TEMPLATE
    if _METRICS_BIND_ON_HOST not in template:  # once per process
        haproxy.HAPROXY_CONFIG_TEMPLATE = rewrite_template(template)
