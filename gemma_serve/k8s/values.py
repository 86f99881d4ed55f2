"""The Helm chart's values, typed; `values.schema.json` is generated from these models.

`gemmaServe` is a `DeploymentConfig` as is: the chart renders it into the
RayService's `serveConfigV2`, where `gemma_serve.serve.app:build_app` loads it
with the same model, so the values and the local `serve` command share one
source of truth. Every other key describes the Kubernetes side. Fields are
required because the chart's `values.yaml` sets them all and Helm merges user
values over it; a key nulled by mistake is then reported instead of rendering
a half-built object. Kubernetes-shaped fields (`affinity`, `tolerations`, ...)
point at the upstream Kubernetes schema, which `schema.py` embeds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.config.models import DeploymentConfig
from gemma_serve.k8s._types import (
    Affinity,
    Auto,
    ContainerSecurity,
    DnsName,
    EnvVars,
    Labels,
    PodSecurity,
    PullSecrets,
    Resources,
    Tolerations,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Image(_Strict):
    """The gemma-serve GPU image (docker/Dockerfile): the head and the GPU worker groups."""

    repository: str = Field(..., min_length=1, description="Image repository.")
    tag: str = Field(..., description="Image tag; empty means the chart's appVersion.")
    pullPolicy: Literal["Always", "IfNotPresent", "Never"] = Field(
        ..., description="Kubernetes image pull policy (of every image of the chart)."
    )


class CpuImage(_Strict):
    """The gemma-serve CPU image (docker/Dockerfile.cpu: Ray's CPU image + vLLM's CPU build)."""

    repository: str = Field(..., min_length=1, description="Image repository.")
    tag: str = Field(..., description="Image tag; empty means the chart's appVersion.")


class RayAutoscaling(_Strict):
    """KubeRay's in-tree Ray autoscaler: adds GPU pods when Serve wants more replicas."""

    enabled: bool = Field(..., description="Set `enableInTreeAutoscaling` on the cluster.")
    version: Literal["v1", "v2"] = Field(..., description="Ray autoscaler generation.")
    upscalingMode: Literal["Default", "Aggressive", "Conservative"] = Field(
        ..., description="How fast the autoscaler adds pods."
    )
    idleTimeoutSeconds: int = Field(
        ..., ge=0, description="Seconds a worker pod may stay idle before removal."
    )
    resources: Resources = Field(..., description="Requests and limits of the autoscaler.")


class RayHead(_Strict):
    """The Ray head pod: GCS, dashboard and Serve controller; never runs a model."""

    resources: Resources = Field(..., description="Requests and limits of the head (no GPU).")
    nodeSelector: Labels = Field(..., description="Node labels the head pod must match.")
    tolerations: Tolerations = Field(..., description="Taints the head pod tolerates.")
    affinity: Affinity = Field(..., description="Affinity rules of the head pod.")
    rayStartParams: dict[str, str] = Field(
        ..., description="Extra `ray start` parameters (merged over the chart's)."
    )
    serveTraffic: bool = Field(
        ..., description="Whether the API Service also sends traffic to the head's proxy."
    )


class RayAuth(_Strict):
    """Ray's token authentication, through KubeRay's `rayClusterConfig.authOptions`.

    With `token`, KubeRay sets `RAY_AUTH_MODE=token` and `RAY_AUTH_TOKEN` (from
    the Secret's `auth_token` key) on every Ray container, and sends the token
    itself to the dashboard: the GCS, the dashboard (job submission: arbitrary
    code) and the Serve REST API refuse callers without it.
    """

    mode: Literal["token", "disabled"] = Field(
        ...,
        description="`token` (needs Ray >= 2.52 and KubeRay >= 1.5.1) or `disabled` "
        "(anyone who reaches a Ray port can run code on the cluster).",
    )
    secretName: DnsName = Field(
        ...,
        description="Existing Secret whose `auth_token` key holds the token; empty = "
        "KubeRay generates one per RayCluster (a Secret named after the RayCluster).",
    )


