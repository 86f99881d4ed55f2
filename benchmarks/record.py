"""What a suite run records beside the side-by-side result: `results/suite.json`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from benchmarks.environment import Environment


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnRecord(_Strict):
    """One server under test, as it was started."""

    name: str = Field(description="Target name in the side-by-side result.")
    label: str = Field(description="Column header in the README.")
    description: str = Field(description="What differs from the other columns, in a phrase.")
    command: list[str] = Field(description="The argv the suite ran.")
    env: dict[str, str] = Field(description="Variables the suite added to its own environment.")
    config: str | None = Field(
        default=None, description="A config file the command reads, relative to the results."
    )


class Launch(_Strict):
    """One start of a server."""

    ready_s: float = Field(description="From the launch to the first streamed token.")
    stop_s: float = Field(description="From SIGTERM to every process of the server gone.")


class SuiteRecord(_Strict):
    """The run: where, with which versions, which servers, how long."""

    kind: Literal["suite"] = Field(default="suite", description="Result tag.")
    created_at: str = Field(description="UTC start time, ISO 8601.")
    quick: bool = Field(description="A smoke run (few requests, one round): numbers are noise.")
    wall_s: float = Field(description="Wall time of the whole suite.")
    environment: Environment = Field(description="Machine and versions, read at run time.")
    model: str = Field(description="The served model name every request asks for.")
    rounds: int = Field(description="Side-by-side rounds.")
    columns: list[ColumnRecord] = Field(description="In the first round's order.")
    launches: dict[str, list[Launch]] = Field(description="Every start, by column name.")
    side_by_side: str = Field(description="The side-by-side result, relative to the results.")
    parity: str | None = Field(description="The client-parity result, relative to the results.")
