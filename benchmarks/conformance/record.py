"""What a conformance run writes: results.json (pydantic), and the table derived from it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from benchmarks.environment import Environment
from benchmarks.record import ColumnRecord, Launch

Outcome = Literal["pass", "fail", "na"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Check(_Strict):
    """One check, as collected."""

    id: str = Field(description="pytest node id without the directory, e.g. test_chat.py::x.")
    mirrors: str = Field(description="The vLLM test it re-implements (file::function).")


class CheckResult(_Strict):
    """One check's outcome against one server."""

    outcome: Outcome = Field(description="pass, fail, or na (not applicable: skipped).")
    reason: str | None = Field(default=None, description="Why it failed or does not apply.")
    duration_s: float = Field(description="Setup + call + teardown.")


class ServerRun(_Strict):
    """All checks against one server."""

    column: ColumnRecord = Field(description="The server, as started.")
    launch: Launch | None = Field(description="Its start and stop, None if it did not start.")
    error: str | None = Field(default=None, description="Why the run did not happen.")
    checks_s: float = Field(description="Wall time of the checks.")
    results: dict[str, CheckResult] = Field(description="By Check.id.")


class ConformanceResult(_Strict):
    """A conformance run: gemma-serve and bare vLLM, check by check."""

    kind: Literal["conformance"] = Field(default="conformance", description="Result tag.")
    created_at: str = Field(description="UTC start time, ISO 8601.")
    wall_s: float = Field(description="Wall time of the whole run, starts and stops included.")
    environment: Environment = Field(description="Machine and versions, read at run time.")
    versions: dict[str, str] = Field(description="vllm, ray and gemma-serve, read at run time.")
    model: str = Field(description="The served model name every check asks for.")
    checks: list[Check] = Field(description="In collection order.")
    servers: list[ServerRun] = Field(description="In run order.")
    notes: dict[str, str] = Field(description="Explanations, by Check.id.")