class Ray(_Strict):
    """The Ray cluster the RayService runs."""

    version: str = Field(
        ..., pattern=r"^\d+\.\d+\.\d+$", description="Ray version of the image (`rayVersion`)."
    )
    upgradeStrategy: Literal["NewCluster", "None"] = Field(
        ...,
        description="On a cluster change: start a new cluster and switch when ready "
        "(needs spare GPUs), or do nothing.",
    )
    autoscaling: RayAutoscaling = Field(..., description="Ray (pod) autoscaling.")
    auth: RayAuth = Field(..., description="Ray token authentication (KubeRay `authOptions`).")
    head: RayHead = Field(..., description="The head pod.")


class _PodGroup(_Strict):
    """What every worker group sets: its pod count range and where its pods go."""

    minPods: int | Auto = Field(
        ..., description="Fewest pods; `auto` = enough for the models' `min_replicas`."
    )
    maxPods: int | Auto = Field(
        ..., description="Most pods; `auto` = enough for the models' `max_replicas`."
    )
    nodeSelector: Labels = Field(..., description="Node labels the pods must match.")
    tolerations: Tolerations = Field(..., description="Taints the pods tolerate.")
    affinity: Affinity = Field(..., description="Affinity rules of the pods.")
    rayStartParams: dict[str, str] = Field(
        ..., description="Extra `ray start` parameters (merged over the chart's)."
    )


class WorkerGroup(_PodGroup):
    """The pods of one GPU kind; rendered only when a model uses that kind."""

    gpusPerPod: int | Auto = Field(
        ...,
        description="GPUs per pod; `auto` = the largest `hardware.count` of its models "
        "(a replica's tensor-parallel ranks always share one pod).",
    )
    cpuPerGpu: int = Field(..., ge=1, le=256, description="CPU cores requested per GPU.")
    memoryGiBPerGpu: int = Field(..., ge=1, le=4096, description="Memory (GiB) per GPU.")
    shmGiB: int = Field(..., ge=1, le=1024, description="Size of /dev/shm (NCCL, Ray objects).")


class CpuWorkerGroup(_PodGroup):
    """CPU-only pods running vLLM's CPU engine; rendered only when a model is on `cpu`.

    A replica binds `hardware.cpu_cores` cores, so a pod holds
    `cpusPerPod // cpu_cores` replicas of a model and advertises `num-cpus` = its CPUs.
    """

    image: CpuImage = Field(
        ...,
        description="The CPU image of this group; the head runs it too when no model "
        "is on a GPU (a CPU-only cluster needs no GPU image).",
    )
    cpusPerPod: Annotated[int, Field(ge=1, le=1024)] | Auto = Field(
        ...,
        description="CPU cores per pod (requests = limits, Ray's `num-cpus`); `auto` = "
        "the largest `hardware.cpu_cores` of its models.",
    )
    memoryGiBPerPod: int = Field(
        ...,
        ge=1,
        le=4096,
        description="Memory (GiB) per pod: weights and `engine.cpu_kv_cache_gib` of "
        "every replica on it, plus Ray's own processes.",
    )
    shmGiB: int = Field(..., ge=1, le=1024, description="Size of /dev/shm (Ray objects, TP).")


class WorkerGroups(_Strict):
    """One worker group per kind a model can run on, keyed like `hardware.accelerator`."""

    l4: WorkerGroup = Field(..., description="NVIDIA L4 pods.")
    a10g: WorkerGroup = Field(..., description="NVIDIA A10G pods.")
    a100_40gb: WorkerGroup = Field(..., alias="a100-40gb", description="NVIDIA A100 40GB pods.")
    a100_80gb: WorkerGroup = Field(..., alias="a100-80gb", description="NVIDIA A100 80GB pods.")
    h100_80gb: WorkerGroup = Field(..., alias="h100-80gb", description="NVIDIA H100 80GB pods.")
    h200: WorkerGroup = Field(..., description="NVIDIA H200 pods.")
    cpu: CpuWorkerGroup = Field(..., description="CPU-only pods (vLLM's CPU engine).")


