"""Checkpoint manifests: size and sha256 of every file of a checkpoint directory, verified on demand."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

MANIFEST_FILE = "lerobot_local_manifest.json"
CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _files(checkpoint_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in checkpoint_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE and not p.name.endswith(PARTIAL_SUFFIXES)
    )


# Files being written atomically (renamed into place when complete): never part of a checkpoint's content.
PARTIAL_SUFFIXES = (".tmp", ".partial")
# lerobot-local's own files added to a checkpoint after its first manifest (the validation result): a run
# killed before the manifest is rewritten leaves one unlisted, which does not stop a resume.
OWN_PREFIX = "lerobot_local_"


def _previous(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_manifest(checkpoint_dir: Path) -> Path:
    """Hash every file under ``checkpoint_dir`` and write the manifest atomically inside it. A file listed
    by the previous manifest with the same size and modification time keeps its hash (a checkpoint is
    marked right after LeRobot writes it, then again once validated: its weights are hashed once)."""
    path = checkpoint_dir / MANIFEST_FILE
    before = _previous(path)
    entries = {}
    for p in _files(checkpoint_dir):
        rel, stat = str(p.relative_to(checkpoint_dir)), p.stat()
        old = before.get(rel) or {}
        same = old.get("size") == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns
        digest = old["sha256"] if same and old.get("sha256") else sha256_file(p)
        entries[rel] = {"size": stat.st_size, "sha256": digest, "mtime_ns": stat.st_mtime_ns}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "created": time.time(), "files": entries}, indent=1))
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def verify_manifest(checkpoint_dir: Path) -> list[str]:
    """Problems found (empty when every file matches); a missing manifest is one problem."""
    path = checkpoint_dir / MANIFEST_FILE
    if not path.is_file():
        return [f"{path} is missing (the checkpoint was not completed, or was written without lerobot-local)"]
    try:
        entries = json.loads(path.read_text())["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return [f"{path} is not a valid manifest"]
    problems = []
    for rel, expected in entries.items():
        file = checkpoint_dir / rel
        if not file.is_file():
            problems.append(f"{file} is missing")
        elif file.stat().st_size != expected["size"]:
            problems.append(f"{file} has {file.stat().st_size} bytes, the manifest says {expected['size']}")
        elif sha256_file(file) != expected["sha256"]:
            problems.append(f"{file} was modified after the checkpoint was written (sha256 differs)")
    listed = set(entries)
    extra = sorted(
        rel
        for rel in (str(p.relative_to(checkpoint_dir)) for p in _files(checkpoint_dir))
        if rel not in listed and not rel.startswith(OWN_PREFIX)
    )
    problems.extend(f"{checkpoint_dir / rel} is not in the manifest" for rel in extra)
    return problems
