"""``lerobot-local check PATH``: the structural and value checks on a dataset alone (v2.0, v2.1 or v3.0),
before or after conversion, no train config needed.

Prints one table (every problem found, counted), the episodes to leave out as a ready flag
(``--exclude_episodes=[...]`` for ``lerobot-convert-local`` on a v2.x folder, ``--dataset.episodes=[...]``
for ``lerobot-train`` on a v3.0 one), the conversion without a camera whose videos are missing or unreadable
(``--drop_features=...``; of a v3.0 folder, a v3.0 copy), optionally writes ``--report_json`` and a few
frames per camera as PNG (``--frames_dir``) so the lab can see that the right camera is under the right name.
Exit codes: 0 no error (warnings allowed), 1 errors, 2 usage error.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import draccus

from lerobot_local import compat
from lerobot_local.argv import bare_booleans, bool_fields
from lerobot_local.checks.dataset import STATS_FLAG, TOTALS_ROW, convert_command, copy_command
from lerobot_local.convert.scan import ROW_FLAGS, drop_flag
from lerobot_local.dataset import V2X, V30
from lerobot_local.dataset_frames import write_frames
from lerobot_local.facts import DatasetFacts, gather_dataset_facts
from lerobot_local.logs import setup_logging
from lerobot_local.results import CheckResult, flagged_episodes, render_table
from lerobot_local.runner import run_dataset_checks
from lerobot_local.settings import LocalSettings
from lerobot_local.values.settings import ValueCheckSettings

logger = logging.getLogger("lerobot_local.check")
USAGE = (
    "usage: lerobot-local check PATH [--report_json=FILE] [--frames_dir=DIR] [--frames_per_camera=3]\n"
    "       [--profile=NAME] [--deep_video_check=true] [--severity='{values:idle: off}'] "
    "[--values.KEY=VALUE ...]"
)


@dataclass
class CheckConfig:
    # The dataset folder (holds meta/info.json): v2.0, v2.1 or v3.0. Only read.
    path: Path | None = None
    # Write a machine-readable report (every result and finding, the episodes to leave out) here.
    report_json: Path | None = None
    # Write a few decoded frames per camera as PNG into this folder (to see which camera is which).
    frames_dir: Path | None = None
    # Frames written per camera with --frames_dir (spread over the episodes).
    frames_per_camera: int = 3
    # Dataset profile to check against (lerobot-local doctor lists them); also gives the gripper index.
    profile: str = ""
    # Open every video file (frame counts, rate); false checks the numbers and metadata only.
    deep_video_check: bool = True
    # Per-check severity overrides: {"check name or family": "error" | "warning" | "off"}.
    severity: dict[str, str] = field(default_factory=dict)
    # Thresholds of the value checks.
    values: ValueCheckSettings = field(default_factory=ValueCheckSettings)

    def settings(self) -> LocalSettings:
        """The same settings a train config's ``lerobot_local`` section would give these checks."""
        return LocalSettings(
            profile=self.profile,
            severity=self.severity,
            deep_video_check=self.deep_video_check,
            values=self.values,
        )