class SecretKey(_Strict):
    """A key of an existing Secret (the chart never creates secrets)."""

    name: DnsName = Field(..., description="Secret name; empty disables this secret.")
    key: str = Field(..., min_length=1, description="Key inside the Secret.")


class HuggingFace(_Strict):
    """Access to gated checkpoints (Gemma needs an accepted licence)."""

    tokenSecret: SecretKey = Field(..., description="Secret holding the HF token (`HF_TOKEN`).")


class ApiKeys(_Strict):
    """API keys, exported as the variable `gemmaServe.server.api_keys_env` names."""

    secret: SecretKey = Field(..., description="Secret holding comma-separated API keys.")


class EmptyDirCache(_Strict):
    """Per-pod scratch cache: downloads again on every new pod."""

    sizeLimit: str = Field(..., pattern=r"^\d+(Ki|Mi|Gi|Ti)$", description="Size limit.")


class PvcCache(_Strict):
    """A PersistentVolumeClaim shared by the worker pods."""

    existingClaim: DnsName = Field(..., description="Use this claim; empty = create one.")
    size: str = Field(..., pattern=r"^\d+(Mi|Gi|Ti)$", description="Size of a created claim.")
    storageClassName: str = Field(
        ..., description="Storage class of a created claim; empty = the cluster default."
    )
    accessModes: list[
        Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod", "ReadOnlyMany"]
    ] = Field(..., min_length=1, description="Access modes (several pods need ReadWriteMany).")


class HostPathCache(_Strict):
    """A directory on each GPU node (not allowed by the baseline/restricted pod standards)."""

    path: str = Field(..., pattern=r"^/.+", description="Absolute directory on the node.")
    type: Literal["DirectoryOrCreate", "Directory"] = Field(..., description="hostPath type.")


class ModelCache(_Strict):
    """Where checkpoints are downloaded and prepared (`HF_HOME`, `GEMMA_SERVE_CACHE`)."""

    type: Literal["emptyDir", "pvc", "hostPath"] = Field(..., description="Volume kind.")
    mountPath: str = Field(..., pattern=r"^/.+", description="Mount point in worker pods.")
    emptyDir: EmptyDirCache = Field(..., description="Settings when `type: emptyDir`.")
    pvc: PvcCache = Field(..., description="Settings when `type: pvc`.")
    hostPath: HostPathCache = Field(..., description="Settings when `type: hostPath`.")


class ApiService(_Strict):
    """The OpenAI API Service (KubeRay's serve Service, switched atomically on upgrades)."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        ..., description="Kubernetes Service type."
    )
    annotations: Labels = Field(..., description="Extra annotations.")
    labels: Labels = Field(..., description="Extra labels.")


class Ingress(_Strict):
    """An optional Ingress in front of the API Service."""

    enabled: bool = Field(..., description="Render the Ingress.")
    className: str = Field(..., description="IngressClass name; empty = cluster default.")
    annotations: Labels = Field(..., description="Annotations (e.g. timeouts for streaming).")
    host: DnsName = Field(..., description="Host name; empty = any host.")
    path: str = Field(..., pattern=r"^/", description="Path prefix routed to the API.")
    pathType: Literal["Prefix", "Exact", "ImplementationSpecific"] = Field(
        ..., description="Ingress path type."
    )
    tlsSecretName: DnsName = Field(..., description="TLS Secret for `host`; empty = no TLS.")


class PrometheusRuleValues(_Strict):
    """The alert rules of gemma_serve/metrics/alerts as a PrometheusRule."""

    enabled: bool = Field(..., description="Render the PrometheusRule.")


class Dashboards(_Strict):
    """Grafana dashboards as ConfigMaps picked up by Grafana's dashboard sidecar."""

    enabled: bool = Field(..., description="Render one ConfigMap per dashboard.")
    label: str = Field(..., min_length=1, description="Label the sidecar watches.")
    labelValue: str = Field(..., description="Value of that label.")
    folderAnnotation: str = Field(
        ..., min_length=1, description="Annotation naming the Grafana folder."
    )
    folder: str = Field(..., description="Grafana folder of the dashboards.")


