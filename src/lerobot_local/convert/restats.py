"""A corrected copy of a v3.0 dataset whose stats are wrong, without the v2.x source it came from.

``lerobot-convert-local --input=V30 --output=NEW --stats=recompute`` (converter ``local_v30_restats``):
the input is checked with the registered dataset checks (anything but wrong stats refuses, listed at once),
copied into a temporary sibling of NEW, every episode's numeric stats are recomputed from its data rows
(``meta/episodes``), ``meta/stats.json`` is aggregated from them, the copy is loaded with the installed
LeRobot and its stats compared with the data, then renamed into place. The input is never written.
Camera stats are kept (recomputing them means decoding every video; a wrong camera mean is rare and
harmless next to a wrong joint mean), which the report says. With ``--drop_features=CAM`` the same
converter writes the copy without those cameras (convert.v30_copy, which calls this module's stats).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_local.checks.dataset import TOTALS_ROW
from lerobot_local.convert import stats
from lerobot_local.convert.errors import ConversionError, ConversionProblems, Problem
from lerobot_local.convert.run import (
    TMP_SUFFIX,
    ConversionReport,
    ConvertJob,
    _clean_stale,
    _publish,
    check_paths,
    sibling,
)
from lerobot_local.convert.scan import drop_flag
from lerobot_local.convert.stats_table import EpisodeStatsTable, aggregate
from lerobot_local.dataset import EPISODES_GLOB, INFO_PATH, STATS_PATH, data_files, read_info, read_stats_json
from lerobot_local.facts import DatasetFacts, gather_dataset_facts
from lerobot_local.results import CheckResult
from lerobot_local.runner import run_dataset_checks
from lerobot_local.settings import LocalSettings

STATS_ROW = "values:stats"
NUMERIC_KINDS = "iufb"


def restats(job: ConvertJob, converter_name: str) -> ConversionReport:
    """Write a copy of the v3.0 dataset ``job.input`` with its numeric stats recomputed from the data."""
    started = time.perf_counter()
    src, dst = check_paths(job)
    info_path = src / INFO_PATH
    if job.drop_features:  # routed by convert.registry; v30_copy recomputes through this module
        raise ConversionError(
            info_path,
            "--drop_features on a v3.0 source is written by convert.v30_copy",
            "report this as a bug",
        )
    if not job.write.recompute_stats:
        raise ConversionError(
            info_path,
            "already describes a v3.0 dataset, so there is nothing to convert",
            "point dataset.root at this folder; to write a copy with its stats recomputed from the data, "
            "run the same command with --stats=recompute (or with --drop_features=CAM to leave cameras out)",
        )
    refuse_v2x_flags(job, info_path)
    info, error = read_info(src)
    if info is None:
        raise ConversionError(info_path, error or "is unreadable", "restore meta/info.json")
    report = ConversionReport(str(src), str(dst), "v3.0", converter_name, job.dry_run)
    _refuse_other_errors(src, job, report)
    numeric = _numeric_features(info)
    per_episode, frames = _episode_stats(src, numeric)
    report.episodes = len(per_episode)
    report.source_episodes = len(per_episode)
    report.frames = frames
    report.tasks = int(info.get("total_tasks") or 0)
    report.cameras = [
        k for k, f in (info.get("features") or {}).items() if f.get("dtype") in ("video", "image")
    ]
    report.checks_passed.append("no dataset check finds an error other than the stats")
    if job.dry_run:
        report.notes.append(f"would recompute the stats of {', '.join(numeric)} from {frames} frames")
        report.seconds["total"] = round(time.perf_counter() - started, 3)
        return report
    _clean_stale(dst)
    tmp = sibling(dst, TMP_SUFFIX)
    try:
        shutil.copytree(src, tmp, symlinks=False)
        report.notes += _rewrite_totals(tmp, info, len(per_episode), frames)
        changed = _rewrite_episodes(tmp, per_episode, numeric)
        _write_stats_json(tmp)
        if job.verify != "none":
            report.checks_passed += _verify(tmp, numeric, report)
        _publish(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.notes.append(
        f"stats of {', '.join(numeric)} recomputed from the data of {report.episodes} episode(s) "
        f"({changed} episode stat value(s) changed by more than 1e-6); meta/stats.json aggregated from them; "
        "camera stats kept from the input"
    )
    report.files_written = [str(p.relative_to(dst)) for p in sorted(dst.rglob("*")) if p.is_file()]
    report.bytes_written = sum((dst / f).stat().st_size for f in report.files_written)
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report


def refuse_v2x_flags(job: ConvertJob, info_path: Path) -> None:
    """--episodes, --exclude_episodes and --retime rewrite a v2.x source's episodes; a v3.0 copy keeps
    them as they are."""
    if job.episodes is not None or job.exclude_episodes is not None or job.write.retime:
        raise ConversionError(
            info_path,
            "--episodes, --exclude_episodes and --retime apply to v2.x sources only",
            "pass a v3.0 dataset with --stats=recompute and/or --drop_features=... alone (use "
            "lerobot-train's --dataset.episodes=[...] to leave episodes out)",
        )


def corrected_totals(info: dict[str, Any], episodes: int, frames: int) -> tuple[dict[str, int], list[str]]:
    """info.json's totals as the data holds them (the dataset:totals row), and a note for each change."""
    held = {"total_episodes": episodes, "total_frames": frames}
    notes = [
        f"meta/info.json {key} was {info.get(key)}, written as {value} (what meta/episodes and the data hold)"
        for key, value in held.items()
        if info.get(key) != value
    ]
    return held, notes


