"""Checkpoint manifests: size and sha256 of every file of a checkpoint directory, verified on demand."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

MANIFEST_FILE = "lerobot_local_manifest.json"
CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _files(checkpoint_dir: Path) -> list[Path]:
    return sorted(p for p in checkpoint_dir.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)


def write_manifest(checkpoint_dir: Path) -> Path:
    """Hash every file under ``checkpoint_dir`` and write the manifest atomically inside it."""
    entries = {
        str(p.relative_to(checkpoint_dir)): {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in _files(checkpoint_dir)
    }
    path = checkpoint_dir / MANIFEST_FILE
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
    extra = sorted(set(str(p.relative_to(checkpoint_dir)) for p in _files(checkpoint_dir)) - set(entries))
    problems.extend(f"{checkpoint_dir / rel} is not in the manifest" for rel in extra)
    return problems
