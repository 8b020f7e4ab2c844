"""One conversion, end to end: read source -> plan -> write to a temporary sibling -> verify -> rename.

The source is only ever read. The destination appears in one atomic rename after verification; a run killed
at any moment leaves at most the temporary sibling, which the next run removes before starting.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lerobot_local.convert.errors import ConversionError, ConversionProblems
from lerobot_local.convert.scan import scan_source
from lerobot_local.convert.source import SourceDataset, read_source
from lerobot_local.convert.writer import WriteOptions, plan_tasks, write_dataset

logger = logging.getLogger("lerobot_local." + __name__.rsplit(".", 1)[-1])
TMP_SUFFIX = ".lerobot-local-tmp"
OLD_SUFFIX = ".lerobot-local-old"


class UsageError(Exception):
    """The command line asks for something impossible (exit code 2)."""


@dataclass
class ConvertJob:
    input: Path
    output: Path
    overwrite: bool = False
    dry_run: bool = False
    verify: str = "quick"
    write: WriteOptions = field(default_factory=WriteOptions)
    # Source episode indices to convert (None: all) and to leave out (None: none); at most one of the two.
    episodes: list[int] | None = None
    exclude_episodes: list[int] | None = None


@dataclass
class ConversionReport:
    source: str
    output: str
    source_version: str
    converter: str
    dry_run: bool
    episodes: int = 0
    frames: int = 0
    source_episodes: int = 0
    excluded_episodes: list[int] = field(default_factory=list)
    episode_map: dict[int, int] = field(default_factory=dict)  # source index -> output index, every kept one
    tasks: int = 0
    cameras: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    bytes_written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    renumbered_episodes: dict[int, int] = field(default_factory=dict)
    renumbered_tasks: dict[int, int] = field(default_factory=dict)
    extra_files: dict[str, str] = field(default_factory=dict)
    verification: dict[str, Any] = field(default_factory=dict)
    checks_passed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("renumbered_episodes", "renumbered_tasks", "episode_map"):
            data[key] = {str(k): v for k, v in data[key].items()}
        return json.dumps(data, indent=2)


def sibling(path: Path, suffix: str) -> Path:
    """A hidden sibling of ``path`` (same directory, so renames are atomic)."""
    return path.parent / f".{path.name}{suffix}"


def check_paths(job: ConvertJob) -> tuple[Path, Path]:
    """Resolve input and output and refuse combinations that could touch the source or lose data."""
    src = job.input.expanduser().resolve()
    dst = job.output.expanduser().absolute()
    dst = dst.parent.resolve() / dst.name
    if not src.is_dir():
        raise UsageError(
            f"--input={job.input}: no such directory; pass the v2.x dataset folder (it holds meta/)"
        )
    if dst == src or src in dst.parents or dst in src.parents:
        raise UsageError(
            f"--output={job.output} overlaps --input={job.input}; choose an output folder outside "
            "the source (the converter never writes into its input)"
        )
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"--output={job.output} exists and is not a directory; choose another --output")
    if dst.is_dir() and any(dst.iterdir()) and not job.overwrite:
        raise UsageError(
            f"--output={job.output} exists and is not empty; choose another --output or pass "
            "--overwrite=true to replace it"
        )
    return src, dst


def _clean_stale(dst: Path) -> None:
    for stale in (sibling(dst, TMP_SUFFIX), sibling(dst, OLD_SUFFIX)):
        if stale.exists():
            logger.info("removing %s left by an interrupted run", stale)
            shutil.rmtree(stale)


def _publish(tmp: Path, dst: Path) -> None:
    """Move the verified ``tmp`` to ``dst`` (an existing ``dst`` is replaced last)."""
    if dst.exists():
        old = sibling(dst, OLD_SUFFIX)
        os.replace(dst, old)
        os.replace(tmp, dst)
        shutil.rmtree(old)
    else:
        os.replace(tmp, dst)
    _fsync_dir(dst.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _summary(src: SourceDataset, report: ConversionReport) -> None:
    report.episodes = len(src.episodes)
    report.frames = src.total_frames
    report.tasks = len(src.tasks)
    report.cameras = src.video_keys + src.image_keys


def _out_of_space(exc: OSError, tmp: Path, dst: Path, src_root: Path) -> ConversionError | None:
    """A clear error for a full disk, a quota or a file-size limit (``None`` for any other OSError)."""
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.EFBIG: "a file-size limit was reached",
    }.get(exc.errno or 0)
    if reason is None:
        return None
    files = [p for p in tmp.rglob("*") if p.is_file()] if tmp.exists() else []
    newest = max(files, key=lambda p: p.stat().st_mtime_ns, default=None)
    where = exc.filename or (dst / newest.relative_to(tmp) if newest else dst)
    need = sum(p.stat().st_size for p in src_root.rglob("*") if p.is_file())
    return ConversionError(
        where,
        f"writing failed because {reason} ({exc.strerror or exc}); the source is untouched",
        f"free at least {max(need / 1e6, 0.1):.1f} MB on the disk of {dst.parent} (or raise the limit), "
        "or pass another --output, then run the same command again",
    )


def select_episodes(src: SourceDataset, job: ConvertJob) -> SourceDataset:
    """``src`` restricted to ``job.episodes`` / without ``job.exclude_episodes`` (UsageError on bad lists)."""
    if job.episodes is not None and job.exclude_episodes is not None:
        raise UsageError("pass --episodes=[...] or --exclude_episodes=[...], not both")
    chosen = job.episodes if job.episodes is not None else job.exclude_episodes
    if chosen is None:
        return src
    flag = "--episodes" if job.episodes is not None else "--exclude_episodes"
    present = {ep.index for ep in src.episodes}
    unknown = sorted(set(chosen) - present)
    if unknown:
        raise UsageError(
            f"{flag}={_list_flag(chosen)} names episode(s) {_list_flag(unknown)} that "
            f"{src.root}/meta/episodes.jsonl does not list (it has {_ranges(sorted(present))})"
        )
    keep = sorted(set(chosen)) if job.episodes is not None else sorted(present - set(chosen))
    if not keep:
        raise UsageError(f"{flag}={_list_flag(chosen)} leaves no episode to convert")
    return src.select(keep)


def _list_flag(indices: list[int]) -> str:
    """Indices in draccus list syntax, as LeRobot's --dataset.episodes takes them: ``[0,3,6]``."""
    return "[" + ",".join(str(i) for i in indices) + "]"


