"""Read a LeRobot v2.0 / v2.1 dataset folder: metadata, per-episode file paths, and what else it holds.

Only metadata is read here; episode parquet and mp4 files are opened one at a time by the writer.
Every problem names the file and the fix; all of them are listed at once (:class:`ConversionProblems`).
Its ~630 lines are one job, one reading of the source's meta files, kept whole so that every problem of a
folder is collected in a single pass (split by file, the readers would each need the others' half-read state).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.convert.errors import ConversionError, ConversionProblems, Problem
from lerobot_local.convert.stats_table import EpisodeStatsTable
from lerobot_local.dataset import EPISODES_JSONL, EPISODES_STATS_JSONL, INFO_PATH, STATS_PATH, TASKS_JSONL
from lerobot_local.paths import escapes, inside

SUPPORTED_SOURCE_VERSIONS = ("v2.0", "v2.1")
REQUIRED_INFO_FIELDS = ("codebase_version", "fps", "features", "data_path", "total_episodes", "chunks_size")
# Feature dtypes LeRobot's loaders know (numeric ones become parquet columns of that type).
NUMERIC_DTYPES = (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool",
)  # fmt: skip
KNOWN_DTYPES = (*NUMERIC_DTYPES, "string", "image", "video")
# A camera: what --drop_features may leave out (video files, or images in the parquet files).
CAMERA_DTYPES = ("video", "image")
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
    subset: bool = False  # episodes left out by select(): meta/stats.json describes more than these
    # problems of the metadata that still let the episode files be scanned (listed with the scan's own)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the conversion will do besides copying (said once)
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
            problems=[p for p in self.problems if p.episode is None or p.episode in wanted],
            subset=self.subset or len(rows) < len(self.episodes),
        )

    def without(self, keys: list[str]) -> SourceDataset:
        """The same dataset without the cameras ``keys`` (their features and per-episode stats), so that
        everything downstream (scan, checks, writer, verify) never sees them. A damaged stats line is still
        reported: it may have cut the other features' stats of that episode short."""
        if not keys:
            return self
        dropped = set(keys)
        info = {**self.info, "features": {k: f for k, f in self.features.items() if k not in dropped}}
        return replace(
            self,
            info=info,
            stats=self.stats.without(dropped) if self.stats is not None else None,
        )


def _format_template(ds: SourceDataset, name: str, **values: Any) -> str:
    template = ds.info.get(name)
    info_path = ds.root / INFO_PATH
    if not isinstance(template, str) or not template:
        raise ConversionError(
            info_path,
            f"'{name}' is missing or not a string",
            f"restore the '{name}' path template written by LeRobot",
        )
    if "episode_chunk" in values:  # a hand-written v2.x template may call the chunk {chunk_index}
        values = {**values, "chunk_index": values["episode_chunk"]}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
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
            root / INFO_PATH,
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


META = "metadata"
STATS_GROUP = "stats"  # problems that --stats=recompute makes irrelevant
TEMPLATE_EXAMPLES = {
    "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
    "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
}


def _meta_problem(path: Path, what: str, fix: str, episode: int | None = None) -> Problem:
    return Problem(META, ConversionError(path, what, fix), episode)


