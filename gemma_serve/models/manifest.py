"""Manifests of prepared checkpoints: which files, with which digests, in which format.

A directory counts as prepared only when its manifest names every file in it
with a matching sha256 and the format version the preparing code writes;
anything else (a crash mid-way, an edited file, an older format) is prepared again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MANIFEST = "gemma-serve-manifest.json"


def digest(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checked_files(path: Path) -> Iterator[Path]:
    """The files a manifest covers: every file of the directory but the manifest."""
    return (p for p in sorted(path.iterdir()) if p.is_file() and p.name != MANIFEST)


def write_manifest(path: Path, **fields: Any) -> None:
    """Record `fields` (format versions, source) and the digest of every file."""
    manifest = {**fields, "files": {p.name: digest(p) for p in checked_files(path)}}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2))


def manifest_ok(path: Path, **expected: Any) -> bool:
    """A finished preparation: the expected fields, the same files, every digest equal."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if any(manifest.get(key) != value for key, value in expected.items()):
        return False
    recorded: dict[str, str] = manifest.get("files", {})
    if {p.name for p in checked_files(path)} != set(recorded):
        return False
    return all(digest(path / name) == value for name, value in recorded.items())