def _ranges(indices: list[int]) -> str:
    """``0-4, 7, 9-12``: a short description of sorted indices."""
    parts: list[str] = []
    start = prev = None
    for i in [*indices, None]:
        if start is not None and (i is None or i != prev + 1):
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if i is not None and start is None:
            start = i
        prev = i
    return ", ".join(parts)


def exclusion_hint(job: ConvertJob, src_all: SourceDataset, kept: SourceDataset, bad: list[int]) -> str:
    """The exact flag that converts every kept episode except ``bad``."""
    rest = [ep.index for ep in kept.episodes if ep.index not in set(bad)]
    if not rest:
        return "no episode is free of problems: restore the files named above"
    if job.episodes is not None:
        flag = f"--episodes={_list_flag(rest)}"
    else:
        excluded = sorted(set(job.exclude_episodes or []) | set(bad))
        flag = f"--exclude_episodes={_list_flag(excluded)}"
    return (
        f"to convert the other {len(rest)} of {len(src_all.episodes)} episodes, run the same command "
        f"with {flag}"
    )


def find_problems(
    job: ConvertJob, src_all: SourceDataset, src: SourceDataset, deep: bool
) -> ConversionProblems | None:
    """Every problem of the episodes to convert, as one error (None when there is none)."""
    problems = scan_source(src, deep=deep, recompute_stats=job.write.recompute_stats)
    if not problems:
        return None
    if not deep:  # refusing anyway: look deeper, so that the refusal lists every problem, not the first kind
        problems = scan_source(src, deep=True, recompute_stats=job.write.recompute_stats)
    bad = sorted({p.episode for p in problems if p.episode is not None})
    hint = exclusion_hint(job, src_all, src, bad) if all(p.episode is not None for p in problems) else None
    return ConversionProblems(src.root, problems, hint)


def run_conversion(job: ConvertJob, converter_name: str) -> ConversionReport:
    """Convert ``job.input`` into ``job.output`` ; raise ConversionError on bad input."""
    started = time.perf_counter()
    src_root, dst = check_paths(job)
    src_all = read_source(src_root)
    src = select_episodes(src_all, job)
    report = ConversionReport(
        source=str(src_root),
        output=str(dst),
        source_version=src.version,
        converter=converter_name,
        dry_run=job.dry_run,
    )
    _summary(src, report)
    report.source_episodes = len(src_all.episodes)
    kept = {ep.index for ep in src.episodes}
    report.excluded_episodes = [ep.index for ep in src_all.episodes if ep.index not in kept]
    report.episode_map = {ep.index: new for new, ep in enumerate(src.episodes)}
    problems = find_problems(job, src_all, src, deep=job.dry_run)
    if problems is not None:
        raise problems
    report.checks_passed.append("metadata of the source is complete and consistent")
    if job.dry_run:
        report.checks_passed.append("every episode's video stream has the right frame count and rate")
        report.extra_files = {str(p.relative_to(src_root)): "(would be copied)" for p in src.extra_files}
        report.seconds["total"] = round(time.perf_counter() - started, 3)
        return report

    _clean_stale(dst)
    tmp = sibling(dst, TMP_SUFFIX)
    tmp.mkdir(parents=True)
    try:
        try:
            written = write_dataset(src, tmp, job.write)
        except ConversionProblems:
            raise
        except ConversionError as exc:  # list every problem, not only the first one the writer met
            shutil.rmtree(tmp, ignore_errors=True)
            problems = find_problems(job, src_all, src, deep=True)
            raise (problems or exc) from exc
        report.seconds["convert"] = round(time.perf_counter() - started, 3)
        report.files_written = written.files_written
        report.bytes_written = written.bytes_written
        report.renumbered_episodes = written.renumbered_episodes
        report.renumbered_tasks = written.renumbered_tasks
        report.extra_files = written.extra_files
        report.notes.extend(written.notes)
        report.checks_passed.append("every episode's rows and video frame counts match meta/episodes.jsonl")
        if job.verify != "none":
            from lerobot_local.convert.verify import verify_conversion

            verify_started = time.perf_counter()
            result = verify_conversion(
                src,
                tmp,
                job.verify,
                written.renumbered_episodes,
                plan_tasks(src),
                progress=job.write.progress,
            )
            report.seconds["verify"] = round(time.perf_counter() - verify_started, 3)
            report.verification = asdict(result)
            report.checks_passed.extend(result.checks)
        _publish(tmp, dst)
    except OSError as exc:
        error = _out_of_space(exc, tmp, dst, src_root)
        shutil.rmtree(tmp, ignore_errors=True)
        if error is None:
            raise
        raise error from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report
