"""API keys with names, budgets and priorities: the entries of `server.api_keys_file`.

The file is either one bare key per line (every key equal, no budgets) or a
YAML list of `ApiKey` entries (a Kubernetes Secret mounts either). Keys from
`server.api_keys_env` are bare. Budgets are per key, across the whole
deployment; a name is what metrics and logs show, never the key.
"""

from __future__ import annotations

from pydantic import Field, RootModel, model_validator

from gemma_serve.config.models import _Strict


class ApiKey(_Strict):
    """One client's key, its budgets and its scheduling priority."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Who holds the key: the `key` label of the per-key metrics, never the key.",
    )
    key: str = Field(min_length=1, description="The bearer token (`Authorization: Bearer ...`).")
    requests_per_minute: int | None = Field(
        None, ge=1, description="Requests a minute (a bucket refilled continuously); none: no cap."
    )
    tokens_per_minute: int | None = Field(
        None,
        ge=1,
        description="Tokens a minute, charged on admission as OpenAI does: the prompt estimated "
        "at 4 bytes a token plus the request's maximum output tokens; none: no cap.",
    )
    max_concurrency: int | None = Field(
        None, ge=1, description="Requests of this key in flight at once; none: no cap."
    )
    priority: int = Field(
        0,
        ge=-1000,
        le=1000,
        description="vLLM's request priority (lower runs first under load); a client's own "
        "`priority` field is replaced by it.",
    )

    @property
    def limited(self) -> bool:
        """Whether any budget applies (then every answer carries x-ratelimit-* headers)."""
        return any(
            v is not None
            for v in (self.requests_per_minute, self.tokens_per_minute, self.max_concurrency)
        )


class KeyFile(RootModel[list[ApiKey]]):
    """The YAML form of `server.api_keys_file`: a list of keys, names and keys unique."""

    @model_validator(mode="after")
    def _unique(self) -> KeyFile:
        for field in ("name", "key"):
            values = [getattr(k, field) for k in self.root]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                shown = dupes if field == "name" else [f"entry {values.index(dupes[0]) + 1}"]
                raise ValueError(f"api keys: duplicate {field}: {', '.join(shown)}")
        return self


def bare_keys(keys: list[str], *, source: str) -> list[ApiKey]:
    """Keys without budgets, named after where they came from (`env-1`, `file-2`, ...)."""
    return [ApiKey(name=f"{source}-{i}", key=k) for i, k in enumerate(keys, 1)]
