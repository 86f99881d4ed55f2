"""What KubeRay makes of the rendered RayService: one `ray start` command and env per pod.

Pure and Kubernetes-shaped (no Ray, no processes): the rules are ported from
KubeRay's pod builder (ray-operator/controllers/ray/common/pod.go:
`setMissingRayStartParams`, `generateRayStartCommand`,
`updateRayStartParamsResources`, `setContainerEnvVars`,
`SetContainerTokenAuthEnvVars`) so that the cluster harness starts nodes with
what a real RayCluster's pods would run, not with parameters of its own.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

#: KubeRay's defaults (utils/constant.go).
GCS_PORT, DASHBOARD_PORT, CLIENT_PORT, METRICS_PORT, AGENT_PORT = 6379, 8265, 10001, 8080, 52365
#: The key of a Ray token Secret (utils.RAY_AUTH_TOKEN_SECRET_KEY).
TOKEN_KEY = "auth_token"
_QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTOR = {
    None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip


class PodError(Exception):
    """A pod KubeRay (or the kubelet) would not start, e.g. a missing Secret key."""


@dataclass(frozen=True)
class Pod:
    """One Ray pod as KubeRay creates it.

    `params` are the complete rayStartParams (KubeRay's defaults and `block`
    added), `env` the Ray container's env with KubeRay's variables (Secret
    references unresolved), `mounts` volume name -> mount path.
    """

    name: str
    group: str
    head: bool
    params: dict[str, str]
    env: list[dict[str, Any]] = field(default_factory=list)
    mounts: dict[str, str] = field(default_factory=dict)

    def argv(self) -> list[str]:
        """The `ray start` command KubeRay generates for this pod."""
        return ray_start_argv(self.params, head=self.head)


#: `ray start` flags that take an explicit boolean (KubeRay's specialParameterOptions).
_EXPLICIT_BOOLEANS = ("log-color", "include-dashboard", "include-log-monitor")


def ray_start_argv(params: dict[str, str], *, head: bool) -> list[str]:
    """KubeRay's `convertParamMap`: sorted flags, `true` as a bare flag, `false` dropped."""
    argv = ["ray", "start", *(["--head"] if head else [])]
    for key in sorted(params):
        value = params[key]
        if value.lower() in ("true", "false") and key not in _EXPLICIT_BOOLEANS:
            if value.lower() == "true":
                argv.append(f"--{key}")
        else:
            argv.append(f"--{key}={value}")
    return argv


def quantity(text: str | int | float) -> float:
    """A Kubernetes resource quantity (`500m`, `4Gi`, `2`) as a number."""
    m = _QUANTITY.match(str(text))
    if not m:
        raise PodError(f"not a Kubernetes quantity: {text!r}")
    return float(m.group(1)) * _FACTOR[m.group(2)]


def generate_token() -> str:
    """A token like KubeRay's generated Secret: 32 random bytes, base64."""
    import base64

    return base64.b64encode(secrets.token_bytes(32)).decode()


def token_secret_name(rayservice: dict[str, Any], cluster_name: str) -> str | None:
    """The Secret holding the Ray token (None: auth off): the named one or KubeRay's own."""
    auth = rayservice["spec"]["rayClusterConfig"].get("authOptions")
    if not auth or auth.get("mode", "token") != "token":  # KubeRay's default mode is token
        return None
    return str(auth.get("secretName") or cluster_name)


def pods(rayservice: dict[str, Any], *, cluster_name: str, namespace: str = "default") -> list[Pod]:
    """The head and every worker pod (`replicas` per group) KubeRay starts for `rayservice`."""
    spec = rayservice["spec"]["rayClusterConfig"]
    auth_secret = token_secret_name(rayservice, cluster_name)
    head_spec = spec["headGroupSpec"]
    head_ip = f"{cluster_name}-head-svc.{namespace}.svc.cluster.local"
    out = [
        _pod(
            "head", "headgroup", head_spec, head=True, address=None,
            head_ip=head_ip, auth_secret=auth_secret, cluster_name=cluster_name,
        )
    ]  # fmt: skip
    for group in spec.get("workerGroupSpecs") or []:
        for i in range(int(group.get("replicas", 0))):
            out.append(
                _pod(
                    f"{group['groupName']}-{i}", group["groupName"], group, head=False,
                    address=f"{head_ip}:{GCS_PORT}", head_ip=head_ip,
                    auth_secret=auth_secret, cluster_name=cluster_name,
                )
            )  # fmt: skip
    return out


