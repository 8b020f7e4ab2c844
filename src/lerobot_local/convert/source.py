"""Read a LeRobot v2.0 / v2.1 dataset folder: metadata, per-episode file paths, and what else it holds.

Only metadata is read here; episode parquet and mp4 files are opened one at a time by the writer.
Every problem raises :class:`ConversionError` naming the file and the fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.convert.errors import ConversionError
from lerobot_local.convert.stats_table import EpisodeStatsTable
from lerobot_local.paths import escapes, inside

SUPPORTED_SOURCE_VERSIONS = ("v2.0", "v2.1")
REQUIRED_INFO_FIELDS = ("codebase_version", "fps", "features", "data_path", "total_episodes", "chunks_size")
# The columns LeRobot writes into every data parquet file besides the user's features.
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


@dataclass
class SourceEpisode:
    """One line of ``meta/episodes.jsonl``."""

    index: int
    tasks: list[str]
    length: int


@dataclass
class SourceDataset:
    """A v2.x dataset on disk, its metadata validated."""

    root: Path
    info: dict[str, Any]
    episodes: list[SourceEpisode]
    tasks: dict[int, str]
    stats: EpisodeStatsTable | None = None  # v2.1's episodes_stats.jsonl, rows in ``episodes`` order
    extra_files: list[Path] = field(default_factory=list)
    missing_stats: list[int] = field(default_factory=list)  # episodes episodes_stats.jsonl has no line for
    _paths: dict[tuple[str, int], Path] = field(default_factory=dict, repr=False)  # resolved once each

    @property
    def version(self) -> str:
        return str(self.info["codebase_version"])

    @property
    def fps(self) -> int:
        return int(self.info["fps"])

    @property
    def features(self) -> dict[str, dict[str, Any]]:
        return self.info["features"]

    @property
    def video_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f.get("dtype") == "video"]

    @property
    def image_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f.get("dtype") == "image"]

    @property
    def total_frames(self) -> int:
        return sum(ep.length for ep in self.episodes)

    def chunk_of(self, episode_index: int) -> int:
        return episode_index // int(self.info["chunks_size"])

    def data_file(self, episode_index: int) -> Path:
        """Path of the episode's parquet file, from the ``data_path`` template."""
        if ("", episode_index) not in self._paths:
            rel = _format_template(
                self, "data_path", episode_chunk=self.chunk_of(episode_index), episode_index=episode_index
            )
            self._paths["", episode_index] = _inside(self.root, rel, "data_path")
        return self._paths["", episode_index]

    def video_file(self, video_key: str, episode_index: int) -> Path:
        """Path of the episode's mp4 file for one camera, from the ``video_path`` template."""
        if (video_key, episode_index) not in self._paths:
            rel = _format_template(
                self,
                "video_path",
                episode_chunk=self.chunk_of(episode_index),
                video_key=video_key,
                episode_index=episode_index,
            )
            self._paths[video_key, episode_index] = _inside(self.root, rel, "video_path")
        return self._paths[video_key, episode_index]

    def select(self, indices: list[int]) -> SourceDataset:
        """The same dataset restricted to the episodes ``indices`` (source indices, kept in source order)."""
        wanted = set(indices)
        rows = [row for row, ep in enumerate(self.episodes) if ep.index in wanted]
        return replace(
            self,
            episodes=[self.episodes[row] for row in rows],
            stats=self.stats.subset(rows) if self.stats is not None else None,
            missing_stats=[i for i in self.missing_stats if i in wanted],
        )

    def known_files(self) -> set[Path]:
        """Every file the converter reads (metadata, data, videos), as absolute paths."""
        meta = self.root / "meta"
        files = {
            meta / name
            for name in ("info.json", "episodes.jsonl", "tasks.jsonl", "episodes_stats.jsonl", "stats.json")
        }
        for ep in self.episodes:
            files.add(self.data_file(ep.index))
            files.update(self.video_file(k, ep.index) for k in self.video_keys)
        return files


def _format_template(ds: SourceDataset, name: str, **values: Any) -> str:
    template = ds.info.get(name)
    info_path = ds.root / "meta" / "info.json"
    if not isinstance(template, str) or not template:
        raise ConversionError(
            info_path,
            f"'{name}' is missing or not a string",
            f"restore the '{name}' path template written by LeRobot",
        )
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConversionError(
            info_path,
            f"the '{name}' template {template!r} cannot be filled ({exc!r})",
            "restore the template written by LeRobot (e.g. "
            "'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet')",
        ) from exc


