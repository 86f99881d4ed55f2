"""Progress reporting: a small protocol, a silent default and a rich bar."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class ProgressSink(Protocol):
    """What the runner reports: one task at a time, advanced per finished request."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Reports nothing (tests, non-interactive runs)."""

    def start(self, description: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass

    def stop(self) -> None:
        pass


class RichProgress:
    """A rich progress bar on stderr, one line per load step."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self, description: str, total: int) -> None:
        if self._task is None:
            self._progress.start()
        else:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None
