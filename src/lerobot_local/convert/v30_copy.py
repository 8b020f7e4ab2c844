"""A v3.0 copy of a v3.0 dataset without some of its cameras: ``--drop_features=CAM[,CAM]`` on a v3.0 input.

Salvage (issue 31) for a recording already in v3.0 whose camera videos are lost or unreadable. The flow is
the converter's: the names are checked first (cameras only; a usage error names the cameras otherwise);
the registered dataset checks run on the folder as the copy will see it (its info.json without the
dropped video cameras, so their missing or broken files refuse nothing, while every other error refuses,
all listed at once; wrong stats too, unless ``--stats=recompute``); the copy is written into a temporary
sibling of NEW: every file but the dropped cameras' ``videos/<key>/``, then ``meta/info.json`` (features,
``video_path`` null when no video is left, no ``total_videos``: LeRobot's v3.0 writes none),
``meta/stats.json``, ``meta/episodes`` without the ``videos/<key>/...`` and ``stats/<key>/...`` columns and,
for an image camera stored in the data files, those files without its column. ``--stats=recompute`` then
recomputes the numeric stats (convert.restats). The copy is loaded with the installed LeRobot and compared
with the input, then renamed into place. The input is never written.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from lerobot_local.convert.errors import ConversionError
from lerobot_local.convert.restats import (
    _episode_stats,
    _numeric_features,
    _refuse_other_errors,
    _rewrite_episodes,
    _write_stats_json,
    corrected_totals,
    lerobot_reads,
    refuse_v2x_flags,
)
from lerobot_local.convert.restats import _verify as verify_stats
from lerobot_local.convert.run import (
    TMP_SUFFIX,
    ConversionReport,
    ConvertJob,
    _clean_stale,
    _publish,
    cameras_to_drop,
    check_paths,
    removed_on_failure,
    sibling,
)
from lerobot_local.convert.source import CAMERA_DTYPES
from lerobot_local.convert.writer import _kept_metadata
from lerobot_local.dataset import (
    EPISODES_GLOB,
    INFO_PATH,
    STATS_PATH,
    data_files,
    episodes_table,
    local_dataset,
    read_info,
    read_stats_json,
    video_dir,
    video_paths,
)
from lerobot_local.facts import DatasetFacts

QUICK_EPISODES = 20  # --verify=quick compares the first and last frame of this many episodes


def copy_without(job: ConvertJob, converter_name: str) -> ConversionReport:
    """Write a v3.0 copy of the v3.0 dataset ``job.input`` without the cameras ``job.drop_features``."""
    started = time.perf_counter()
    src, dst = check_paths(job)
    info_path = src / INFO_PATH
    refuse_v2x_flags(job, info_path)
    info, error = read_info(src)
    if info is None:
        raise ConversionError(info_path, error or "is unreadable", "restore meta/info.json")
    features = info.get("features") if isinstance(info.get("features"), dict) else {}
    dropped = cameras_to_drop(features, job.drop_features, str(info_path))
    report = ConversionReport(str(src), str(dst), "v3.0", converter_name, job.dry_run)
    report.dropped_features = dropped
    report.cameras = [k for k in _cameras(features) if k not in dropped]
    videos = [k for k in dropped if features[k].get("dtype") == "video"]
    view = _without(info, videos)  # the checks see the copy's cameras: a dropped one's files refuse nothing
    _refuse_other_errors(src, job, report, DatasetFacts(src, view, None, local_dataset(src, view)))
    lengths = episodes_table(src, columns=["episode_index", "length"])
    report.episodes = report.source_episodes = lengths.num_rows
    report.frames = int(sum(lengths["length"].to_pylist()))
    report.tasks = int(info.get("total_tasks") or 0)
    report.checks_passed.append(
        "no dataset check finds an error in what the copy keeps"
        + ("" if job.write.recompute_stats else " (stats included)")
    )
    left = f"{', '.join(dropped)} left out; kept: {', '.join(report.cameras) or 'no camera'}"
    if job.dry_run:
        report.notes.append(f"would write a v3.0 copy with {left}")
        report.seconds["total"] = round(time.perf_counter() - started, 3)
        return report
    numeric = _numeric_features(info)
    per_episode = _episode_stats(src, numeric)[0] if job.write.recompute_stats else {}
    _clean_stale(dst)
    tmp = sibling(dst, TMP_SUFFIX)
    with removed_on_failure(tmp, dst, src):
        shutil.copytree(src, tmp, symlinks=False, ignore=_skipping(src, info, videos))
        report.notes += _write_meta(tmp, info, dropped, report.episodes, report.frames)
        if job.write.recompute_stats:
            changed = _rewrite_episodes(tmp, per_episode, numeric)
            _write_stats_json(tmp)
            report.notes.append(
                f"stats of {', '.join(numeric)} recomputed from the data ({changed} episode stat value(s) "
                "changed by more than 1e-6)"
            )
        if job.verify != "none":
            report.checks_passed += _verify(src, tmp, info, dropped, job.verify)
            if job.write.recompute_stats:
                report.checks_passed += verify_stats(tmp, numeric, report)[1:]
        _publish(tmp, dst)
    report.notes.append(f"v3.0 copy written with {left}; the input is unchanged")
    report.files_written = [str(p.relative_to(dst)) for p in sorted(dst.rglob("*")) if p.is_file()]
    report.bytes_written = sum((dst / f).stat().st_size for f in report.files_written)
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report


def _cameras(features: dict[str, Any]) -> list[str]:
    return [k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") in CAMERA_DTYPES]


def _without(info: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A copy of the parsed info.json whose features lack ``keys``."""
    out = json.loads(json.dumps(info))
    out["features"] = {k: f for k, f in info["features"].items() if k not in keys}
    return out


