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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lerobot_local.convert.errors import ConversionError, ConversionProblems, Problem
from lerobot_local.convert.scan import CLOCK, GROUP_FLAGS, drop_flag, scan_source
from lerobot_local.convert.source import CAMERA_DTYPES, INDEX_COLUMNS, SourceDataset, read_source
from lerobot_local.convert.values import dataset_check_rows
from lerobot_local.convert.writer import WriteOptions, plan_tasks, write_dataset

logger = logging.getLogger("lerobot_local." + __name__.rsplit(".", 1)[-1])
TMP_SUFFIX = ".lerobot-local-tmp"
TIMESTAMP_GROUPS = (CLOCK,)
OLD_SUFFIX = ".lerobot-local-old"
NOTHING_LEFT = "no episode is free of problems"  # how a hint that converts nothing begins


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
    # Convert although the value checks found errors (NaN/Inf, stats that disagree with the data).
    allow_value_errors: bool = False
    # Cameras (video or image features) to leave out of the output: features, files and stats.
    drop_features: list[str] | None = None


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
    dropped_features: list[str] = field(default_factory=list)  # cameras left out (--drop_features)
    files_written: list[str] = field(default_factory=list)
    bytes_written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    renumbered_episodes: dict[int, int] = field(default_factory=dict)
    renumbered_tasks: dict[int, int] = field(default_factory=dict)
    extra_files: dict[str, str] = field(default_factory=dict)
    verification: dict[str, Any] = field(default_factory=dict)
    checks_passed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # what does not stop a conversion but a lab should look at (a black camera, value warnings)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # value errors converted anyway with --allow_value_errors=true
    value_errors: list[dict[str, Any]] = field(default_factory=list)
    # source episode -> how far --retime=true moved its timestamps: {"max_s": ..., "mean_s": ...}
    retimed: dict[int, dict[str, float]] = field(default_factory=dict)
    # the registered dataset checks' rows on the source (as `lerobot-local check` shows them)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("renumbered_episodes", "renumbered_tasks", "episode_map", "retimed"):
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


@contextmanager
def removed_on_failure(tmp: Path, dst: Path, src_root: Path) -> Iterator[None]:
    """The temporary sibling ``tmp`` is removed when the block fails; a full disk becomes the converter's
    one-sentence error (``_out_of_space``), anything else goes on as it was raised."""
    try:
        yield
    except OSError as exc:
        error = _out_of_space(exc, tmp, dst, src_root)
        shutil.rmtree(tmp, ignore_errors=True)
        if error is None:
            raise
        raise error from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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


def drop_features(src: SourceDataset, job: ConvertJob) -> SourceDataset:
    """``src`` without the cameras ``job.drop_features`` (UsageError on a name it lacks, or not a camera)."""
    names = cameras_to_drop(src.features, job.drop_features, f"{src.root}/meta/info.json")
    return src.without(names) if names else src


