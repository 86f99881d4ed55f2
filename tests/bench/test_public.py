"""The package's public surface: everything in `__all__` exists, nothing private leaks."""

from __future__ import annotations

import gemma_serve.bench as bench


def test_all_names_exist_and_are_public() -> None:
    assert len(bench.__all__) == len(set(bench.__all__))
    for name in bench.__all__:
        assert not name.startswith("_")
        assert getattr(bench, name) is not None


def test_all_is_sorted_and_complete() -> None:
    assert bench.__all__ == sorted(bench.__all__)
    exported = {n for n in vars(bench) if not n.startswith("_")}
    modules = {n for n, v in vars(bench).items() if type(v).__name__ == "module"}
    assert exported - modules - {"annotations"} == set(bench.__all__)