def _skipping(src: Path, info: dict[str, Any], videos: list[str]) -> Callable[[str, list[str]], set[str]]:
    """copytree's ``ignore``: the folders (and files) of the dropped video cameras are not copied."""
    skip = {src / d for key in videos if (d := video_dir(info, key))}
    skip |= {p for key in videos for p in video_paths(src, info, key)}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if Path(folder) / n in skip}

    return ignore


def _write_meta(
    root: Path, info: dict[str, Any], dropped: list[str], episodes: int, frames: int
) -> list[str]:
    """info.json, stats.json, meta/episodes and (image cameras) the data files of the copy without
    ``dropped``; info.json's totals are those of meta/episodes (which the checks found equal to the data
    rows). Returns what was corrected besides."""
    new = _without(info, dropped)
    new.pop("total_videos", None)  # a v2.x count; LeRobot's own v3.0 writer and converter drop it
    held, notes = corrected_totals(new, episodes, frames)
    new.update(held)
    if not any(f.get("dtype") == "video" for f in new["features"].values() if isinstance(f, dict)):
        new["video_path"] = None
    (root / INFO_PATH).write_text(json.dumps(new, indent=4))
    stats = read_stats_json(
        root
    )  # an unreadable stats.json refused the copy (or --stats=recompute rewrites it)
    if stats is not None:
        (root / STATS_PATH).write_text(
            json.dumps({k: v for k, v in stats.items() if k not in dropped}, indent=4)
        )
    prefixes = tuple(f"{group}/{key}/" for key in dropped for group in ("videos", "stats"))
    for path in sorted(root.glob(EPISODES_GLOB)):
        _drop_columns(path, lambda c: c.startswith(prefixes))
    images = {k for k in dropped if info["features"][k].get("dtype") == "image"}
    for path in data_files(root) if images else []:
        _drop_columns(path, lambda c: c in images)
    return notes


def _drop_columns(path: Path, gone: Callable[[str], bool]) -> None:
    """Rewrite the parquet file ``path`` without the columns ``gone`` selects; the Hugging Face and pandas
    schema metadata no longer list them either (``datasets`` expects what they list)."""
    table = pq.read_table(path)
    names = [c for c in table.column_names if gone(c)]
    if not names:
        return
    kept = table.drop_columns(names)
    metadata = _kept_metadata(table.schema.metadata, kept.column_names) or {}
    if b"pandas" in metadata:
        try:
            pandas = json.loads(metadata[b"pandas"])
            pandas["columns"] = [c for c in pandas["columns"] if c.get("name") not in names]
            metadata = {**metadata, b"pandas": json.dumps(pandas).encode()}
        except (ValueError, KeyError, TypeError, AttributeError):
            metadata = {k: v for k, v in metadata.items() if k != b"pandas"}
    pq.write_table(kept.replace_schema_metadata(metadata or None), path)


def _verify(src: Path, out: Path, info: dict[str, Any], dropped: list[str], mode: str) -> list[str]:
    """Load the copy with the installed LeRobot: its episodes, frames and cameras, and the frames compared
    (the first and last of up to 20 episodes, or every frame with ``--verify=full``) with the input's
    rows; a kept image camera's pixels equal the input's, a kept video camera decodes."""
    from lerobot_local import compat  # LeRobot: seconds to import

    with lerobot_reads(out):
        dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
        checks = _compare(src, out, dataset, info, dropped, mode)
    return [
        f"LeRobot {compat.lerobot_version()} loads {dataset.num_episodes} episodes, "
        f"{dataset.num_frames} frames, cameras {', '.join(compat.dataset_camera_keys(dataset)) or 'none'}",
        *checks,
    ]