def _pod(
    name: str,
    group_name: str,
    group: dict[str, Any],
    *,
    head: bool,
    address: str | None,
    head_ip: str,
    auth_secret: str | None,
    cluster_name: str,
) -> Pod:
    container = group["template"]["spec"]["containers"][0]
    params = {k: str(v) for k, v in (group.get("rayStartParams") or {}).items()}
    _group_resources(params, group.get("resources") or {})
    # setMissingRayStartParams
    if head:
        params.setdefault("dashboard-host", "0.0.0.0")
    else:
        params.setdefault("address", str(address))
    params.setdefault("metrics-export-port", str(METRICS_PORT))
    params["block"] = "true"
    params.setdefault("dashboard-agent-listen-port", str(AGENT_PORT))
    # generateRayStartCommand: CPUs, memory and GPUs from the container's limits (else requests)
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    cpu = limits.get("cpu") or requests.get("cpu")
    if "num-cpus" not in params and cpu is not None:
        params["num-cpus"] = str(math.ceil(quantity(cpu)))
    if "memory" not in params and limits.get("memory") is not None:
        params["memory"] = str(math.ceil(quantity(limits["memory"])))
    gpus = next((v for k, v in sorted(limits.items()) if k.endswith("/gpu")), None)
    if "num-gpus" not in params and gpus is not None and quantity(gpus) > 0:
        params["num-gpus"] = str(math.ceil(quantity(gpus)))
    env = [dict(e) for e in container.get("env") or []]
    _kuberay_env(env, head=head, head_ip=head_ip, group=group_name, pod=name, params=params)
    if auth_secret is not None:
        _token_env(env, auth_secret)
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts") or []}
    return Pod(name, group_name, head, params, env, mounts)


def _group_resources(params: dict[str, str], resources: dict[str, str]) -> None:
    """updateRayStartParamsResources: the group's top-level `resources` field."""
    custom: dict[str, float] = {}
    for name, value in resources.items():
        if name.lower() == "cpu":
            params["num-cpus"] = str(int(quantity(value)))
        elif name.lower() == "memory":
            params["memory"] = str(int(quantity(value)))
        elif name.lower().endswith("gpu"):
            params["num-gpus"] = str(int(quantity(value)))
        else:
            custom[name] = quantity(value)
    if custom:
        params["resources"] = f"'{json.dumps(custom, separators=(',', ':'))}'"


def _has(env: list[dict[str, Any]], name: str) -> bool:
    return any(e["name"] == name for e in env)


def _kuberay_env(
    env: list[dict[str, Any]],
    *,
    head: bool,
    head_ip: str,
    group: str,
    pod: str,
    params: dict[str, str],
) -> None:
    """setContainerEnvVars for a RayService's pods (the fields Ray reads)."""
    ip = "127.0.0.1" if head else head_ip
    if not head:
        env += [{"name": "FQ_RAY_IP", "value": ip}, {"name": "RAY_IP", "value": ip.split(".")[0]}]
    env += [
        {"name": "RAY_CLOUD_INSTANCE_ID", "value": pod},
        {"name": "RAY_NODE_TYPE_NAME", "value": group},
        {"name": "KUBERAY_GEN_RAY_START_CMD", "value": " ".join(ray_start_argv(params, head=head))},
    ]  # fmt: skip
    defaults = {
        "RAY_PORT": str(GCS_PORT),
        # RayService pods: fail fast on lost GCS/KV calls (Serve keeps serving).
        "RAY_timeout_ms_task_wait_for_death_info": "0",
        "RAY_gcs_server_request_timeout_seconds": "5",
        "RAY_SERVE_KV_TIMEOUT_S": "5",
        "RAY_ADDRESS": f"{ip}:{GCS_PORT}",
        "RAY_USAGE_STATS_KUBERAY_IN_USE": "1",
        "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE": "1",
    }
    for name, value in defaults.items():
        if not _has(env, name):
            env.append({"name": name, "value": value})


def _token_env(env: list[dict[str, Any]], secret: str) -> None:
    """SetContainerTokenAuthEnvVars: token mode, the token from the Secret's `auth_token`."""
    if not _has(env, "RAY_AUTH_MODE"):
        env.append({"name": "RAY_AUTH_MODE", "value": "token"})
    if not _has(env, "RAY_AUTH_TOKEN"):
        ref = {"name": secret, "key": TOKEN_KEY}
        env.append({"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": ref}})


def resolve_env(env: list[dict[str, Any]], secrets_: dict[str, dict[str, str]]) -> dict[str, str]:
    """The env the process sees; a missing Secret or key fails as the kubelet fails it."""
    out: dict[str, str] = {}
    for entry in env:
        if "value" in entry:
            out[entry["name"]] = str(entry["value"])
            continue
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref is None:
            raise PodError(f"env {entry['name']}: only value and secretKeyRef are emulated")
        secret = secrets_.get(ref["name"])
        if secret is None or ref["key"] not in secret:
            raise PodError(
                f"env {entry['name']}: secret {ref['name']!r} has no key {ref['key']!r} "
                "(CreateContainerConfigError)"
            )
        out[entry["name"]] = secret[ref["key"]]
    return out
