"""The pydantic base every benchmark spec and result shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Frozen, and unknown keys are an error: a typo in a spec must not pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)