def _info_problems(info: dict[str, Any], path: Path) -> list[Problem]:
    """Every problem of a parsed ``meta/info.json`` (a v2.x one), not the first."""
    restore = "restore meta/info.json written by LeRobot"
    problems = []
    missing = [k for k in REQUIRED_INFO_FIELDS if k not in info]
    if missing:
        problems.append(_meta_problem(path, f"lacks the field(s) {', '.join(missing)}", restore))
    fps = info.get("fps")
    if "fps" in info:
        if (
            isinstance(fps, bool)
            or not isinstance(fps, (int, float))
            or not math.isfinite(fps)
            or not 0 < fps <= 1000
        ):
            problems.append(
                _meta_problem(path, f"has fps={fps!r}", "set 'fps' to the recording rate (e.g. 30)")
            )
        elif float(fps) != int(fps):
            problems.append(
                _meta_problem(
                    path, f"has a non-integer fps={fps!r}", "set 'fps' to the integer recording rate"
                )
            )
    chunks = info.get("chunks_size")
    if "chunks_size" in info and (isinstance(chunks, bool) or not isinstance(chunks, int) or chunks <= 0):
        problems.append(
            _meta_problem(path, f"has chunks_size={chunks!r}", "restore chunks_size (LeRobot writes 1000)")
        )
    total = info.get("total_episodes")
    if "total_episodes" in info and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        problems.append(
            _meta_problem(
                path, f"has total_episodes={total!r}", "set it to the number of lines of episodes.jsonl"
            )
        )
    features = info.get("features")
    if "features" in info and (not isinstance(features, dict) or not features):
        problems.append(_meta_problem(path, "has no 'features'", "restore the features written by LeRobot"))
    elif isinstance(features, dict):
        for key, feature in features.items():
            if not isinstance(feature, dict) or not isinstance(feature.get("dtype"), str):
                problems.append(
                    _meta_problem(path, f"feature {key!r} has no 'dtype'", "restore the feature definition")
                )
            elif key in INDEX_COLUMNS and feature["dtype"] not in NUMERIC_DTYPES:
                problems.append(
                    _meta_problem(
                        path,
                        f"index feature {key!r} has dtype {feature['dtype']!r}",
                        f"restore LeRobot's definition of {key} "
                        f"({'float32' if key == 'timestamp' else 'int64'})",
                    )
                )
            elif feature["dtype"] not in KNOWN_DTYPES:
                problems.append(
                    _meta_problem(
                        path,
                        f"feature {key!r} has dtype {feature['dtype']!r}, which LeRobot cannot load",
                        f"set it to one of {', '.join(KNOWN_DTYPES)}",
                    )
                )
            elif (
                not isinstance(feature.get("shape"), list)
                or not feature["shape"]
                or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in feature["shape"])
            ):
                problems.append(
                    _meta_problem(
                        path,
                        f"feature {key!r} has no 'shape' list of positive integers",
                        "restore the feature definition",
                    )
                )
        videos = any(isinstance(f, dict) and f.get("dtype") == "video" for f in features.values())
        if videos and not isinstance(info.get("video_path"), str):
            problems.append(
                _meta_problem(
                    path,
                    "declares video features but no 'video_path' template",
                    f"restore 'video_path' (e.g. {TEMPLATE_EXAMPLES['video_path']!r})",
                )
            )
    return problems


def _template_problems(info: dict[str, Any], root: Path) -> tuple[list[Problem], list[str]]:
    """The path templates, tried once on a sample episode: problems, and notes for tolerated variants."""
    path = root / INFO_PATH
    problems, notes = [], []
    names = (["data_path"] if "data_path" in info else []) + (
        ["video_path"] if isinstance(info.get("video_path"), str) else []
    )
    for name in names:
        template = info.get(name)
        if not isinstance(template, str) or not template:
            problems.append(
                _meta_problem(
                    path,
                    f"'{name}' is missing or not a string",
                    f"restore the '{name}' template written by LeRobot ({TEMPLATE_EXAMPLES[name]!r})",
                )
            )
            continue
        fields = _template_fields(template)
        if fields is None or fields - {"episode_chunk", "chunk_index", "episode_index", "video_key"}:
            what = (
                sorted(fields - {"episode_chunk", "chunk_index", "episode_index", "video_key"})
                if fields
                else []
            )
            v3 = " (those of a v3.0 layout: is this folder really v3.0?)" if "file_index" in what else ""
            problems.append(
                _meta_problem(
                    path,
                    f"the '{name}' template {template!r} cannot be filled for a v2.x episode"
                    + (f": it uses {{{'}, {'.join(what)}}}{v3}" if what else ""),
                    f"restore the v2.x template written by LeRobot ({TEMPLATE_EXAMPLES[name]!r})",
                )
            )
            continue
        if "episode_index" not in fields:
            problems.append(
                _meta_problem(
                    path,
                    f"the '{name}' template {template!r} has no {{episode_index}}, so every episode would be "
                    "read from the same file",
                    f"restore the v2.x template written by LeRobot ({TEMPLATE_EXAMPLES[name]!r})",
                )
            )
        if name == "video_path" and "video_key" not in fields:
            problems.append(
                _meta_problem(
                    path,
                    f"the 'video_path' template {template!r} has no {{video_key}}, so every camera would be "
                    "read from the same file",
                    f"restore the v2.x template written by LeRobot ({TEMPLATE_EXAMPLES[name]!r})",
                )
            )
        if "chunk_index" in fields:
            notes.append(
                f"meta/info.json's '{name}' template names the chunk {{chunk_index}} (LeRobot v2.x writes "
                "{episode_chunk}); read as the episode's chunk"
            )
    return problems, notes