def _rewrite_totals(root: Path, info: dict[str, Any], episodes: int, frames: int) -> list[str]:
    """The copy's info.json with the data's totals; what changed, said."""
    held, notes = corrected_totals(info, episodes, frames)
    if notes:
        (root / INFO_PATH).write_text(json.dumps({**info, **held}, indent=4))
    return notes


def _refuse_other_errors(
    src: Path, job: ConvertJob, report: ConversionReport, dataset: DatasetFacts | None = None
) -> None:
    """Every error row of the dataset checks refuses, all listed at once, but wrong or unreadable stats
    when they are recomputed. ``dataset``: the facts to check (the copy's view of ``src``, without the
    cameras it leaves out: convert.v30_copy), by default the folder as it is."""
    settings = LocalSettings(deep_video_check=job.dry_run or bool(job.drop_features))
    rows = run_dataset_checks(dataset or gather_dataset_facts(src), settings)
    recompute = job.write.recompute_stats
    fixed = [r for r in rows if r.name == TOTALS_ROW or (recompute and _fixed_by_recompute(r))]
    report.checks = [r.to_dict() for r in rows if r not in fixed]
    errors = [r for r in rows if r.severity == "error" and r not in fixed]
    if errors:
        problems = [
            Problem(f"check {r.name}", ConversionError(None, f"{r.name}: {r.message.rstrip('.')}", r.fix))
            for r in errors
        ]
        raise ConversionProblems(src, problems, refusal_hint(errors, job))


def _fixed_by_recompute(row: CheckResult) -> bool:
    """Wrong stats, or a meta/stats.json that does not read: --stats=recompute writes it anew."""
    flags = [d.get("flag") for d in row.details if isinstance(d, dict)]
    return row.name == STATS_ROW or (bool(flags) and all(f == "--stats=recompute" for f in flags))


def refusal_hint(errors: list[CheckResult], job: ConvertJob) -> str:
    """What makes a refused v3.0 copy go through: the flags when every error is a camera's files
    (``--drop_features=...``, read from the rows' details) or wrong stats (``--stats=recompute``)."""
    cameras = [d["camera"] for r in errors for d in r.details if isinstance(d, dict) and d.get("camera")]
    rest = [
        r
        for r in errors
        if not _fixed_by_recompute(r)
        and r.name != TOTALS_ROW
        and not (r.details and all(isinstance(d, dict) and d.get("camera") for d in r.details))
    ]
    flags = ["--stats=recompute"] if any(_fixed_by_recompute(r) for r in errors) else []
    drop = drop_flag([*(job.drop_features or []), *cameras]) if cameras else None
    if not rest:
        flags += [drop] if drop else []
        return f"run the same command with {' '.join(flags)} (or restore the files named above)"
    hint = "repair the input first (restore the files named above, or re-convert it from its source)"
    if drop:
        hint += f"; the problems of camera(s) {', '.join(dict.fromkeys(cameras))} go away with {drop}"
    return hint


def _numeric_features(info: dict[str, Any]) -> list[str]:
    features = info.get("features") or {}
    return [
        k
        for k, f in features.items()
        if isinstance(f, dict) and f.get("dtype") not in ("video", "image", "string")
    ]


def _column(table: pa.Table, key: str) -> np.ndarray:
    array = table[key].combine_chunks()
    if (
        pa.types.is_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
        or pa.types.is_large_list(array.type)
    ):
        flat = array.flatten().to_numpy(zero_copy_only=False)
        return flat.reshape(len(array), -1)
    return array.to_numpy(zero_copy_only=False)


def _episode_stats(root: Path, numeric: list[str]) -> tuple[dict[int, dict[str, dict[str, np.ndarray]]], int]:
    """Per-episode stats of the numeric features, from every data file (rows grouped by episode_index)."""
    parts: dict[int, dict[str, list[np.ndarray]]] = {}
    frames = 0
    for path in data_files(root):
        try:
            table = pq.read_table(
                path, columns=[*numeric, "episode_index"] if "episode_index" not in numeric else numeric
            )
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise ConversionError(
                path, f"cannot be read ({exc})", "restore the file, or re-convert the dataset"
            ) from exc
        episodes = table["episode_index"].to_numpy(zero_copy_only=False)
        frames += table.num_rows
        columns = {k: _column(table, k) for k in numeric}
        for episode in np.unique(episodes):
            rows = episodes == episode
            target = parts.setdefault(int(episode), {k: [] for k in numeric})
            for key in numeric:
                target[key].append(columns[key][rows])
    result = {
        ep: {k: stats.numeric_stats(np.concatenate(v)) for k, v in keys.items()} for ep, keys in parts.items()
    }
    return result, frames


