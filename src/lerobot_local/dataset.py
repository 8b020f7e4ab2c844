"""The one place that knows a LeRobot dataset folder's layout: file locations of v2.x and v3.0, reading
``meta/info.json``, the v3.0 episodes table and the data/video file of an episode.

Every other module asks this one for a path; none spells ``meta/...`` itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_local.paths import escapes

# Both versions
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
# v3.0 (as LeRobot 0.4.x - 0.6.x write and read it)
V30 = "v3.0"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_DIR = "meta/episodes"
EPISODES_PATH = EPISODES_DIR + "/" + CHUNK_FILE + ".parquet"
TASKS_PATH = "meta/tasks.parquet"
DATA_GLOB = "data/chunk-*/file-*.parquet"
EPISODES_GLOB = EPISODES_DIR + "/chunk-*/file-*.parquet"
# The per-frame columns every LeRobot dataset declares and holds
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
# v2.0 / v2.1
V2X = ("v2.0", "v2.1")
EPISODES_JSONL = "meta/episodes.jsonl"
EPISODES_STATS_JSONL = "meta/episodes_stats.jsonl"  # v2.1
TASKS_JSONL = "meta/tasks.jsonl"


def read_info(root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``root``'s parsed ``meta/info.json``, or None and why it cannot be used (one sentence)."""
    path = root / INFO_PATH
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path} is not readable JSON ({type(exc).__name__}: {exc})"
    if not isinstance(info, dict):
        return None, f"{path} is not a JSON object"
    return info, None


def read_stats_json(root: Path) -> dict[str, Any] | None:
    """``meta/stats.json`` (None when absent or unreadable: the dataset check reports that)."""
    try:
        data = json.loads((root / STATS_PATH).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def version_of(info: dict[str, Any] | None) -> str | None:
    """The ``codebase_version`` of a parsed info.json (None when absent or not a string)."""
    version = info.get("codebase_version") if isinstance(info, dict) else None
    return version if isinstance(version, str) else None


# --- joint names (features[key]["names"] in info.json, in any of the forms recorders write) ---


def _flat(names: Any) -> list[str] | None:
    """A (possibly nested) list of names flattened in order, or None when it holds anything else."""
    if isinstance(names, str):
        return [names]
    if isinstance(names, (int, float)) and not isinstance(names, bool):
        return [str(names)]
    if isinstance(names, list):
        out: list[str] = []
        for item in names:
            part = _flat(item)
            if part is None:
                return None
            out += part
        return out
    return None


def _resolve(names: Any, width: int) -> list[str] | None:
    """``names`` as ``width`` joint names: flat, nested ``[[...]]``, per-axis lists (their product), or
    a dict such as ``{"motors": [...]}`` (one value of the right width, else all values in order)."""
    if isinstance(names, dict):
        for value in names.values():
            found = _resolve(value, width)
            if found is not None:
                return found
        return _resolve(list(names.values()), width)
    flat = _flat(names)
    if flat is not None and len(flat) == width:
        return flat
    if isinstance(names, list) and len(names) > 1 and all(isinstance(a, list) for a in names):
        axes = [_flat(a) for a in names]
        if all(a for a in axes) and int(np.prod([len(a) for a in axes])) == width:
            combined = [""]
            for axis in axes:
                combined = [f"{c}.{n}" if c else n for c in combined for n in axis]
            return combined
    return None


def joint_names(feature: dict[str, Any], width: int) -> list[str]:
    """Joint names from ``features[key]["names"]``: a flat list, a nested one (``[[...]]``, per-axis
    lists) or LeRobot's dict form (``{"motors": [...]}``); ``"0"``, ``"1"``, ... when absent or when
    they do not give ``width`` names (:func:`names_problem` says so)."""
    names = feature.get("names") if isinstance(feature, dict) else None
    found = _resolve(names, width) if names is not None else None
    return found if found is not None else [str(i) for i in range(width)]


def names_problem(key: str, feature: dict[str, Any], width: int) -> str | None:
    """A sentence when ``features[key]["names"]`` is given but does not name the ``width`` values."""
    names = feature.get("names") if isinstance(feature, dict) else None
    if names is None or _resolve(names, width) is not None:
        return None
    flat = _flat(names)
    got = (
        f"{len(flat)} name(s)"
        if flat is not None
        else f"a {type(names).__name__} that is not a list of names"
    )
    return (
        f"meta/info.json features[{key!r}].names gives {got} for {width} values, so its joints are "
        "shown by index"
    )


@dataclass(frozen=True)
class LocalDataset:
    """A readable local v3.0 dataset: its folder and parsed ``meta/info.json``."""

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


def video_dir(info: dict[str, Any], key: str) -> str | None:
    """Dataset-relative folder of camera ``key``'s videos (``videos/<key>``), as ``video_path`` places
    them; None when the template does not give the camera a folder of its own."""
    parts = str(info.get("video_path") or "").split("/")
    for i, part in enumerate(parts[:-1]):
        if "{video_key}" in part:
            return "/".join([*parts[:i], part.replace("{video_key}", key)])
    return None


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
        elif any(n <= 0 for n in feature["shape"]):
            problems.append(f"feature {key!r} has shape {feature['shape']} (every size must be at least 1)")
    for key in INDEX_FEATURES:
        feature = features.get(key)
        if not isinstance(feature, dict):
            problems.append(f"does not declare the feature {key!r} that LeRobot requires")
        elif isinstance(feature.get("shape"), list) and not feature["shape"]:
            problems.append(f"declares feature {key!r} with an empty shape (LeRobot needs [1])")
        elif not str(feature.get("dtype", "")).startswith(("int", "float")):
            problems.append(f"declares feature {key!r} as {feature.get('dtype')!r} (LeRobot needs a number)")
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
    if version_of(info) != V30 or info_problems(info):
        return None
    try:  # the other checks read meta/episodes: an unreadable one is the dataset check's to report
        if episodes_table(root, columns=["episode_index", "length"]) is None:
            return None
    except Exception:
        return None
    return LocalDataset(root, info)


def data_files(root: Path) -> list[Path]:
    """Every data file of a v3.0 dataset, in order."""
    return sorted(root.glob(DATA_GLOB))


def episodes_table(root: Path, columns: list[str] | None = None) -> Any:
    """All rows of meta/episodes/*/*.parquet (a pyarrow Table; None when there is none)."""
    files = sorted(root.glob(EPISODES_GLOB))
    tables = [pq.read_table(f, columns=columns) for f in files]
    return pa.concat_tables(tables) if tables else None


def task_indices(root: Path) -> set[int] | None:
    """The task_index values meta/tasks.parquet of a v3.0 dataset defines (None when it cannot be read)."""
    path = root / TASKS_PATH
    try:
        column = pq.read_table(path, columns=["task_index"])["task_index"]
        return {int(v) for v in column.to_pylist() if v is not None}
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


def video_paths(root: Path, info: dict[str, Any], key: str) -> list[Path]:
    """The video files of camera ``key`` of a v3.0 dataset, each once, in episode order ([] when
    meta/episodes does not say)."""
    columns = [f"videos/{key}/chunk_index", f"videos/{key}/file_index"]
    try:
        table = episodes_table(root, columns=columns)
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return []
    if table is None:
        return []
    paths: list[Path] = []
    for row in table.to_pylist():
        path = root / video_file(info, key, row)
        if path not in paths:
            paths.append(path)
    return paths