class Monitoring(_Strict):
    """Prometheus Operator objects."""

    scrape: Literal["none", "serviceMonitor", "podMonitor"] = Field(
        ..., description="How Prometheus finds the Ray pods (one scraper, never both)."
    )
    interval: str = Field(..., pattern=r"^\d+(ms|s|m)$", description="Scrape interval.")
    labels: Labels = Field(..., description="Labels your Prometheus selects monitors and rules by.")
    prometheusRule: PrometheusRuleValues = Field(..., description="Alert rules.")
    dashboards: Dashboards = Field(..., description="Grafana dashboards.")


class ProbeTiming(_Strict):
    """An HTTP probe on the API's `/health`."""

    enabled: bool = Field(
        ..., description="Render the probe; off, KubeRay injects its own (raylet) check."
    )
    initialDelaySeconds: int = Field(..., ge=0, description="Delay before the first probe.")
    periodSeconds: int = Field(..., ge=1, description="Seconds between probes.")
    timeoutSeconds: int = Field(..., ge=1, description="Seconds before a probe times out.")
    failureThreshold: int = Field(..., ge=1, description="Failures before acting.")


class Probes(_Strict):
    """Worker probes; `startup` must cover a cold model download and load."""

    startup: ProbeTiming = Field(..., description="Until it passes, the others are off.")
    readiness: ProbeTiming = Field(..., description="Failing: no traffic to the pod.")
    liveness: ProbeTiming = Field(..., description="Failing: the pod is restarted.")


class ChartValues(_Strict):
    """Every value of the gemma-serve chart."""

    nameOverride: str = Field(..., max_length=40, description="Replaces the chart name.")
    fullnameOverride: str = Field(
        ..., max_length=47, description="Replaces release-chart (a RayService name: <= 47)."
    )
    image: Image = Field(
        ..., description="Container image of the head and GPU pods (CPU pods: workerGroups.cpu)."
    )
    imagePullSecrets: PullSecrets = Field(..., description="Secrets for pulling the image.")
    gpuResourceName: str = Field(
        ..., pattern=r"^[a-z0-9.-]+/[a-z0-9.-]+$", description="Extended resource of a GPU."
    )
    ray: Ray = Field(..., description="Ray cluster settings.")
    workerGroups: WorkerGroups = Field(
        ..., description="Pod shape per GPU kind and for CPU, keyed like `hardware.accelerator`."
    )
    gemmaServe: DeploymentConfig = Field(
        ..., description="The deployment config (models, server, cluster) served as is."
    )
    huggingface: HuggingFace = Field(..., description="Hugging Face access.")
    apiKeys: ApiKeys = Field(..., description="API keys of the OpenAI API.")
    modelCache: ModelCache = Field(..., description="Checkpoint cache of the worker pods.")
    service: ApiService = Field(..., description="The OpenAI API Service.")
    ingress: Ingress = Field(..., description="Optional Ingress.")
    monitoring: Monitoring = Field(..., description="Prometheus and Grafana integration.")
    podLabels: Labels = Field(..., description="Extra labels on every Ray pod.")
    podAnnotations: Labels = Field(..., description="Extra annotations on every Ray pod.")
    podSecurityContext: PodSecurity = Field(
        ..., description="Pod security context of every Ray pod."
    )
    securityContext: ContainerSecurity = Field(
        ..., description="Container security context (Ray and autoscaler containers)."
    )
    probes: Probes = Field(..., description="Probes of the worker pods on `/health`.")
    extraEnv: EnvVars = Field(
        ..., description="Extra environment variables of every Ray container."
    )