def _inside(root: Path, rel: str, what: str) -> Path:
    """Resolve ``rel`` under ``root`` and refuse anything that leaves it (``..``, absolute, symlinks)."""
    if escapes(rel):
        raise ConversionError(
            root / "meta" / "info.json",
            f"'{what}' points outside the dataset ({rel!r})",
            "use a relative path template inside the dataset folder",
        )
    path = inside(root, rel)
    if path is None:
        raise ConversionError(
            root / rel,
            "is a symbolic link leading outside the dataset",
            "replace the link by the real file inside the dataset folder",
        )
    return path


def read_json(path: Path) -> Any:
    """Read a JSON file, turning every failure into a ConversionError naming the file."""
    if not path.is_file():
        raise ConversionError(
            path, "does not exist", "point --input at a LeRobot dataset folder (it holds meta/)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(
            path, f"is not valid JSON ({exc})", "restore the file from your backup or re-record the dataset"
        ) from exc


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each line of a JSON-lines file, streamed (blank lines skipped)."""
    if not path.is_file():
        raise ConversionError(path, "does not exist", "restore it; LeRobot v2.x datasets always have it")
    with path.open(encoding="utf-8") as lines:
        try:
            for lineno, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConversionError(
                        path, f"line {lineno} is not valid JSON ({exc.msg})", "fix or remove that line"
                    ) from exc
                if not isinstance(row, dict):
                    raise ConversionError(
                        path, f"line {lineno} is not a JSON object", "fix or remove that line"
                    )
                yield lineno, row
        except UnicodeDecodeError as exc:
            raise ConversionError(path, "is not UTF-8 text", "restore the file from your backup") from exc


def _int_field(row: dict[str, Any], key: str, path: Path, lineno: int, minimum: int = 0) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConversionError(
            path,
            f"entry {lineno} has {key}={value!r}, expected an integer >= {minimum}",
            f"correct '{key}' in that entry",
        )
    return value


REQUIRED_STATS = ("min", "max", "mean", "std", "count")


def _store_stats(stats: Any, path: Path, lineno: int, table: EpisodeStatsTable, row: int) -> None:
    """Check one episode's stats (numeric, complete, same shapes as other episodes) and store them."""
    fix = "restore that entry, or convert with --stats=recompute"
    if not isinstance(stats, dict):
        raise ConversionError(path, f"entry {lineno} has no 'stats' object", fix)
    for key, values in stats.items():
        missing = [s for s in REQUIRED_STATS if not isinstance(values, dict) or s not in values]
        if missing:
            raise ConversionError(path, f"entry {lineno}: stats of {key!r} lack {', '.join(missing)}", fix)
        arrays = {}
        for stat, value in values.items():
            try:
                array = np.asarray(value)
            except (TypeError, ValueError):
                array = np.asarray([object()])
            if array.dtype.kind not in "iuf" or array.size == 0:
                raise ConversionError(path, f"entry {lineno}: stats/{key}/{stat} is not a numeric array", fix)
            arrays[stat] = array
        try:
            table.set(row, key, arrays)
        except ValueError as exc:  # a shape that differs from the other episodes'
            raise ConversionError(path, f"entry {lineno}: {exc}", fix) from exc


def _validate_info(info: Any, path: Path) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise ConversionError(path, "is not a JSON object", "restore meta/info.json written by LeRobot")
    missing = [k for k in REQUIRED_INFO_FIELDS if k not in info]
    if missing:
        raise ConversionError(
            path, f"lacks the field(s) {', '.join(missing)}", "restore meta/info.json written by LeRobot"
        )
    version = info["codebase_version"]
    if version == "v3.0":
        raise ConversionError(
            path,
            "already describes a v3.0 dataset",
            "no conversion is needed: point dataset.root at this folder",
        )
    if version not in SUPPORTED_SOURCE_VERSIONS:
        raise ConversionError(
            path,
            f"has codebase_version={version!r}, which lerobot-convert-local cannot read",
            f"convert from one of {', '.join(SUPPORTED_SOURCE_VERSIONS)}",
        )
    fps = info["fps"]
    if (
        isinstance(fps, bool)
        or not isinstance(fps, (int, float))
        or not math.isfinite(fps)
        or not 0 < fps <= 1000
    ):
        raise ConversionError(path, f"has fps={fps!r}", "set 'fps' to the recording rate (e.g. 30)")
    if float(fps) != int(fps):
        raise ConversionError(
            path, f"has a non-integer fps={fps!r}", "set 'fps' to the integer recording rate"
        )
    chunks = info["chunks_size"]
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks <= 0:
        raise ConversionError(
            path, f"has chunks_size={chunks!r}", "restore chunks_size (LeRobot writes 1000)"
        )
    features = info["features"]
    if not isinstance(features, dict) or not features:
        raise ConversionError(path, "has no 'features'", "restore the features written by LeRobot")
    for key, feature in features.items():
        if not isinstance(feature, dict) or not isinstance(feature.get("dtype"), str):
            raise ConversionError(path, f"feature {key!r} has no 'dtype'", "restore the feature definition")
        if not isinstance(feature.get("shape"), list):
            raise ConversionError(
                path, f"feature {key!r} has no 'shape' list", "restore the feature definition"
            )
    if any(f["dtype"] == "video" for f in features.values()) and not isinstance(info.get("video_path"), str):
        raise ConversionError(
            path,
            "declares video features but no 'video_path' template",
            "restore 'video_path' (e.g. "
            "'videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4')",
        )
    return info


