"""Every generated file equals what `make regen` would write from its one source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_regen_would_change_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/regen.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
