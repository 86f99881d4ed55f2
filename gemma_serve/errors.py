"""One exception tree for gemma-serve.

Lower layers raise these; vLLM and Ray errors are translated into them in one
place (`gemma_serve.engine.errors`), and they are mapped to HTTP once, at the
edge (`gemma_serve.api.errors`), and to a one-line message and exit code 2 in
the CLI.
"""

from __future__ import annotations


class GemmaServeError(Exception):
    """Base of every error gemma-serve raises on purpose."""

    #: HTTP status when this reaches a client.
    status_code: int = 500
    #: OpenAI-style error `type`.
    error_type: str = "internal_error"


class ConfigError(GemmaServeError):
    """A deployment file, environment override or flag is invalid."""

    status_code = 400
    error_type = "invalid_config"


class PlanError(GemmaServeError):
    """The configuration is valid but cannot run on the requested hardware."""

    status_code = 400
    error_type = "unplannable"


class ModelPrepareError(GemmaServeError):
    """A checkpoint could not be installed, converted or verified."""


class RequestError(GemmaServeError):
    """A client request is invalid."""

    status_code = 400
    error_type = "invalid_request_error"


class ModelNotFound(RequestError):
    """The request names a model this deployment does not serve."""

    status_code = 404
    error_type = "model_not_found"


class RouteNotFound(RequestError):
    """The request's path is not one the API serves."""

    status_code = 404


class MethodNotAllowed(RequestError):
    """The path is served, but not with this method; `allow` lists the ones it takes."""

    status_code = 405

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class PayloadTooLarge(RequestError):
    """The request body exceeds the configured limit."""

    status_code = 413


class Unauthorized(RequestError):
    """Missing or wrong API key."""

    status_code = 401
    error_type = "authentication_error"


class Overloaded(GemmaServeError):
    """Too many requests in flight; the client should retry after `retry_after_s`."""

    status_code = 503
    error_type = "overloaded"

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimited(GemmaServeError):
    """A key is over one of its budgets; `headers` are its x-ratelimit-* values now."""

    status_code = 429
    error_type = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers = headers or []


class EngineError(GemmaServeError):
    """The engine failed in a way gemma-serve has no better name for (its message kept)."""

    error_type = "engine_error"


class EngineDead(EngineError):
    """The engine process died; the replica is being replaced."""

    status_code = 503
    error_type = "engine_unavailable"


class DeployFailed(GemmaServeError):
    """The Serve application could not start (a replica's constructor failed, or Serve's)."""

    error_type = "deploy_failed"


class ClusterError(GemmaServeError):
    """The Ray cluster cannot be started or reached, or refused what was asked of it."""

    error_type = "cluster_error"


class PortInUse(ClusterError):
    """A port the local stack must bind is taken; the message names the setting that moves it."""

    error_type = "port_in_use"