def cameras_to_drop(features: dict[str, Any], asked: list[str] | None, info: str) -> list[str]:
    """The cameras ``--drop_features`` names, each once (UsageError on a name ``features`` has not, or that
    is not a camera; ``info``: the info.json the message names). Shared by the v2.x and v3.0 paths.

    Only cameras: a policy's state and action define its input and output, the index columns are LeRobot's
    own, and the checks compare state with action, so a numeric feature left out would quietly change what
    is trained rather than salvage a recording whose videos are lost.
    """
    names = list(dict.fromkeys(asked or []))
    if not names:
        return []
    cameras = [k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") in CAMERA_DTYPES]
    unknown = [n for n in names if n not in features]
    if unknown:
        others = [k for k in features if k not in cameras and k not in INDEX_COLUMNS]
        raise UsageError(
            f"--drop_features names {', '.join(unknown)}, which {info} does not declare; its cameras are "
            f"{', '.join(cameras) or '(none)'} (other features: {', '.join(others) or '(none)'})"
        )
    not_cameras = [n for n in names if n not in cameras]
    if not_cameras:
        raise UsageError(
            "--drop_features leaves out cameras only (video or image features), and "
            + ", ".join(f"{n} is {_dtype(features[n])}" for n in not_cameras)
            + f" in {info}: the policy's inputs and outputs stay as recorded; cameras here: "
            f"{', '.join(cameras) or '(none)'}"
        )
    return names


def _dtype(feature: Any) -> Any:
    return feature.get("dtype") if isinstance(feature, dict) else feature


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
    return (
        f"to convert the other {len(rest)} of {len(src_all.episodes)} episodes, run the same command "
        f"with {_keep_flag(job, kept, bad)}"
    )


def _keep_flag(job: ConvertJob, kept: SourceDataset, bad: list[int]) -> str:
    if job.episodes is not None:
        return f"--episodes={_list_flag([ep.index for ep in kept.episodes if ep.index not in set(bad)])}"
    return f"--exclude_episodes={_list_flag(sorted(set(job.exclude_episodes or []) | set(bad)))}"


def problems_hint(
    job: ConvertJob, src_all: SourceDataset, src: SourceDataset, problems: list[Problem]
) -> str | None:
    """The command-line change that converts the rest: a flag that fixes some groups (--stats=recompute,
    --retime=true), the episodes to leave out for the others; None when a problem belongs to no episode.
    When a camera's files are missing or unreadable, also the --drop_features=... that keeps every episode
    without that camera."""
    hint = _flags_hint(job, src_all, src, problems)
    cameras = sorted({p.camera for p in problems if p.camera})
    if not cameras:
        return hint
    drop = drop_flag([*(job.drop_features or []), *cameras])
    rest = [p for p in problems if not p.camera]
    alternative = (
        _flags_hint(job, src_all, src, rest, [drop]) if rest else f"run the same command with {drop}"
    )
    if alternative is None or alternative.startswith(NOTHING_LEFT):
        return hint
    which = f"camera{'s' if len(cameras) > 1 else ''} {', '.join(cameras)}"
    alternative = f"to convert without the {which} (files missing or unreadable), {alternative}"
    if hint is None or hint.startswith(NOTHING_LEFT):
        return f"{alternative} (or restore the files named above)"
    return f"{alternative}\n  or, {hint}"  # the episodes' flag stays the last words, as without a camera


def _flags_hint(
    job: ConvertJob,
    src_all: SourceDataset,
    src: SourceDataset,
    problems: list[Problem],
    extra: list[str] | None = None,
) -> str | None:
    if any(not p.all_episodes and p.group not in GROUP_FLAGS for p in problems):
        return None
    flags = [*sorted({GROUP_FLAGS[p.group] for p in problems if p.group in GROUP_FLAGS}), *(extra or [])]
    bad = sorted({e for p in problems if p.group not in GROUP_FLAGS for e in p.all_episodes})
    if not bad:
        concerned = sorted({e for p in problems for e in p.all_episodes})
        if concerned and len(concerned) < len(src.episodes):
            return (
                f"run the same command with {' '.join(flags)} (or, to convert without the episodes "
                f"concerned, with {_keep_flag(job, src, concerned)})"
            )
        return f"run the same command with {' '.join(flags)}"
    if not [ep for ep in src.episodes if ep.index not in set(bad)]:
        return f"{NOTHING_LEFT}: restore the files named above"
    rest = len(src.episodes) - len(bad)
    return (
        f"to convert the other {rest} of {len(src_all.episodes)} episodes, run the same command with "
        + " ".join([_keep_flag(job, src, bad), *flags])
    )


@dataclass
class Findings:
    """Everything a scan found that does not refuse the conversion."""

    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value_errors: list[Problem] = field(default_factory=list)  # allowed with --allow_value_errors=true
    rows: list[dict[str, Any]] = field(default_factory=list)  # the registered dataset checks' rows


def find_problems(
    job: ConvertJob, src_all: SourceDataset, src: SourceDataset, deep: bool, found: Findings | None = None
) -> ConversionProblems | None:
    """Every problem of the episodes to convert, as one error (None when there is none).

    Structure first (files, columns, timestamps, video streams); then the value checks (NaN/Inf, stats)
    on the episodes whose files are readable, refused unless ``job.allow_value_errors``.
    """
    found = found if found is not None else Findings()
    problems = _scan(job, src, deep, found)
    if problems and not deep:  # refusing anyway: look deeper, so that the refusal lists every problem
        found.warnings.clear()
        problems = _scan(job, src, True, found)
    broken = {e for p in problems if p.group not in GROUP_FLAGS for e in p.all_episodes}
    readable = src.select([ep.index for ep in src.episodes if ep.index not in broken])
    if readable.episodes and not any(not p.all_episodes for p in problems):
        rows = dataset_check_rows(
            readable,
            recompute_stats=job.write.recompute_stats,
            retime=job.write.retime,
            allow_value_errors=job.allow_value_errors,
            timestamps_reported=any(p.group in TIMESTAMP_GROUPS for p in problems),
        )
        if rows.errors and not deep:  # refused by a check row: the deep scan lists the streams' problems too
            found.warnings.clear()
            problems = _scan(job, src, True, found)
        problems += rows.errors
        found.value_errors += rows.allowed
        found.warnings += rows.warnings
        found.rows = rows.rows
    if not problems:
        return None
    return ConversionProblems(src.root, problems, problems_hint(job, src_all, src, problems))


def _scan(job: ConvertJob, src: SourceDataset, deep: bool, found: Findings) -> list[Problem]:
    return scan_source(
        src,
        deep=deep,
        recompute_stats=job.write.recompute_stats,
        retime=job.write.retime,
        warnings=found.warnings,
        notes=found.notes,
    )


def _problem_dict(problem: Problem) -> dict[str, Any]:
    error = problem.error
    return {
        "group": problem.group,
        "episode": problem.episode,
        "file": error.path,
        "problem": error.problem,
        "fix": error.fix,
    }


def _record_findings(report: ConversionReport, src: SourceDataset, found: Findings, job: ConvertJob) -> None:
    """Notes, warnings and allowed value errors into the report (and the log, once each)."""
    for note in [*src.notes, *found.notes]:
        if note not in report.notes:
            report.notes.append(note)
    report.warnings = [_problem_dict(w) for w in found.warnings]
    report.checks = found.rows
    for warning in found.warnings[:20]:
        logger.warning("%s", warning.error)
    if len(found.warnings) > 20:
        logger.warning("... and %d more warnings (see --report_json)", len(found.warnings) - 20)
    if found.value_errors:
        report.value_errors = [_problem_dict(e) for e in found.value_errors]
        episodes = sorted({ep for e in found.value_errors for ep in e.all_episodes})
        note = (
            f"converted DESPITE {len(found.value_errors)} value error(s) in episode(s) "
            f"{_list_flag(episodes)} "
            "because of --allow_value_errors=true: training on them may give NaN losses or wrong "
            "normalisation"
        )
        report.notes.append(note)
        logger.warning("%s", note)


def run_conversion(job: ConvertJob, converter_name: str) -> ConversionReport:
    """Convert ``job.input`` into ``job.output`` ; raise ConversionError on bad input."""
    started = time.perf_counter()
    src_root, dst = check_paths(job)
    src_all = read_source(src_root)
    src = drop_features(select_episodes(src_all, job), job)
    report = ConversionReport(
        source=str(src_root),
        output=str(dst),
        source_version=src.version,
        converter=converter_name,
        dry_run=job.dry_run,
    )
    _summary(src, report)
    report.source_episodes = len(src_all.episodes)
    report.dropped_features = list(dict.fromkeys(job.drop_features or []))
    kept = {ep.index for ep in src.episodes}
    report.excluded_episodes = [ep.index for ep in src_all.episodes if ep.index not in kept]
    report.episode_map = {ep.index: new for new, ep in enumerate(src.episodes)}
    found = Findings()
    problems = find_problems(job, src_all, src, deep=job.dry_run, found=found)
    if problems is not None:
        raise problems
    _record_findings(report, src, found, job)
    report.checks_passed.append("metadata of the source is complete and consistent")
    report.checks_passed.append(
        "every episode's timestamps are frame_index / fps, as LeRobot's loader needs"
        if not job.write.retime
        else "timestamps re-timed to frame_index / fps (--retime=true)"
    )
    if found.rows and not (job.allow_value_errors and found.value_errors):
        report.checks_passed.append(
            f"the {len(found.rows)} dataset check row(s) of `lerobot-local check` have no error on the source"
        )
    if job.dry_run:
        report.checks_passed.append("every episode's video stream has the right frame count and rate")
        report.extra_files = {str(p.relative_to(src_root)): "(would be copied)" for p in src.extra_files}
        report.seconds["total"] = round(time.perf_counter() - started, 3)
        return report

    _clean_stale(dst)
    tmp = sibling(dst, TMP_SUFFIX)
    tmp.mkdir(parents=True)
    with removed_on_failure(tmp, dst, src_root):
        try:
            written = write_dataset(src, tmp, job.write)
        except ConversionProblems:
            raise
        except ConversionError as exc:  # list every problem, not only the first one the writer met
            shutil.rmtree(tmp, ignore_errors=True)
            problems = find_problems(job, src_all, src, deep=True)
            raise (problems or exc) from exc
        report.retimed = written.retimed
        if written.retimed:
            _log_retimed(written.retimed)
        report.seconds["convert"] = round(time.perf_counter() - started, 3)
        report.files_written = written.files_written
        report.bytes_written = written.bytes_written
        report.renumbered_episodes = written.renumbered_episodes
        report.renumbered_tasks = written.renumbered_tasks
        report.extra_files = written.extra_files
        report.notes.extend(n for n in written.notes if n not in report.notes)
        report.checks_passed.append("every episode's rows and video frame counts match meta/episodes.jsonl")
        if job.verify != "none":
            verify_started = time.perf_counter()
            result = _verify(src, tmp, job, written.renumbered_episodes)
            report.seconds["verify"] = round(time.perf_counter() - verify_started, 3)
            report.verification = asdict(result)
            report.checks_passed.extend(result.checks)
        _publish(tmp, dst)
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    return report


def _verify(src: SourceDataset, tmp: Path, job: ConvertJob, renumbered: dict[int, int]) -> Any:
    """Load the new copy with the installed LeRobot; anything LeRobot raises becomes a ConversionError."""
    from lerobot_local.convert.verify import verify_conversion  # imports LeRobot (seconds)

    try:
        return verify_conversion(
            src,
            tmp,
            job.verify,
            renumbered,
            plan_tasks(src),
            progress=job.write.progress,
            retime=job.write.retime,
        )
    except ConversionError:
        raise
    except Exception as exc:  # LeRobot's loader: FrameTimestampError, ValueError, KeyError, ...
        raise ConversionError(
            job.output,
            f"LeRobot cannot read the converted copy ({type(exc).__name__}: {str(exc)[:300]}); nothing was "
            "written (the scan before writing missed this problem of the source)",
            "run `lerobot-local check` on the source to find the episode, leave it out with "
            "--exclude_episodes=[...], and report this as a bug of lerobot-convert-local",
        ) from exc


def _log_retimed(retimed: dict[int, dict[str, float]]) -> None:
    worst = max(retimed.items(), key=lambda item: item[1]["max_s"])
    logger.info(
        "--retime=true: timestamps of %d episode(s) rewritten as frame_index / fps; they moved by up to "
        "%.4f s (episode %d), %.4f s on average (per episode in --report_json)",
        len(retimed),
        worst[1]["max_s"],
        worst[0],
        sum(r["mean_s"] for r in retimed.values()) / len(retimed),
    )