@dataclass
class CheckReport:
    path: str
    version: str | None
    results: list[CheckResult]
    flagged_episodes: list[int] = field(default_factory=list)
    keep_episodes: list[int] = field(default_factory=list)
    flag: str | None = None
    drop_command: str | None = None  # the conversion without the cameras whose files are missing/unreadable
    frames_written: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Every finding behind the rows (the rows list the first few)."""
        return [d for r in self.results for d in r.details]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "ok": not any(r.severity == "error" for r in self.results),
            "results": [r.to_dict() for r in self.results],
            "findings": self.findings,
            "flagged_episodes": self.flagged_episodes,
            "keep_episodes": self.keep_episodes,
            "flag": self.flag,
            "drop_command": self.drop_command,
            "frames_written": self.frames_written,
            "seconds": round(self.seconds, 3),
        }


class UsageError(Exception):
    pass


def _normalise(arg: str) -> str:
    """Accept --frames-dir as well as --frames_dir."""
    if not arg.startswith("--"):
        return arg
    name, eq, value = arg[2:].partition("=")
    return "--" + name.replace("-", "_") + eq + value


def parse_args(argv: list[str]) -> CheckConfig:
    args = list(argv)
    if args and not args[0].startswith("--"):
        args[0] = f"--path={args[0]}"
    args = bare_booleans([_normalise(a) for a in args], bool_fields(CheckConfig))  # --overwrite = =true
    try:
        cfg = draccus.parse(CheckConfig, args=args)
        cfg.settings()  # validates the severity overrides
    except SystemExit as exc:
        raise UsageError("invalid arguments") from exc
    except Exception as exc:  # draccus' DecodingError, the settings' ValueError
        raise UsageError(f"invalid arguments ({exc})") from exc
    if cfg.path is None:
        raise UsageError("PATH is required")
    if not Path(cfg.path).expanduser().is_dir():
        raise UsageError(f"{cfg.path}: no such directory; pass the dataset folder (it holds meta/)")
    return cfg


def all_episodes(dataset: DatasetFacts) -> list[int]:
    """Every episode index of the dataset (empty when it cannot be read)."""
    if dataset.source is not None:
        return [ep.index for ep in dataset.source.episodes]
    if dataset.local is not None:
        return list(range(int(dataset.local.info.get("total_episodes") or 0)))
    return []


def converter_flags(results: list[CheckResult]) -> list[str]:
    """The converter flags that fix some rows (``--retime=true``, ``--stats=recompute``, ...), each once."""
    flags = [ROW_FLAGS[r.name] for r in results if r.severity in ("warning", "error") and r.name in ROW_FLAGS]
    return list(dict.fromkeys(flags))


def drop_command(dataset: DatasetFacts, results: list[CheckResult], flags: list[str]) -> str | None:
    """The conversion that keeps every episode whose only findings are a camera's missing or unreadable
    files, without that camera (``--drop_features=...``), the other findings' episodes left out as in the
    exclusion flag; None when no camera's files are at fault, or nothing would be left.

    Built from the rows' details (which problem is whose camera), never from a fix's words: a row that
    mixes a camera's video and an episode's parquet file still leaves that episode out."""
    if dataset.version == V30:
        return _v30_drop_command(dataset, results)
    if dataset.version not in V2X:
        return None
    cameras: list[str] = []
    others: set[int] = set()
    for row in results:
        if row.severity not in ("warning", "error") or (flags and row.name in ROW_FLAGS):
            continue
        found = [d for d in row.details if isinstance(d, dict) and "camera" in d]
        if not found:
            others.update(row.episodes)
            continue
        for detail in found:
            if detail["camera"] and row.severity == "error":
                cameras.append(detail["camera"])
            else:
                others.update(detail.get("episodes") or ())
    keep = [e for e in all_episodes(dataset) if e not in others]
    if not cameras or not keep:
        return None
    return convert_command(dataset.root, sorted(others) or None, [*flags, drop_flag(cameras)])


def _v30_drop_command(dataset: DatasetFacts, results: list[CheckResult]) -> str | None:
    """The v3.0 copy without the cameras whose files are missing or unreadable (``--stats=recompute`` too
    when the stats row is an error): only when every error row is theirs or the stats', for the copy keeps
    every episode and refuses any other error (convert.v30_copy)."""
    cameras: list[str] = []
    flags: list[str] = []
    for row in results:
        if row.severity != "error" or row.name == TOTALS_ROW:  # the copy rewrites info.json's totals
            continue
        found = [d for d in row.details if isinstance(d, dict)]
        if ROW_FLAGS.get(row.name) == STATS_FLAG or (
            found and all(d.get("flag") == STATS_FLAG for d in found)
        ):
            flags = [STATS_FLAG]
            continue
        if not found or not all(d.get("camera") for d in found):
            return None
        cameras += [d["camera"] for d in found]
    if not cameras:
        return None
    return copy_command(dataset.root, [*flags, drop_flag(cameras)])


def exclusion_flag(
    dataset: DatasetFacts, flagged: list[int], keep: list[int], flags: list[str] | None = None
) -> str | None:
    """The command that leaves the flagged episodes out, with the converter flags that fix the other rows
    (None when nothing is to be done, or every episode is flagged)."""
    if dataset.version in V2X and (flags or (flagged and keep)):
        return convert_command(dataset.root, flagged if keep else None, flags) if keep else None
    if not flagged or not keep:
        return None
    return "--dataset.episodes=[" + ",".join(str(e) for e in keep) + "]"


def run_check(cfg: CheckConfig) -> CheckReport:
    """Run every registered dataset check on the folder (the same plugins preflight and lerobot-train run)."""
    started = time.perf_counter()
    root = Path(cfg.path).expanduser().resolve()
    dataset = gather_dataset_facts(root)
    report = CheckReport(
        path=str(root), version=dataset.version, results=run_dataset_checks(dataset, cfg.settings())
    )
    flags = converter_flags(report.results) if dataset.version in V2X else []
    # a row a converter flag fixes flags no episode to leave out
    report.flagged_episodes = flagged_episodes(
        [r for r in report.results if not (flags and r.name in ROW_FLAGS)]
    )
    episodes = all_episodes(dataset)
    report.keep_episodes = [e for e in episodes if e not in set(report.flagged_episodes)]
    report.flag = exclusion_flag(dataset, report.flagged_episodes, report.keep_episodes, flags)
    report.drop_command = drop_command(dataset, report.results, flags)
    readable = dataset.local is not None or dataset.source is not None
    if cfg.frames_dir is not None and readable:
        written, problems = write_frames(root, dataset.info, Path(cfg.frames_dir), cfg.frames_per_camera)
        report.frames_written = [str(p) for p in written]
        if problems:
            report.results.append(
                CheckResult("frames", "warning", "; ".join(problems[:3]), "see the video checks above")
            )
    report.seconds = time.perf_counter() - started
    return report


def _episodes_line(report: CheckReport) -> str | None:
    line = _exclusion_line(report)
    if report.drop_command:
        what = "to write a v3.0 copy" if report.version == V30 else "to convert"
        drop = f"{what} without the camera(s) whose files are missing or unreadable: {report.drop_command}"
        # "leaving every episode out would leave nothing" is no advice beside a command that keeps them all
        line = f"{line}\n{drop}" if line and (report.flag or not report.flagged_episodes) else drop
    return line


def _exclusion_line(report: CheckReport) -> str | None:
    flagged = report.flagged_episodes
    if not flagged:
        return f"to convert with the fixes above: {report.flag}" if report.flag else None
    if report.flag is None:
        return (
            f"every episode ({len(flagged)}) has findings, so leaving them out would leave nothing: "
            "read the rows above (a property of the whole recording is fixed at its source, not by dropping "
            "episodes)"
        )
    return f"episodes with findings ({len(flagged)}): {flagged}\nto leave them out: {report.flag}"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0 if argv else 2
    compat.force_offline()
    setup_logging()
    try:
        cfg = parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    report = run_check(cfg)
    print(render_table(report.results, f"lerobot-local check {report.path} ({report.version})"))
    line = _episodes_line(report)
    if line:
        print(line)
    if report.frames_written:
        print(f"frames written: {len(report.frames_written)} PNG file(s) under {cfg.frames_dir}")
    if cfg.report_json:
        Path(cfg.report_json).write_text(json.dumps(report.to_dict(), indent=2, default=str))
    return 1 if any(r.severity == "error" for r in report.results) else 0
