"""Paths taken from dataset metadata stay inside the dataset folder (shared by the converter and checks)."""

from __future__ import annotations

import os
from pathlib import Path


def escapes(rel: str) -> bool:
    """True when the relative path from metadata is absolute or climbs out with ``..``."""
    return os.path.isabs(rel) or ".." in Path(rel).parts


def inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` when it stays inside ``root`` (``..``, absolute paths, symlinks out: None)."""
    if escapes(rel):
        return None
    path = root / rel
    real_root = os.path.realpath(root)
    return path if os.path.commonpath([real_root, os.path.realpath(path)]) == real_root else None
