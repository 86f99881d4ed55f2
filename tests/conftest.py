"""Shared fixtures: each real stack configuration starts once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import Stack, start_stack


@pytest.fixture(scope="session")
def checkpoint_270m() -> Path:
    """The prepared embedded Gemma 3 270M checkpoint (converted once, then reused)."""
    from gemma_serve.models.prepare import prepare_embedded

    return prepare_embedded()


@pytest.fixture(scope="session")
def default_stack(
    checkpoint_270m: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The README's default deployment (gemma-3-270m on CPU), served for real."""
    log = tmp_path_factory.mktemp("default-stack") / "serve.log"
    stack = start_stack([], log)
    yield stack
    stack.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `teardown_stack` stop a shared stack, so they run last."""
    items.sort(key=lambda item: item.get_closest_marker("teardown_stack") is not None)