def _template_fields(template: str) -> set[str] | None:
    """The field names of a ``str.format`` template (None when it does not parse)."""
    import string

    try:
        return {
            name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name
        }
    except ValueError:
        return None


def _read_lines(path: Path, problems: list[Problem], missing_fix: str) -> list[tuple[int, dict[str, Any]]]:
    """Every readable line of a JSON-lines file; each bad line (and a missing file) becomes a problem."""
    rows: list[tuple[int, dict[str, Any]]] = []
    if not path.is_file():
        problems.append(_meta_problem(path, "does not exist", missing_fix))
        return rows
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        problems.append(_meta_problem(path, "is not UTF-8 text", "restore the file from your backup"))
        return rows
    except OSError as exc:
        problems.append(_meta_problem(path, f"cannot be read ({exc.strerror or exc})", "restore the file"))
        return rows
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            problems.append(
                _meta_problem(path, f"line {lineno} is not valid JSON ({msg})", "fix or remove that line")
            )
            continue
        if not isinstance(row, dict):
            problems.append(
                _meta_problem(path, f"line {lineno} is not a JSON object", "fix or remove that line")
            )
            continue
        rows.append((lineno, row))
    return rows


def _int_of(
    row: dict[str, Any], key: str, path: Path, lineno: int, problems: list[Problem], minimum: int = 0
):
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(
            _meta_problem(
                path,
                f"line {lineno} has {key}={value!r}, expected an integer >= {minimum}",
                f"correct '{key}' in that line",
            )
        )
        return None
    return value


