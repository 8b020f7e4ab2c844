"""Find every problem of a v2.x source's episode files at once, before anything is written.

``quick`` (before every conversion): each episode's parquet file exists, its footer says the rows and
columns meta/ declares (types castable, absent index columns derivable), its index columns and timestamps
are what LeRobot's loader accepts; each video file exists; each episode has stats. ``deep`` (the dry run,
and after the writer met a problem): also every list column's width and each video's stream (frames,
rate, encoding), i.e. everything the writer would stop at, and a camera that is black in an episode (a
warning). Each problem names the file, the episode and the fix; the caller turns the list into one
:class:`ConversionProblems` error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from lerobot_local.convert.columns import data_columns, declared_width, plan_columns, ragged
from lerobot_local.convert.errors import ConversionError, Problem
from lerobot_local.convert.source import STATS_GROUP, SourceDataset, SourceEpisode
from lerobot_local.dataset import EPISODES_STATS_JSONL

MISSING = "missing files"
UNREADABLE = "unreadable files"
LENGTHS = "episode lengths"
COLUMNS = "columns"
VIDEO = "video streams"
STATS = STATS_GROUP
CLOCK = "timestamps"  # rows off k / fps without a gap: --retime=true is the fix
BLACK = "black camera"
RETIME_FIX = (
    "convert with --retime=true, which writes timestamps = frame_index / fps into the new copy (the source "
    "is not changed) and reports how far each episode's timestamps moved"
)
# the flag that makes a group's problems go away (the others need the episode left out or the file restored)
# the converter flag that fixes a check row (`lerobot-local check` adds it to the command it prints instead
# of leaving the row's episodes out); a row reaches the conversion as the group "check NAME" (convert.values)
ROW_FLAGS = {"fps:timestamps": "--retime=true", "values:stats": "--stats=recompute"}
GROUP_FLAGS = {
    STATS: "--stats=recompute",
    CLOCK: "--retime=true",
    **{f"check {name}": flag for name, flag in ROW_FLAGS.items()},
}


def drop_flag(cameras: list[str]) -> str:
    """The converter flag that leaves ``cameras`` out: ``--drop_features=a,b`` (no brackets: no glob)."""
    return "--drop_features=" + ",".join(dict.fromkeys(cameras))


def scan_source(
    src: SourceDataset,
    deep: bool,
    recompute_stats: bool = False,
    progress: bool = False,
    retime: bool = False,
    warnings: list[Problem] | None = None,
    notes: list[str] | None = None,
) -> list[Problem]:
    """Every problem of the episodes of ``src`` (an empty list when the writer can convert them all).

    ``retime``: timestamps off k / fps are no problem (the writer rewrites them). ``warnings`` collects
    what does not stop a conversion (a black camera, deep only); ``notes`` what the writer will derive or
    cast (each said once).
    """
    problems: list[Problem] = [p for p in src.problems if not (recompute_stats and p.group == STATS)]
    if not recompute_stats:
        stats_path = src.root / EPISODES_STATS_JSONL
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
    said: list[str] = notes if notes is not None else []
    first_video: dict[str, object] = {}
    bar = tqdm(src.episodes, desc="scan", unit="ep", disable=not progress, leave=False)
    for ep in bar:
        problems += _scan_data(src, ep, deep, retime, said)
        for key in src.video_keys:  # a camera's own problems go away with --drop_features=KEY
            problems += [
                replace(p, camera=key) for p in _scan_video(src, ep, key, deep, first_video, warnings)
            ]
    return problems


def _problem(group: str, path: Path, what: str, fix: str, episode: int) -> Problem:
    return Problem(group, ConversionError(path, what, fix), episode)


UNREADABLE_FIX = "restore the file from your backup (it may be truncated)"


def _scan_data(
    src: SourceDataset, ep: SourceEpisode, deep: bool, retime: bool, notes: list[str]
) -> list[Problem]:
    try:
        path = src.data_file(ep.index)
    except ConversionError as exc:
        return [Problem(MISSING, exc, ep.index)]
    if not path.is_file():
        fix = "restore the episode's parquet file from your backup"
        return [_problem(MISSING, path, "is missing", fix, ep.index)]
    try:
        pfile = pq.ParquetFile(path)
        schema = pfile.schema_arrow
        rows = pfile.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        return [
            _problem(UNREADABLE, path, f"is not a readable parquet file ({exc})", UNREADABLE_FIX, ep.index)
        ]
    plan = plan_columns(src, schema, ep)
    problems = [_problem(COLUMNS, path, what, fix, ep.index) for what, fix in plan.problems]
    notes += [n for n in plan.notes if n not in notes]
    if rows != ep.length:
        problems.append(
            _problem(
                LENGTHS,
                path,
                f"has {rows} rows but meta/episodes.jsonl says episode {ep.index} has length {ep.length}",
                "correct 'length' in meta/episodes.jsonl or restore the parquet file",
                ep.index,
            )
        )
    wanted = [c for c in ("episode_index", "task_index", "timestamp") if c in schema.names]
    if deep:
        wanted += [c for c in data_columns(src) if c in schema.names and declared_width(src, c) > 1]
    try:
        table = pfile.read(columns=wanted)
    except (pa.ArrowException, OSError, ValueError) as exc:
        return [
            *problems,
            _problem(UNREADABLE, path, f"cannot be read to the end ({exc})", UNREADABLE_FIX, ep.index),
        ]
    problems += _scan_indices(src, path, ep, table, retime)
    for column in wanted[3:] if deep else []:
        row = ragged(table[column], declared_width(src, column)) if column in table.column_names else None
        if row is not None:
            problems.append(
                _problem(
                    COLUMNS,
                    path,
                    f"row {row} of column {column} does not hold the {declared_width(src, column)} values "
                    "meta/info.json declares",
                    "restore the file, or correct the shape in meta/info.json",
                    ep.index,
                )
            )
    return problems


def _numbers(table: pa.Table, column: str) -> np.ndarray | None:
    """A scalar numeric column as a flat array (None when it is a list, a string, or holds nulls)."""
    if column not in table.column_names:
        return None
    array = table[column].combine_chunks()
    if array.null_count or not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        return None
    return array.to_numpy(zero_copy_only=False)


def _scan_indices(
    src: SourceDataset, path: Path, ep: SourceEpisode, table: pa.Table, retime: bool
) -> list[Problem]:
    """The index columns the writer renumbers, and the timestamps LeRobot's loader looks frames up by."""
    problems = []
    for column in ("episode_index", "task_index"):
        if column in table.column_names and _numbers(table, column) is None:
            problems.append(
                _problem(
                    COLUMNS,
                    path,
                    f"column {column} holds {table[column].type} values or nulls, not integers",
                    f"restore the file; {column} is one integer per row",
                    ep.index,
                )
            )
    episode = _numbers(table, "episode_index")
    if episode is not None and episode.size and (episode != ep.index).any():
        bad = episode[episode != ep.index][0]
        problems.append(
            _problem(
                COLUMNS,
                path,
                f"holds rows of episode {bad} although it is the file of episode {ep.index}",
                "restore the file; each v2.x episode file holds exactly one episode",
                ep.index,
            )
        )
    if retime or "timestamp" not in table.column_names:
        return problems
    if _numbers(table, "timestamp") is None:
        problems.append(
            _problem(
                CLOCK,
                path,
                f"column timestamp holds {table['timestamp'].type} values or nulls, not seconds",
                RETIME_FIX,
                ep.index,
            )
        )
    # timestamps off k / fps are the fps check's to diagnose (lerobot_local.values.timing, one place):
    # its row, with its fix, reaches the conversion through convert.values
    return problems


def _scan_video(
    src: SourceDataset,
    ep: SourceEpisode,
    key: str,
    deep: bool,
    first: dict[str, object],
    warnings: list[Problem] | None,
) -> list[Problem]:
    from lerobot_local.convert.video import probe  # PyAV: only when a video is opened

    try:
        path = src.video_file(key, ep.index)
    except ConversionError as exc:
        return [Problem(MISSING, exc, ep.index)]
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
    if warnings is not None and _black(path, info.frames):
        warnings.append(
            _problem(
                BLACK,
                path,
                f"camera {key} is black in episode {ep.index} (its first, middle and last frames are all "
                "dark), so the policy sees nothing there",
                "check the camera's cable/exposure and leave the episode out "
                f"(--exclude_episodes=[{ep.index}]) or re-record it",
                ep.index,
            )
        )
    return []


BLACK_LEVEL = 12  # brightest pixel (0-255) of a frame taken as black: sensor noise of a covered lens


def _black(path: Path, frames: int) -> bool:
    """True when the first, middle and last frames of the video are all dark (a seek and a few decodes
    each, not the whole stream)."""
    import av  # PyAV: only when a video is opened

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            step = stream.time_base and (1 / (float(stream.time_base) * float(stream.average_rate or 30)))
            for target in sorted({0, frames // 2, max(frames - 1, 0)}):
                pts = round(target * step) + (stream.start_time or 0) if step else 0
                container.seek(pts, stream=stream, backward=True, any_frame=False)
                frame = None
                for frame in container.decode(stream):
                    if frame.pts is None or frame.pts >= pts:
                        break
                if frame is not None and int(frame.to_ndarray(format="gray").max()) > BLACK_LEVEL:
                    return False
    except (av.error.FFmpegError, OSError, ValueError, ZeroDivisionError, TypeError, IndexError):
        return False  # unreadable streams are reported by probe
    return True
