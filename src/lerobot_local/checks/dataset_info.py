"""Shared reading of the v3.0 dataset a train config points at (used by several checks)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_local.paths import escapes


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


def video_file(info: dict[str, Any], key: str, row: dict[str, Any]) -> str:
    """Dataset-relative path of camera ``key``'s video file for one meta/episodes ``row``."""
    return info["video_path"].format(
        video_key=key,
        chunk_index=row[f"videos/{key}/chunk_index"],
        file_index=row[f"videos/{key}/file_index"],
    )


def data_file(info: dict[str, Any], row: dict[str, Any]) -> str:
    """Dataset-relative path of the data file for one meta/episodes ``row``."""
    return info["data_path"].format(chunk_index=row["data/chunk_index"], file_index=row["data/file_index"])


def info_problems(info: Any) -> list[str]:
    """What makes a parsed v3.0 ``meta/info.json`` unusable (empty when LeRobot can read it)."""
    if not isinstance(info, dict):
        return ["is not a JSON object"]
    problems = []
    fps = info.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        problems.append(f"has fps={fps!r} (expected a positive number)")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        problems.append("has no 'features' object")
        features = {}
    for key, feature in features.items():
        if not isinstance(feature, dict) or not isinstance(feature.get("dtype"), str):
            problems.append(f"feature {key!r} has no 'dtype'")
        elif not isinstance(feature.get("shape"), list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in feature["shape"]
        ):
            problems.append(f"feature {key!r} has no 'shape' list of integers")
    templates = {"data_path": {"chunk_index": 0, "file_index": 0}}
    if any(isinstance(f, dict) and f.get("dtype") == "video" for f in features.values()):
        templates["video_path"] = {"chunk_index": 0, "file_index": 0, "video_key": "observation.images.x"}
    for name, values in templates.items():
        template = info.get(name)
        try:
            rel = template.format(**values) if isinstance(template, str) else None
        except (KeyError, IndexError, ValueError, AttributeError):
            rel = None
        if rel is None:
            problems.append(f"has no usable '{name}' template ({template!r})")
        elif escapes(rel):
            problems.append(f"'{name}' points outside the dataset ({template!r})")
    for name in ("total_episodes", "total_frames"):
        value = info.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"has {name}={value!r} (expected an integer >= 0)")
    return problems


def local_dataset(root: Path, info: dict[str, Any]) -> LocalDataset | None:
    """The dataset at ``root`` (``info``: its parsed meta/info.json) when it is a readable local v3.0
    dataset, else None (the dataset check reports why)."""
    if info.get("codebase_version") != "v3.0" or info_problems(info):
        return None
    try:  # the other checks read meta/episodes: an unreadable one is the dataset check's to report
        if episodes_table(root, columns=["episode_index", "length"]) is None:
            return None
    except Exception:
        return None
    return LocalDataset(root, info)


def episodes_table(root: Path, columns: list[str] | None = None) -> Any:
    """All rows of meta/episodes/*/*.parquet (a pyarrow Table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    tables = [pq.read_table(f, columns=columns) for f in files]
    return pa.concat_tables(tables) if tables else None