def read_source(root: Path) -> SourceDataset:
    """Read the metadata of the v2.x dataset at ``root``.

    Problems that leave the episode list usable are kept in ``problems`` (the scan lists them with its
    own); when even that cannot be read, :class:`ConversionProblems` lists every problem found so far.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConversionError(root, "is not a directory", "pass the dataset folder (the one holding meta/)")
    info_path = root / INFO_PATH
    info = read_json(info_path)
    if not isinstance(info, dict):
        raise ConversionError(info_path, "is not a JSON object", "restore meta/info.json written by LeRobot")
    version = info.get("codebase_version")
    if version == "v3.0":
        raise ConversionError(
            info_path,
            "already describes a v3.0 dataset",
            "no conversion is needed: point dataset.root at this folder",
        )
    if version not in SUPPORTED_SOURCE_VERSIONS:
        raise ConversionError(
            info_path,
            f"has codebase_version={version!r}, which lerobot-convert-local cannot read",
            f"convert from one of {', '.join(SUPPORTED_SOURCE_VERSIONS)}",
        )
    fatal = _info_problems(info, info_path)
    template_problems, notes = _template_problems(info, root)
    fatal += template_problems
    problems: list[Problem] = []

    tasks_path = root / TASKS_JSONL
    tasks: dict[int, str] = {}
    for lineno, row in _read_lines(tasks_path, fatal, "restore it; LeRobot v2.x datasets always have it"):
        idx = _int_of(row, "task_index", tasks_path, lineno, fatal)
        task = row.get("task")
        if not isinstance(task, str):
            fatal.append(
                _meta_problem(tasks_path, f"line {lineno} has task={task!r}", "give every task a string")
            )
        elif idx is not None and idx in tasks:
            fatal.append(
                _meta_problem(tasks_path, f"task_index {idx} appears twice", "remove the duplicate line")
            )
        elif idx is not None:
            tasks[idx] = task

    episodes_path = root / EPISODES_JSONL
    episodes: list[SourceEpisode] = []
    seen: set[int] = set()
    for lineno, row in _read_lines(episodes_path, fatal, "restore it; LeRobot v2.x datasets always have it"):
        idx = _int_of(row, "episode_index", episodes_path, lineno, fatal)
        length = _int_of(row, "length", episodes_path, lineno, fatal, minimum=1)
        ep_tasks = row.get("tasks", [])
        if not isinstance(ep_tasks, list) or not all(isinstance(t, str) for t in ep_tasks):
            fatal.append(
                _meta_problem(
                    episodes_path,
                    f"episode {idx} has tasks={ep_tasks!r}",
                    "give 'tasks' as a list of strings",
                )
            )
            continue
        if idx is None or length is None:
            continue
        if idx in seen:
            fatal.append(
                _meta_problem(
                    episodes_path, f"episode_index {idx} appears twice", "remove the duplicate line"
                )
            )
            continue
        seen.add(idx)
        episodes.append(SourceEpisode(index=idx, tasks=list(ep_tasks), length=length))
    if not episodes and episodes_path.is_file():
        fatal.append(_meta_problem(episodes_path, "lists no episodes", "record at least one episode"))
    episodes.sort(key=lambda e: e.index)
    declared = info.get("total_episodes")
    if isinstance(declared, int) and episodes and declared != len(episodes):
        fatal.append(
            _meta_problem(
                info_path,
                f"says total_episodes={declared!r} but meta/episodes.jsonl lists {len(episodes)}",
                "correct total_episodes (or restore the missing lines of episodes.jsonl)",
            )
        )
    if "total_frames" in info and episodes and info["total_frames"] != sum(e.length for e in episodes):
        fatal.append(
            _meta_problem(
                info_path,
                f"says total_frames={info['total_frames']!r} but the episode lengths in "
                f"meta/episodes.jsonl add up to {sum(e.length for e in episodes)}",
                "correct total_frames or the episode lengths",
            )
        )

    stats, missing_stats = _read_episode_stats(root, version, episodes, problems, notes)
    ds = SourceDataset(
        root=root,
        info=info,
        episodes=episodes,
        tasks=tasks,
        stats=stats,
        missing_stats=missing_stats,
        problems=problems,
        notes=notes,
    )
    if fatal:
        raise ConversionProblems(root, fatal + problems)
    known: set[Path] = set()
    for ep in episodes:  # also validates every episode's paths (a symlink leading out, ...)
        try:
            known.add(ds.data_file(ep.index))
            known.update(ds.video_file(k, ep.index) for k in ds.video_keys)
        except ConversionError as exc:
            fatal.append(Problem(META, exc, ep.index))
    if fatal:
        raise ConversionProblems(root, fatal + problems)
    known |= {
        root / rel for rel in (INFO_PATH, EPISODES_JSONL, TASKS_JSONL, EPISODES_STATS_JSONL, STATS_PATH)
    }
    ds.extra_files = sorted(p for p in root.rglob("*") if p.is_file() and p not in known)
    return ds


def _read_episode_stats(
    root: Path, version: str, episodes: list[SourceEpisode], problems: list[Problem], notes: list[str]
) -> tuple[EpisodeStatsTable | None, list[int]]:
    """v2.1's per-episode stats (None for v2.0, or when the file is absent: then computed from the data)."""
    if version != "v2.1":
        return None, []
    stats_path = root / EPISODES_STATS_JSONL
    if not stats_path.exists():
        notes.append(
            "meta/episodes_stats.jsonl is absent (a v2.1 dataset normally has it): the per-episode "
            "statistics are computed from the data, as for v2.0"
        )
        return None, []
    stats = EpisodeStatsTable(len(episodes))
    row_of = {ep.index: row for row, ep in enumerate(episodes)}
    fix = "restore that line, or convert with --stats=recompute"
    found: list[Problem] = []
    for lineno, line in _read_lines(stats_path, found, fix):
        idx = _int_of(line, "episode_index", stats_path, lineno, found)
        if idx in row_of:  # stats of episodes that episodes.jsonl does not list are ignored
            try:
                _store_stats(line.get("stats"), stats_path, lineno, stats, row_of[idx])
            except ConversionError as exc:
                found.append(Problem(STATS_GROUP, exc, idx))
    # every one of them goes away with --stats=recompute (the scan drops the group then)
    problems += [Problem(STATS_GROUP, p.error, p.episode) for p in found]
    # reported by the scan (convert/scan.py) for the episodes that are converted, with every other problem
    missing = [ep.index for row, ep in enumerate(episodes) if not stats.has_row(row)]
    return stats, missing


def detect_version(root: Path) -> str:
    """Return ``codebase_version`` from ``root/meta/info.json`` (validated only as far as needed)."""
    info = read_json(root / INFO_PATH)
    if not isinstance(info, dict) or not isinstance(info.get("codebase_version"), str):
        raise ConversionError(
            root / INFO_PATH,
            "has no 'codebase_version' string",
            "restore meta/info.json written by LeRobot",
        )
    return info["codebase_version"]
