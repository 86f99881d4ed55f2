"""Why a check fails where it does: written after reading each failure (results.json's notes).

A check that fails on both servers is vLLM 0.32's or the model's behaviour, not the
edge's; a check that fails only on gemma-serve is explained here or fixed.
"""

from __future__ import annotations

NOTES: dict[str, str] = {}