def detect_version(root: Path) -> str:
    """Return ``codebase_version`` from ``root/meta/info.json`` (validated only as far as needed)."""
    info = read_json(root / "meta" / "info.json")
    if not isinstance(info, dict) or not isinstance(info.get("codebase_version"), str):
        raise ConversionError(
            root / "meta" / "info.json",
            "has no 'codebase_version' string",
            "restore meta/info.json written by LeRobot",
        )
    return info["codebase_version"]


def read_source(root: Path) -> SourceDataset:
    """Read and validate the metadata of the v2.x dataset at ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise ConversionError(root, "is not a directory", "pass the dataset folder (the one holding meta/)")
    meta = root / "meta"
    info = _validate_info(read_json(meta / "info.json"), meta / "info.json")

    tasks_path = meta / "tasks.jsonl"
    tasks: dict[int, str] = {}
    for lineno, row in read_jsonl(tasks_path):
        idx = _int_field(row, "task_index", tasks_path, lineno)
        task = row.get("task")
        if not isinstance(task, str):
            raise ConversionError(tasks_path, f"entry {lineno} has task={task!r}", "give every task a string")
        if idx in tasks:
            raise ConversionError(tasks_path, f"task_index {idx} appears twice", "remove the duplicate line")
        tasks[idx] = task

    episodes_path = meta / "episodes.jsonl"
    episodes: list[SourceEpisode] = []
    seen: set[int] = set()
    for lineno, row in read_jsonl(episodes_path):
        idx = _int_field(row, "episode_index", episodes_path, lineno)
        length = _int_field(row, "length", episodes_path, lineno, minimum=1)
        ep_tasks = row.get("tasks", [])
        if not isinstance(ep_tasks, list) or not all(isinstance(t, str) for t in ep_tasks):
            raise ConversionError(
                episodes_path, f"episode {idx} has tasks={ep_tasks!r}", "give 'tasks' as a list of strings"
            )
        if idx in seen:
            raise ConversionError(
                episodes_path, f"episode_index {idx} appears twice", "remove the duplicate line"
            )
        seen.add(idx)
        episodes.append(SourceEpisode(index=idx, tasks=list(ep_tasks), length=length))
    if not episodes:
        raise ConversionError(episodes_path, "lists no episodes", "record at least one episode")
    episodes.sort(key=lambda e: e.index)
    declared = info["total_episodes"]
    if declared != len(episodes):
        raise ConversionError(
            meta / "info.json",
            f"says total_episodes={declared!r} but meta/episodes.jsonl lists {len(episodes)}",
            "correct total_episodes (or restore the missing lines of episodes.jsonl)",
        )
    if "total_frames" in info and info["total_frames"] != sum(e.length for e in episodes):
        raise ConversionError(
            meta / "info.json",
            f"says total_frames={info['total_frames']!r} but the episode lengths in "
            f"meta/episodes.jsonl add up to {sum(e.length for e in episodes)}",
            "correct total_frames or the episode lengths",
        )

    stats = None
    if info["codebase_version"] == "v2.1":
        stats_path = meta / "episodes_stats.jsonl"
        stats = EpisodeStatsTable(len(episodes))
        row_of = {ep.index: row for row, ep in enumerate(episodes)}
        for lineno, line in read_jsonl(stats_path):
            idx = _int_field(line, "episode_index", stats_path, lineno)
            if idx in row_of:  # stats of episodes that episodes.jsonl does not list are ignored
                _store_stats(line.get("stats"), stats_path, lineno, stats, row_of[idx])
        # reported by the scan (convert/scan.py) for the episodes that are converted, with every other problem
        missing_stats = [ep.index for row, ep in enumerate(episodes) if not stats.has_row(row)]
    else:
        missing_stats = []

    ds = SourceDataset(
        root=root, info=info, episodes=episodes, tasks=tasks, stats=stats, missing_stats=missing_stats
    )
    known = ds.known_files()  # also validates the path templates of every episode
    ds.extra_files = sorted(p for p in root.rglob("*") if p.is_file() and p not in known)
    return ds
