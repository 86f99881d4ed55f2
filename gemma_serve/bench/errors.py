"""Errors the benchmark raises on purpose; part of `gemma_serve.errors`' tree."""

from __future__ import annotations

from gemma_serve.errors import GemmaServeError


class BenchError(GemmaServeError):
    """A benchmark could not run (not a bad flag: those are `ConfigError`)."""

    error_type = "bench_failed"


class LaunchError(BenchError):
    """A server under test did not start, or did not become healthy in time."""

    error_type = "launch_failed"