def _compare(
    src: Path, out: Path, dataset: Any, info: dict[str, Any], dropped: list[str], mode: str
) -> list[str]:
    from lerobot_local import compat  # LeRobot: seconds to import
    from lerobot_local.convert.verify import _as_uint8_hwc  # PIL/PyAV: only when frames are compared

    rows = episodes_table(src, columns=["episode_index", "length"]).to_pylist()
    lengths = [int(r["length"]) for r in sorted(rows, key=lambda r: r["episode_index"])]
    kept = [k for k in _cameras(info["features"]) if k not in dropped]
    cameras = compat.dataset_camera_keys(dataset)
    if (dataset.num_episodes, dataset.num_frames) != (len(lengths), sum(lengths)) or set(cameras) != set(
        kept
    ):
        raise ConversionError(
            out,
            f"LeRobot loads {dataset.num_episodes} episodes / {dataset.num_frames} frames / cameras "
            f"{cameras}, expected {len(lengths)} / {sum(lengths)} / {kept}",
            "report this as a bug",
        )
    starts = np.cumsum([0, *lengths])
    chosen = range(len(lengths))
    if mode != "full" and len(lengths) > QUICK_EPISODES:
        chosen = sorted(set(np.linspace(0, len(lengths) - 1, QUICK_EPISODES).round().astype(int).tolist()))
    wanted = sorted(
        {
            int(starts[e]) + f
            for e in chosen
            for f in (range(lengths[e]) if mode == "full" else {0, lengths[e] - 1})
        }
    )
    images = [k for k in kept if info["features"][k].get("dtype") == "image"]
    values = [
        k
        for k, f in info["features"].items()
        if isinstance(f, dict) and f.get("dtype") not in (*CAMERA_DTYPES, "string")
    ]
    for position, row in _input_rows(src, wanted, [*values, *images]):
        item = dataset[position]
        where = f"frame {position}"
        if set(dropped) & set(item):
            raise ConversionError(
                out, f"{where} still holds {set(dropped) & set(item)}", "report this as a bug"
            )
        for key in values:
            expected = np.asarray(row[key])
            got = np.asarray(item[key].numpy() if hasattr(item[key], "numpy") else item[key])
            got = got.reshape(expected.shape) if got.size == expected.size else got
            if expected.dtype.kind == "f":
                expected = expected.astype(got.dtype)
            if got.shape != expected.shape or not np.array_equal(
                got.astype(expected.dtype, copy=False), expected, equal_nan=expected.dtype.kind == "f"
            ):
                raise ConversionError(
                    out,
                    f"{where}: '{key}' is {got.tolist()} in the copy but {expected.tolist()} in the input",
                    "report this as a bug",
                )
        for key in kept:
            if key not in item or np.asarray(item[key]).ndim != 3:
                raise ConversionError(
                    out, f"{where}: LeRobot gives no image for {key}", "report this as a bug"
                )
        for key in images:
            if not np.array_equal(_as_uint8_hwc(item[key]), _image(src, row[key])):
                raise ConversionError(
                    out, f"{where}: image '{key}' differs from the input", "report this as a bug"
                )
    pixels = f"; the pixels of {', '.join(images)}" if images else ""
    decode = f"the kept camera(s) {', '.join(kept)} decode" if kept else "no camera is kept"
    return [f"{len(wanted)} frame(s) equal to the input ({len(values)} feature(s){pixels}); {decode}"]


def _input_rows(src: Path, positions: list[int], columns: list[str]) -> Any:
    """(position, row) of the input's data rows at the given global positions, reading each data file once."""
    start = 0
    pending = list(positions)
    for path in data_files(src):
        rows = pq.ParquetFile(path).metadata.num_rows
        here = [p for p in pending if start <= p < start + rows]
        if here:
            table = pq.read_table(path, columns=columns).take([p - start for p in here]).to_pylist()
            yield from zip(here, table, strict=True)
        start += rows


def _image(src: Path, cell: dict[str, Any]) -> np.ndarray:
    import io

    from PIL import Image  # only for a kept image camera

    data = cell.get("bytes") or (src / cell["path"]).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
