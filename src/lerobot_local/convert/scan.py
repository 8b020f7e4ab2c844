"""Find every problem of a v2.x source's episode files at once, before anything is written.

``quick`` (before every conversion): each episode's parquet file exists and its footer says the rows and
columns meta/ declares; each video file exists; each episode has stats. ``deep`` (the dry run, and after the
writer met a problem): also the index columns of each parquet file and each video's stream (frames, rate,
encoding), i.e. everything the writer would stop at. Each problem names the file, the episode and the fix;
the caller turns the list into one :class:`ConversionProblems` error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from lerobot_local.convert.errors import ConversionError, Problem
from lerobot_local.convert.source import SourceDataset, SourceEpisode

MISSING = "missing files"
UNREADABLE = "unreadable files"
LENGTHS = "episode lengths"
COLUMNS = "columns"
VIDEO = "video streams"
STATS = "stats"


def scan_source(
    src: SourceDataset, deep: bool, recompute_stats: bool = False, progress: bool = False
) -> list[Problem]:
    """Every problem of the episodes of ``src`` (an empty list when the writer can convert them all)."""
    problems: list[Problem] = []
    if not recompute_stats:
        stats_path = src.root / "meta" / "episodes_stats.jsonl"
        problems += [
            Problem(
                STATS,
                ConversionError(
                    stats_path,
                    f"has no stats for episode {index}",
                    "restore that line, or convert with --stats=recompute",
                ),
                index,
            )
            for index in src.missing_stats
        ]
    required = [k for k, f in src.features.items() if f["dtype"] != "video"]
    task_ids = np.asarray(sorted(src.tasks), dtype=np.int64)
    first_schema: pa.Schema | None = None
    first_video: dict[str, object] = {}
    bar = tqdm(src.episodes, desc="scan", unit="ep", disable=not progress, leave=False)
    for ep in bar:
        found, schema = _scan_data(src, ep, required, task_ids, deep, first_schema)
        first_schema = first_schema or schema
        problems += found
        for key in src.video_keys:
            problems += _scan_video(src, ep, key, deep, first_video)
    return problems


def _problem(group: str, path: Path, what: str, fix: str, episode: int) -> Problem:
    return Problem(group, ConversionError(path, what, fix), episode)


def _scan_data(
    src: SourceDataset,
    ep: SourceEpisode,
    required: list[str],
    task_ids: np.ndarray,
    deep: bool,
    first_schema: pa.Schema | None,
) -> tuple[list[Problem], pa.Schema | None]:
    path = src.data_file(ep.index)
    if not path.is_file():
        fix = "restore the episode's parquet file from your backup"
        return [_problem(MISSING, path, "is missing", fix, ep.index)], None
    try:
        pfile = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        fix = "restore the file from your backup (it may be truncated)"
        return [_problem(UNREADABLE, path, f"is not a readable parquet file ({exc})", fix, ep.index)], None
    problems = []
    names = pfile.schema_arrow.names
    missing = [c for c in required if c not in names]
    if missing:
        problems.append(
            _problem(
                COLUMNS,
                path,
                f"lacks the column(s) {', '.join(missing)} declared in meta/info.json",
                "restore the file, or remove those features from meta/info.json",
                ep.index,
            )
        )
    if pfile.metadata.num_rows != ep.length:
        problems.append(
            _problem(
                LENGTHS,
                path,
                f"has {pfile.metadata.num_rows} rows but meta/episodes.jsonl says "
                f"episode {ep.index} has length {ep.length}",
                "correct 'length' in meta/episodes.jsonl or restore the parquet file",
                ep.index,
            )
        )
    schema = pa.schema([pfile.schema_arrow.field(c) for c in required if c in names])
    if deep and not problems:
        problems += _scan_columns(path, pfile, ep, task_ids, schema, first_schema)
    return problems, schema if not missing else None


def _scan_columns(
    path: Path,
    pfile: pq.ParquetFile,
    ep: SourceEpisode,
    task_ids: np.ndarray,
    schema: pa.Schema,
    first_schema: pa.Schema | None,
) -> list[Problem]:
    """The index columns the writer renumbers, and the column types it concatenates."""
    try:
        table = pfile.read(columns=["episode_index", "task_index"])
    except (pa.ArrowInvalid, OSError) as exc:
        fix = "restore the file from your backup (it may be truncated)"
        return [_problem(UNREADABLE, path, f"cannot be read to the end ({exc})", fix, ep.index)]
    problems = []
    episode = table["episode_index"].to_numpy(zero_copy_only=False)
    if episode.size and (episode != ep.index).any():
        bad = int(episode[episode != ep.index][0])
        problems.append(
            _problem(
                COLUMNS,
                path,
                f"holds rows of episode {bad} although it is the file of episode {ep.index}",
                "restore the file; each v2.x episode file holds exactly one episode",
                ep.index,
            )
        )
    tasks = table["task_index"].to_numpy(zero_copy_only=False).astype(np.int64)
    unknown = ~np.isin(tasks, task_ids)
    if unknown.any():
        problems.append(
            _problem(
                COLUMNS,
                path,
                f"uses task_index {int(tasks[unknown][0])}, which meta/tasks.jsonl does not define",
                "add the task to meta/tasks.jsonl or fix the task_index column",
                ep.index,
            )
        )
    if first_schema is not None and not _castable(schema, first_schema):
        problems.append(
            _problem(
                COLUMNS,
                path,
                "has column types that differ from the first episode's",
                "re-export this episode with the dataset's feature types",
                ep.index,
            )
        )
    return problems


def _castable(schema: pa.Schema, target: pa.Schema) -> bool:
    if schema.equals(target):
        return True
    try:
        pa.table({f.name: pa.array([], f.type) for f in schema}).select(target.names).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError):
        return False
    return True


def _scan_video(
    src: SourceDataset, ep: SourceEpisode, key: str, deep: bool, first: dict[str, object]
) -> list[Problem]:
    from lerobot_local.convert.video import probe

    path = src.video_file(key, ep.index)
    if not path.is_file():
        fix = "restore the episode's video file from your backup"
        return [_problem(MISSING, path, "is missing", fix, ep.index)]
    if not deep:
        return []
    try:
        info = probe(path, src.fps)
    except ConversionError as exc:
        return [Problem(VIDEO, exc, ep.index)]
    if info.frames != ep.length:
        return [
            _problem(
                VIDEO,
                path,
                f"holds {info.frames} frames but episode {ep.index} has {ep.length} "
                "rows in its parquet file and in meta/episodes.jsonl",
                "restore the matching video, or re-record the episode",
                ep.index,
            )
        ]
    template = first.setdefault(key, info)
    if not info.same_encoding(template):  # type: ignore[arg-type]
        return [
            _problem(
                VIDEO,
                path,
                f"is encoded differently ({info.codec} {info.width}x{info.height} {info.pix_fmt}) from "
                f"{template.path.name}",  # type: ignore[attr-defined]
                "re-encode the camera's episodes with the same settings before converting",
                ep.index,
            )
        ]
    return []
