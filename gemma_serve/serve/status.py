"""What runs where: models, their replicas, the node each is on and its state.

Read from Ray Serve's controller (the same details its dashboard REST API
returns), by joining the cluster as a driver.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gemma_serve.errors import ClusterError
from gemma_serve.serve.cluster import joined


class ReplicaRow(BaseModel):
    """One replica of one deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment: str = Field(..., description="Serve deployment (model-<name>, or gateway).")
    replica: str = Field(..., description="Replica id.")
    state: str = Field(..., description="Serve's replica state (RUNNING, STARTING, ...).")
    node_ip: str = Field(..., description="IP of the node it runs on.")
    node_id: str = Field(..., description="Ray node id (short).")


class AppStatus(BaseModel):
    """The gemma-serve application on a cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: str = Field(..., description="Serve's application status.")
    message: str = Field(..., description="Serve's message, e.g. why a deploy failed.")
    replicas: list[ReplicaRow] = Field(..., description="Every replica of every deployment.")


def app_status(address: str, app_name: str) -> AppStatus:
    """Join the cluster at `address` and read the application's replicas."""
    from ray.serve.context import _get_global_client
    from ray.serve.schema import ServeInstanceDetails

    with joined(address, quiet=True):
        client = _get_global_client()
        if client is None:
            raise ClusterError(f"Ray Serve is not running on the cluster at {address}")
        details = ServeInstanceDetails(**client.get_serve_details())
    app = details.applications.get(app_name)
    if app is None:
        raise ClusterError(f"no application {app_name!r} on the cluster at {address}")
    rows = [
        ReplicaRow(
            deployment=name,
            replica=r.replica_id,
            state=str(r.state.value),
            node_ip=r.node_ip or "?",
            node_id=(r.node_id or "?")[:12],
        )
        for name, deployment in sorted(app.deployments.items())
        for r in deployment.replicas
    ]
    return AppStatus(status=str(app.status.value), message=app.message or "", replicas=rows)
