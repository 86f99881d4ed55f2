"""Errors the benchmark raises on purpose; part of `gemma_serve.errors`' tree.

The benchmark is a client: its errors are not HTTP answers, so they carry no
status or OpenAI error type of their own. The CLI prints them as one line.
"""

from __future__ import annotations

from gemma_serve.errors import GemmaServeError


class BenchError(GemmaServeError):
    """A benchmark could not run (not a bad flag: those are `ConfigError`)."""


class LaunchError(BenchError):
    """A server under test did not start, or did not become healthy in time.

    The message is one line naming the server's log; `log_tail` holds its last
    lines for callers that show more than one line (the suite does).
    """

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail
