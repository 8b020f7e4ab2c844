"""Write a v3.0 dataset from a v2.x source, one episode in memory at a time.

Data: episode parquet files are streamed batch by batch (pyarrow) into size-capped data files, with
``episode_index``, ``index`` and ``task_index`` renumbered to the contiguous ranges LeRobot v3.0 requires.
Videos: packets are copied (no re-encoding) into size-capped files per camera (:mod:`.video`).
Metadata: tasks, episodes (with per-episode stats), aggregated stats and info.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from lerobot_local.convert import layout, stats
from lerobot_local.convert.columns import (
    ColumnPlan,
    data_columns,
    declared_dtype,
    output_features,
    plan_columns,
    with_leaf,
)
from lerobot_local.convert.errors import ConversionError
from lerobot_local.convert.source import INDEX_COLUMNS, SourceDataset, SourceEpisode
from lerobot_local.convert.stats_table import EpisodeStatsTable, aggregate
from lerobot_local.convert.timing import moved, retimed
from lerobot_local.convert.video import VideoConcatenator, episode_video

logger = logging.getLogger("lerobot_local." + __name__.rsplit(".", 1)[-1])
RENUMBERED_COLUMNS = ("episode_index", "index", "task_index")
EPISODES_PER_BATCH = 32  # rows of meta/episodes built and written at a time (bounds memory)


@dataclass
class WriteOptions:
    data_file_size_mb: float = layout.DEFAULT_DATA_FILE_SIZE_MB
    video_file_size_mb: float = layout.DEFAULT_VIDEO_FILE_SIZE_MB
    recompute_stats: bool = False
    progress: bool = True
    retime: bool = False  # write timestamps = frame_index / fps (the source's are reported, not kept)


@dataclass
class WriteResult:
    episodes: int = 0
    frames: int = 0
    files_written: list[str] = field(default_factory=list)
    bytes_written: int = 0
    renumbered_episodes: dict[int, int] = field(default_factory=dict)
    renumbered_tasks: dict[int, int] = field(default_factory=dict)
    extra_files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # source episode -> how far its timestamps moved with --retime=true: {"max_s": ..., "mean_s": ...}
    retimed: dict[int, dict[str, float]] = field(default_factory=dict)


class _Bar:
    """A tqdm bar that can be switched off."""

    def __init__(self, enabled: bool, **kwargs: Any) -> None:
        self._bar = tqdm(**kwargs) if enabled else None

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def plan_tasks(src: SourceDataset) -> dict[int, int]:
    """Map source task indices to 0..T-1 in source order (LeRobot looks tasks up by position)."""
    return {old: new for new, old in enumerate(sorted(src.tasks))}


def write_dataset(src: SourceDataset, out: Path, opts: WriteOptions) -> WriteResult:
    """Write the v3.0 conversion of ``src`` into the empty directory ``out``."""
    result = WriteResult()
    task_map = plan_tasks(src)
    result.renumbered_tasks = {o: n for o, n in task_map.items() if o != n}
    new_index = {ep.index: i for i, ep in enumerate(src.episodes)}
    result.renumbered_episodes = {o: n for o, n in new_index.items() if o != n}
    rows: list[dict[str, Any]] = [
        {"episode_index": new_index[ep.index], "length": ep.length} for ep in src.episodes
    ]

    numeric_stats = _write_data(src, out, opts, task_map, rows, result)
    for key in src.video_keys:
        _write_videos(src, out, opts, key, rows)
    episode_stats = _episode_stats(src, opts, numeric_stats, result)
    _write_meta(src, out, opts, task_map, rows, episode_stats)
    result.extra_files = _copy_extra_files(src, out)
    result.episodes = len(rows)
    result.frames = sum(r["length"] for r in rows)
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        result.files_written.append(str(path.relative_to(out)))
        result.bytes_written += path.stat().st_size
    return result


def _open_parquet(path: Path) -> pq.ParquetFile:
    if not path.is_file():
        raise ConversionError(path, "is missing", "restore the episode's parquet file from your backup")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConversionError(
            path,
            f"is not a readable parquet file ({exc})",
            "restore the file from your backup (it may be truncated)",
        ) from exc


def _write_data(
    src: SourceDataset,
    out: Path,
    opts: WriteOptions,
    task_map: dict[int, int],
    rows: list[dict[str, Any]],
    result: WriteResult,
) -> EpisodeStatsTable:
    """Stream every episode into size-capped data files; return per-episode numeric stats."""
    required = data_columns(src)
    numeric_keys = [k for k in required if declared_dtype(src, k) is not None]
    task_lookup = np.full(max(task_map, default=0) + 1, -1, dtype=np.int64)
    for old, new in task_map.items():
        task_lookup[old] = new
    placer, writer, schema = layout.FilePlacer(opts.data_file_size_mb), None, None
    frames_done = 0
    all_stats = EpisodeStatsTable(len(src.episodes))
    bar = _Bar(opts.progress, total=len(src.episodes), desc="data", unit="ep")
    try:
        for position, (ep, row) in enumerate(zip(src.episodes, rows, strict=True)):
            path = src.data_file(ep.index)
            pfile = _open_parquet(path)
            plan = plan_columns(src, pfile.schema_arrow, ep)
            if plan.problems:
                raise ConversionError(path, *plan.problems[0])
            result.notes.extend(n for n in plan.notes if n not in result.notes)
            if pfile.metadata.num_rows != ep.length:
                raise ConversionError(
                    path,
                    f"has {pfile.metadata.num_rows} rows but meta/episodes.jsonl says "
                    f"episode {ep.index} has length {ep.length}",
                    "correct 'length' in meta/episodes.jsonl or restore the parquet file",
                )
            if placer.place(path.stat().st_size) and writer is not None:
                writer.close()
                writer = None
            if writer is None:
                target = out / layout.DATA_PATH.format(
                    chunk_index=placer.chunk_index, file_index=placer.file_index
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                schema = schema or _output_schema(src, pfile.schema_arrow, required, plan)
                writer = pq.ParquetWriter(target, schema)
            row.update(
                {
                    "data/chunk_index": placer.chunk_index,
                    "data/file_index": placer.file_index,
                    "dataset_from_index": frames_done,
                    "dataset_to_index": frames_done + ep.length,
                }
            )
            collected: dict[str, list[np.ndarray]] = {k: [] for k in numeric_keys}
            task_order: list[int] = []
            offset = frames_done
            stamps: list[np.ndarray] = []
            try:
                for batch in pfile.iter_batches(batch_size=65536):
                    table = pa.Table.from_batches([batch])
                    table = _complete(src, ep, table, plan, offset - frames_done, opts.retime, stamps)
                    table = _renumber(table, path, ep.index, row["episode_index"], offset, task_lookup)
                    offset += table.num_rows
                    for t in pc.unique(table["task_index"]).to_pylist():
                        if t not in task_order:
                            task_order.append(t)
                    for k in numeric_keys:
                        collected[k].append(_to_numpy(table[k]))
                    writer.write_table(_conform(table, schema, path))
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise ConversionError(
                    path,
                    f"cannot be read to the end ({exc})",
                    "restore the file from your backup (it may be truncated)",
                ) from exc
            if opts.retime:
                peak, mean = moved(np.concatenate(stamps) if stamps else None, src.fps)
                result.retimed[ep.index] = {"max_s": round(peak, 6), "mean_s": round(mean, 6)}
            inverse = {new: old for old, new in task_map.items()}
            row["tasks"] = [src.tasks[inverse[t]] for t in task_order]
            for key, values in collected.items():
                if values:
                    all_stats.set(position, key, stats.numeric_stats(np.concatenate(values)))
            frames_done += ep.length
            bar.update()
    finally:
        if writer is not None:
            writer.close()
        bar.close()
    return all_stats


def _to_numpy(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as ``(rows,)`` or, for list columns, ``(rows, width)``."""
    array = column.combine_chunks()
    if (
        pa.types.is_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
        or pa.types.is_large_list(array.type)
    ):
        flat = array.flatten().to_numpy(zero_copy_only=False)
        return flat.reshape(len(array), -1) if len(array) else flat.reshape(0, 0)
    return array.to_numpy(zero_copy_only=False)


def _output_schema(src: SourceDataset, source: pa.Schema, required: list[str], plan: ColumnPlan) -> pa.Schema:
    """The first episode's schema in feature order, numeric columns in their declared types, derived index
    columns added; LeRobot's schema metadata kept."""
    fields = []
    for name in required:
        if name in source.names:
            found = source.field(name)
            fields.append(
                found.with_type(with_leaf(found.type, plan.casts[name])) if name in plan.casts else found
            )
        else:
            fields.append(pa.field(name, pa.from_numpy_dtype(np.dtype(declared_dtype(src, name)))))
    return pa.schema(fields, metadata=_kept_metadata(source.metadata, required))


def _kept_metadata(metadata: dict[bytes, bytes] | None, columns: list[str]) -> dict[bytes, bytes] | None:
    """The source's schema metadata without the columns the output leaves out (a camera dropped with
    --drop_features): the Hugging Face features it lists are what ``datasets`` expects to find."""
    raw = (metadata or {}).get(b"huggingface")
    if raw is None:
        return metadata
    try:
        hf = json.loads(raw)
        features = hf["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return metadata
    if not isinstance(features, dict) or set(features) <= set(columns):
        return metadata
    hf["info"]["features"] = {k: v for k, v in features.items() if k in columns}
    return {**metadata, b"huggingface": json.dumps(hf).encode()}


def _complete(
    src: SourceDataset,
    ep: SourceEpisode,
    table: pa.Table,
    plan: ColumnPlan,
    first_row: int,
    retime: bool,
    stamps: list[np.ndarray],
) -> pa.Table:
    """Add the index columns the plan derives; with ``retime``, timestamps = position / fps."""
    n = table.num_rows
    position = np.arange(first_row, first_row + n, dtype=np.int64)
    values = {
        "frame_index": position,
        "episode_index": np.full(n, ep.index, dtype=np.int64),
        "index": position,  # renumbered next
        "task_index": np.full(n, plan.derive.get("task_index", -1), dtype=np.int64),
        "timestamp": retimed(first_row + n, src.fps)[first_row:],
    }
    for name in INDEX_COLUMNS:
        if name in plan.derive:
            table = table.append_column(name, pa.array(values[name]))
    if retime and "timestamp" not in plan.derive:
        old = table["timestamp"]
        stamps.append(old.to_numpy().astype(np.float64) if old.null_count == 0 else np.full(n, np.nan))
        at = table.schema.get_field_index("timestamp")
        table = table.set_column(
            at, pa.field("timestamp", old.type), pa.array(values["timestamp"]).cast(old.type)
        )
    return table


def _conform(table: pa.Table, schema: pa.Schema, path: Path) -> pa.Table:
    try:
        conformed = table.select(schema.names).cast(schema)
    except (pa.ArrowException, KeyError, ValueError) as exc:
        raise ConversionError(
            path,
            f"has column types that differ from the first episode or from meta/info.json ({exc})",
            "re-export this episode with the dataset's feature types",
        ) from exc
    for name in schema.names:  # a float64 value too large for the declared float32 became inf
        before, after = table[name], conformed[name]
        if before.type != after.type and _infinite(after) > _infinite(before):
            raise ConversionError(
                path,
                f"column {name} holds values too large for its declared type {after.type}",
                "correct the values (or declare float64 in meta/info.json)",
            )
    return conformed


def _infinite(column: pa.ChunkedArray) -> int:
    flat = column
    while _is_list_type(flat.type):
        flat = pc.list_flatten(flat)
    if not pa.types.is_floating(flat.type):
        return 0
    return int(pc.sum(pc.is_inf(flat)).as_py() or 0)


def _is_list_type(dtype: pa.DataType) -> bool:
    return pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype)


def _renumber(
    table: pa.Table, path: Path, old_ep: int, new_ep: int, offset: int, task_lookup: np.ndarray
) -> pa.Table:
    """Check the episode's index columns and renumber them into the output's contiguous ranges."""
    episode = table["episode_index"].to_numpy(zero_copy_only=False)
    if episode.size and (episode != old_ep).any():
        bad = int(episode[episode != old_ep][0])
        raise ConversionError(
            path,
            f"holds rows of episode {bad} although it is the file of episode {old_ep}",
            "restore the file; each v2.x episode file holds exactly one episode",
        )
    tasks = table["task_index"].to_numpy(zero_copy_only=False).astype(np.int64)
    unknown = (tasks < 0) | (tasks >= task_lookup.size)
    if not unknown.any():
        unknown = task_lookup[tasks] < 0
    if unknown.any():
        bad = int(tasks[unknown][0])
        raise ConversionError(
            path,
            f"uses task_index {bad}, which meta/tasks.jsonl does not define",
            "add the task to meta/tasks.jsonl or fix the task_index column",
        )
    replacements = {
        "episode_index": pa.array(np.full(table.num_rows, new_ep, dtype=np.int64)),
        "index": pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64)),
        "task_index": pa.array(task_lookup[tasks]),
    }
    for name, values in replacements.items():
        position = table.schema.get_field_index(name)
        values = values.cast(table.schema.field(name).type)
        table = table.set_column(position, table.schema.field(name), values)
    return table


def _write_videos(
    src: SourceDataset, out: Path, opts: WriteOptions, key: str, rows: list[dict[str, Any]]
) -> None:
    """Concatenate one camera's episode files into size-capped mp4 files; fill the episode rows."""
    placer, concat, template = layout.FilePlacer(opts.video_file_size_mb), None, None
    bar = _Bar(opts.progress, total=len(src.episodes), desc=f"video {key}", unit="ep")
    try:
        for ep, row in zip(src.episodes, rows, strict=True):
            path = src.video_file(key, ep.index)
            with episode_video(path, src.fps) as (info, container):
                if info.frames != ep.length:
                    raise ConversionError(
                        path,
                        f"holds {info.frames} frames but episode {ep.index} has {ep.length} "
                        "rows in its parquet file and in meta/episodes.jsonl",
                        "restore the matching video, or re-record the episode",
                    )
                template = template or info
                if placer.place(path.stat().st_size) and concat is not None:
                    concat.close()
                    concat = None
                if concat is None:
                    target = out / layout.VIDEO_PATH.format(
                        video_key=key, chunk_index=placer.chunk_index, file_index=placer.file_index
                    )
                    concat = VideoConcatenator(target, template)
                span = concat.append(info, container)
            row.update(
                {
                    f"videos/{key}/chunk_index": placer.chunk_index,
                    f"videos/{key}/file_index": placer.file_index,
                    f"videos/{key}/from_timestamp": span.from_timestamp,
                    f"videos/{key}/to_timestamp": span.to_timestamp,
                }
            )
            bar.update()
    finally:
        if concat is not None:
            concat.close()
        bar.close()


def _guarded(path: Path, decode: Any, *args: Any) -> np.ndarray:
    """``decode(*args)``: frames for the stats, or a ConversionError naming the undecodable file."""
    try:
        return decode(*args)
    except ConversionError:
        raise
    except Exception as exc:  # PyAV, PIL and a missing frame (KeyError) all mean the same: unreadable
        raise ConversionError(
            path,
            f"cannot be decoded for the image statistics ({type(exc).__name__}: {exc})",
            "restore or re-encode the file, or leave the episode out with --exclude_episodes=[...]",
        ) from exc


def _decode_frames(path: Path, indices: list[int]) -> np.ndarray:
    """Decode the given frame indices of an mp4 as uint8 (n, 3, h, w)."""
    wanted = set(indices)
    frames: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                frames[i] = frame.to_ndarray(format="rgb24").transpose(2, 0, 1)
            if len(frames) == len(wanted):
                break
    return np.stack([frames[i] for i in indices])


def _decode_images(src: SourceDataset, ep_index: int, key: str, indices: list[int]) -> np.ndarray:
    """Decode the given frames of an image feature stored in the episode's parquet file."""
    import io

    from PIL import Image

    column = pq.read_table(src.data_file(ep_index), columns=[key])[key].to_pylist()
    images = []
    for i in indices:
        cell = column[i]
        data = cell.get("bytes") if isinstance(cell, dict) else None
        if not data and isinstance(cell, dict) and cell.get("path"):
            data = (src.root / cell["path"]).read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            images.append(np.asarray(img.convert("RGB")).transpose(2, 0, 1))
    return np.stack(images)


def _episode_stats(
    src: SourceDataset, opts: WriteOptions, numeric: EpisodeStatsTable, result: WriteResult
) -> EpisodeStatsTable:
    """Per-episode stats: the source's (v2.1) or computed (v2.0, or when asked), index columns recomputed."""
    if src.stats is not None and not opts.recompute_stats:
        return src.stats.with_features_from(numeric, INDEX_COLUMNS)
    visual = src.video_keys + src.image_keys
    bar = _Bar(opts.progress and bool(visual), total=len(src.episodes), desc="stats", unit="ep")
    for position, ep in enumerate(src.episodes):
        indices = stats.sample_indices(ep.length)
        for key in src.video_keys:
            path = src.video_file(key, ep.index)
            frames = _guarded(path, _decode_frames, path, indices)
            numeric.set(position, key, stats.image_stats(np.stack([stats.downsample(f) for f in frames])))
        for key in src.image_keys:
            frames = _guarded(src.data_file(ep.index), _decode_images, src, ep.index, key, indices)
            numeric.set(position, key, stats.image_stats(np.stack([stats.downsample(f) for f in frames])))
        bar.update()
    bar.close()
    result.notes.append(
        "per-episode statistics computed from the data (source has none or --stats=recompute)"
    )
    return numeric


def _write_meta(
    src: SourceDataset,
    out: Path,
    opts: WriteOptions,
    task_map: dict[int, int],
    rows: list[dict[str, Any]],
    episode_stats: EpisodeStatsTable,
) -> None:
    import pandas as pd

    (out / layout.TASKS_PATH).parent.mkdir(parents=True, exist_ok=True)
    tasks = pd.DataFrame(
        {"task_index": [task_map[i] for i in sorted(src.tasks)]},
        index=pd.Index([src.tasks[i] for i in sorted(src.tasks)], name="task"),
    )
    tasks.to_parquet(out / layout.TASKS_PATH)

    # meta/episodes in batches: one episode's flattened stats at a time, not a second copy of all of them.
    episodes_path = out / layout.EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, len(rows), EPISODES_PER_BATCH):
            records = [
                _episode_record(rows[i], episode_stats.episode(i))
                for i in range(start, min(start + EPISODES_PER_BATCH, len(rows)))
            ]
            if writer is None:
                table = pa.Table.from_pylist(records)
                writer = pq.ParquetWriter(episodes_path, table.schema)
            else:
                table = pa.Table.from_pylist(records, schema=writer.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()

    aggregated = stats.to_jsonable(aggregate(episode_stats))
    (out / layout.STATS_PATH).write_text(json.dumps(aggregated, indent=4))

    info = json.loads(json.dumps(src.info))
    info["codebase_version"] = layout.V30
    for obsolete in ("total_chunks", "total_videos"):
        info.pop(obsolete, None)
    info.update(
        {
            "total_episodes": len(rows),
            "total_frames": sum(r["length"] for r in rows),
            "total_tasks": len(src.tasks),
            "chunks_size": layout.FILES_PER_CHUNK,
            "data_files_size_in_mb": opts.data_file_size_mb,
            "video_files_size_in_mb": opts.video_file_size_mb,
            "data_path": layout.DATA_PATH,
            "video_path": layout.VIDEO_PATH if src.video_keys else None,
            "fps": src.fps,
            "splits": {"train": f"0:{len(rows)}"},
        }
    )
    info["features"] = output_features(src)
    for feature in info["features"].values():
        if feature["dtype"] != "video":
            feature["fps"] = src.fps
    (out / layout.INFO_PATH).write_text(json.dumps(info, indent=4))


def _episode_record(row: dict[str, Any], ep_stats: dict[str, Any]) -> dict[str, Any]:
    """One row of meta/episodes: index, tasks, length, file locations, then ``stats/<key>/<stat>``."""
    record = {"episode_index": row["episode_index"], "tasks": row["tasks"], "length": row["length"]}
    record.update({k: v for k, v in row.items() if k not in record})
    for key, values in stats.to_jsonable(ep_stats).items():
        for stat, value in values.items():
            record[f"stats/{key}/{stat}"] = value
    record["meta/episodes/chunk_index"] = 0
    record["meta/episodes/file_index"] = 0
    return record


def _copy_extra_files(src: SourceDataset, out: Path) -> dict[str, str]:
    """Copy files the converter does not read (README, notes, ...); return ``{source: destination}``."""
    copied = {}
    for path in src.extra_files:
        rel = path.relative_to(src.root)
        target = out / rel
        if target.exists() or rel.parts[0] in ("data", "videos", "meta"):
            target = out / "extra" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied[str(rel)] = str(target.relative_to(out))
    return copied
