"""Shared reading of the v3.0 dataset a train config points at (used by several checks)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LocalDataset:
    root: Path
    info: dict[str, Any]

    @property
    def fps(self) -> Any:
        return self.info.get("fps")

    @property
    def video_keys(self) -> list[str]:
        return [k for k, f in self.info.get("features", {}).items() if f.get("dtype") == "video"]


def dataset_root(config: Any) -> Path | None:
    root = getattr(getattr(config, "dataset", None), "root", None)
    return Path(root).expanduser() if root else None


@lru_cache(maxsize=8)
def _read(root: Path) -> LocalDataset | None:
    info_path = root / "meta" / "info.json"
    try:
        info = json.loads(info_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(info, dict) or info.get("codebase_version") != "v3.0":
        return None
    return LocalDataset(root, info)


def v30_dataset(config: Any) -> LocalDataset | None:
    """The config's dataset when it is a readable local v3.0 dataset (else None: see the dataset check)."""
    root = dataset_root(config)
    return _read(root.resolve()) if root is not None else None


def episodes_table(root: Path, columns: list[str] | None = None) -> Any:
    """All rows of meta/episodes/*/*.parquet (a pyarrow Table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    tables = [pq.read_table(f, columns=columns) for f in files]
    return pa.concat_tables(tables) if tables else None
