"""The numeric columns a policy learns from, read once into flat arrays (v3.0 files or v2.x episode files).

One ``(frames, width)`` float64 array per checked feature, rows sorted by (episode, frame), with the episode
boundaries, each row's ``frame_index`` and the file it came from, so every finding can name the file, the
episode, the frames and the joint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.dataset import INDEX_FEATURES, data_files, joint_names, names_problem

INDEX_COLUMNS = INDEX_FEATURES


@dataclass
class ValueData:
    root: Path
    fps: float
    features: dict[str, np.ndarray]  # key -> (N, D) float64
    names: dict[str, list[str]]  # key -> D joint names
    episode: np.ndarray  # (N,) episode index of each row
    frame: np.ndarray  # (N,) frame_index of each row
    file_of_row: np.ndarray  # (N,) index into ``files``
    files: list[str]  # dataset-relative paths
    unreadable: list[str] = field(default_factory=list)  # files that could not be read (not checked)
    timestamp: np.ndarray | None = None  # (N,) when the files have the column
    name_problems: list[str] = field(default_factory=list)  # features whose names do not fit their width

    @property
    def frames(self) -> int:
        return int(self.episode.size)

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(episode ids, start row, end row exclusive) of each episode, in row order."""
        if not self.episode.size:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        starts = np.flatnonzero(np.r_[True, self.episode[1:] != self.episode[:-1]])
        ends = np.r_[starts[1:], self.episode.size]
        return self.episode[starts], starts, ends


def checked_features(info: dict[str, Any], wanted: list[str]) -> list[str]:
    """The float features to check: ``wanted`` when given, else every float feature but timestamp."""
    features = info.get("features") or {}
    if wanted:
        return [k for k in wanted if k in features]
    return [
        k
        for k, f in features.items()
        if isinstance(f, dict) and str(f.get("dtype", "")).startswith("float") and k not in INDEX_COLUMNS
    ]


def _column(table: Any, key: str) -> np.ndarray:
    import pyarrow as pa

    array = table[key].combine_chunks()
    if (
        pa.types.is_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
        or pa.types.is_large_list(array.type)
    ):
        flat = array.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        return flat.reshape(len(array), -1) if len(array) else flat.reshape(0, 1)
    return array.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, 1)


def _read(root: Path, paths: list[Path], keys: list[str], info: dict[str, Any]) -> ValueData:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = ["episode_index", "frame_index", "timestamp", *keys]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in columns}
    files: list[str] = []
    file_rows: list[np.ndarray] = []
    unreadable: list[str] = []
    for path in paths:
        rel = str(path.relative_to(root))
        try:
            pfile = pq.ParquetFile(path)
            present = set(pfile.schema_arrow.names)
            table = pfile.read(columns=[c for c in columns if c != "timestamp" or c in present])
            arrays = {key: _column(table, key) for key in table.column_names}
        except (pa.ArrowException, OSError, KeyError, ValueError, TypeError) as exc:
            unreadable.append(f"{rel} ({type(exc).__name__})")
            continue
        widths = {k: v.shape[1] for k, v in arrays.items() if k in keys}
        if keys and parts[keys[0]]:
            first = {k: parts[k][0].shape[1] for k in keys}
            if widths != first:
                unreadable.append(f"{rel} (feature widths {widths} differ from {first})")
                continue
        for key, array in arrays.items():
            parts[key].append(array)
        file_rows.append(np.full(table.num_rows, len(files), dtype=np.int32))
        files.append(rel)
    episode = np.concatenate(parts["episode_index"])[:, 0].astype(np.int64) if files else np.zeros(0, int)
    frame = np.concatenate(parts["frame_index"])[:, 0].astype(np.int64) if files else np.zeros(0, int)
    file_of_row = np.concatenate(file_rows) if files else np.zeros(0, np.int32)
    features = {k: np.concatenate(parts[k]) if files else np.zeros((0, 1)) for k in keys}
    stamps = parts.get("timestamp")
    timestamp = np.concatenate(stamps)[:, 0] if files and stamps and len(stamps) == len(files) else None
    if (
        episode.size > 1
        and not ((np.diff(episode) > 0) | ((np.diff(episode) == 0) & (np.diff(frame) > 0))).all()
    ):
        order = np.lexsort((frame, episode))
        episode, frame, file_of_row = episode[order], frame[order], file_of_row[order]
        features = {k: v[order] for k, v in features.items()}
        timestamp = timestamp[order] if timestamp is not None else None
    names = {k: joint_names(info["features"][k], v.shape[1]) for k, v in features.items()}
    problems = [names_problem(k, info["features"][k], v.shape[1]) for k, v in features.items()]
    return ValueData(
        root=root,
        fps=_fps(info.get("fps")),
        features=features,
        names=names,
        episode=episode,
        frame=frame,
        file_of_row=file_of_row,
        files=files,
        unreadable=unreadable,
        timestamp=timestamp,
        name_problems=[p for p in problems if p],
    )


def _fps(value: Any) -> float:
    """info.json's fps; 30 when unusable (the fps check reports that), so durations stay defined."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")
    return float(value) if ok else 30.0


def read_v30(root: Path, info: dict[str, Any], wanted: list[str]) -> ValueData:
    """Every row of ``data/*/*.parquet`` of a v3.0 dataset."""
    return _read(root, data_files(root), checked_features(info, wanted), info)


def read_v2x(root: Path, info: dict[str, Any], data_files: list[Path], wanted: list[str]) -> ValueData:
    """The given episode files of a v2.x dataset (one parquet file per episode)."""
    return _read(root, [p for p in data_files if p.is_file()], checked_features(info, wanted), info)


def read_timing(root: Path, info: dict[str, Any], files: list[Path]) -> ValueData:
    """Only the index columns (episode, frame_index, timestamp) of the given data files: what the timing
    checks read."""
    return _read(root, [p for p in files if p.is_file()], [], info)