def _rewrite_episodes(
    root: Path, per_episode: dict[int, dict[str, dict[str, np.ndarray]]], numeric: list[str]
) -> int:
    """Replace the ``stats/<feature>/<stat>`` columns of meta/episodes; return how many values changed."""
    changed = 0
    for path in sorted(root.glob(EPISODES_GLOB)):
        table = pq.read_table(path)
        episodes = table["episode_index"].to_pylist()
        missing = [e for e in episodes if e not in per_episode]
        if missing:
            raise ConversionError(
                path,
                f"lists episode(s) {missing[:5]} that have no rows in data/",
                "re-convert the dataset from its source",
            )
        for key in numeric:
            for stat in stats.STAT_KEYS:
                name = f"stats/{key}/{stat}"
                values = [np.asarray(per_episode[e][key][stat]).tolist() for e in episodes]
                if name in table.column_names:
                    old = table[name].to_pylist()
                    changed += sum(
                        not np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=1e-6)
                        for a, b in zip(old, values, strict=True)
                        if a is not None and np.asarray(a).shape == np.asarray(b).shape
                    )
                    column = pa.array(values).cast(table.schema.field(name).type)
                    table = table.set_column(table.schema.get_field_index(name), name, column)
                else:
                    table = table.append_column(name, pa.array(values))
        pq.write_table(table, path)
    return changed


def _write_stats_json(root: Path) -> None:
    """meta/stats.json aggregated from every episode's stats (numeric recomputed, cameras as they were)."""
    tables = [pq.read_table(p) for p in sorted(root.glob(EPISODES_GLOB))]
    rows = sum(t.num_rows for t in tables)
    per = EpisodeStatsTable(rows)
    row = 0
    for table in tables:
        names = [n for n in table.column_names if n.startswith("stats/")]
        for record in table.select(names).to_pylist():
            for key, values in _regroup(record).items():
                per.set(row, key, {s: np.asarray(v) for s, v in values.items()})
            row += 1
    old = read_stats_json(root) or {}  # an unreadable stats.json is replaced, not an obstacle
    new = stats.to_jsonable(aggregate(per))
    for key, values in old.items() if isinstance(old, dict) else []:
        new.setdefault(key, values)  # features meta/episodes has no stats for are kept
    (root / STATS_PATH).write_text(json.dumps(new, indent=4))


def _regroup(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"stats/observation.state/mean": v}`` -> ``{"observation.state": {"mean": v}}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in record.items():
        if value is None or not name.startswith("stats/"):
            continue
        key, _, stat = name[len("stats/") :].rpartition("/")
        out.setdefault(key, {})[stat] = value
    return out


@contextmanager
def lerobot_reads(root: Path) -> Iterator[None]:
    """Anything LeRobot's loader raises in the block means the copy at ``root`` is not usable: one
    ConversionError that says so (our own ConversionErrors go on as they are)."""
    try:
        yield
    except ConversionError:
        raise
    except Exception as exc:
        raise ConversionError(
            root,
            f"LeRobot cannot read the copy ({type(exc).__name__}: {str(exc)[:300]}); nothing was written",
            "run `lerobot-local check` on the input and repair what it reports first",
        ) from exc


def _verify(root: Path, numeric: list[str], report: ConversionReport) -> list[str]:
    """Load the copy with the installed LeRobot; its stats of every numeric feature agree with the data."""
    from lerobot_local import compat  # LeRobot: seconds to import

    with lerobot_reads(root):
        dataset = compat.load_lerobot_dataset(root, video_backend="pyav")
        for i in (0, len(dataset) - 1):
            dataset[i]
    data, _ = _episode_stats(root, numeric)
    counts = {k: sum(int(v[k]["count"][0]) for v in data.values()) for k in numeric}
    for key in numeric:
        if key not in dataset.meta.stats:
            continue
        mean = sum(v[key]["mean"] * v[key]["count"][0] for v in data.values()) / counts[key]
        got = np.asarray(dataset.meta.stats[key]["mean"], dtype=float).reshape(mean.shape)
        if not np.allclose(got, mean, rtol=1e-5, atol=1e-6):
            raise ConversionError(
                root, f"LeRobot reads a {key} mean that differs from the data", "report this as a bug"
            )
    return [
        f"LeRobot {compat.lerobot_version()} loads {dataset.num_episodes} episodes, "
        f"{dataset.num_frames} frames",
        "meta/stats.json means equal the data's (every numeric feature)",
    ]
