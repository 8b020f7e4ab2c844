"""``lerobot-local check PATH``: the structural and value checks on a dataset alone (v2.0, v2.1 or v3.0),
before or after conversion, no train config needed.

Prints one table (every problem found, counted), the episodes to leave out as a ready flag
(``--exclude_episodes=[...]`` for ``lerobot-convert-local`` on a v2.x folder, ``--dataset.episodes=[...]``
for ``lerobot-train`` on a v3.0 one), optionally writes ``--report_json`` and a few frames per camera as PNG
(``--frames_dir``) so the lab can see that the right camera is under the right name.
Exit codes: 0 no error (warnings allowed), 1 errors, 2 usage error.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.results import CheckResult, apply_severity, render_table
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


@dataclass
class CheckReport:
    path: str
    version: str | None
    results: list[CheckResult]
    findings: list[dict[str, Any]] = field(default_factory=list)
    problems: dict[str, Any] | None = None
    flagged_episodes: list[int] = field(default_factory=list)
    keep_episodes: list[int] = field(default_factory=list)
    flag: str | None = None
    frames_written: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "ok": not any(r.severity == "error" for r in self.results),
            "results": [r.to_dict() for r in self.results],
            "findings": self.findings,
            "structure_problems": self.problems,
            "flagged_episodes": self.flagged_episodes,
            "keep_episodes": self.keep_episodes,
            "flag": self.flag,
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
    import draccus

    args = list(argv)
    if args and not args[0].startswith("--"):
        args[0] = f"--path={args[0]}"
    args = [_normalise(a) for a in args]
    try:
        cfg = draccus.parse(CheckConfig, args=args)
    except SystemExit as exc:
        raise UsageError("invalid arguments") from exc
    except Exception as exc:  # draccus' DecodingError
        raise UsageError(f"invalid arguments ({exc})") from exc
    if cfg.path is None:
        raise UsageError("PATH is required")
    if not Path(cfg.path).expanduser().is_dir():
        raise UsageError(f"{cfg.path}: no such directory; pass the dataset folder (it holds meta/)")
    # YAML reads a bare `off` in --severity='{name: off}' as false
    cfg.severity = {k: "off" if v in ("False", "false") else v for k, v in cfg.severity.items()}
    bad = {k: v for k, v in cfg.severity.items() if v not in ("error", "warning", "off")}
    if bad:
        raise UsageError(f"--severity has invalid values {bad}; use error, warning or off")
    return cfg


def _gripper_index(cfg: CheckConfig) -> int | None:
    from lerobot_local.checks.values import profile_gripper_index

    return profile_gripper_index(cfg.profile)


def _read_info(root: Path) -> tuple[dict[str, Any] | None, str | None]:
    path = root / "meta" / "info.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path} is missing or not valid JSON ({type(exc).__name__})"
    if not isinstance(info, dict):
        return None, f"{path} is not a JSON object"
    return info, None


@dataclass(frozen=True)
class _Facts:
    """The part of the run facts the dataset check reads (a dataset alone has no train config)."""

    dataset_root: Path
    dataset_info: dict[str, Any] | None
    dataset_info_error: str | None


def check_v30(root: Path, info: dict[str, Any], cfg: CheckConfig, report: CheckReport) -> Any:
    from lerobot_local.checks.dataset import check_dataset
    from lerobot_local.checks.dataset_info import local_dataset
    from lerobot_local.checks.fps import check_timestamps, check_videos
    from lerobot_local.checks.values import train_without
    from lerobot_local.values import check_v30 as values_v30
    from lerobot_local.values import flagged_episodes, to_results

    structure = check_dataset(_Facts(root, info, None))
    report.results.append(structure)
    ds = local_dataset(root, info)
    if ds is None:
        return None
    problems = check_timestamps(ds) + (check_videos(ds) if cfg.deep_video_check else [])
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        report.results.append(
            CheckResult(
                "fps", "error", f"{len(problems)} problem(s): {shown}", "correct fps or re-record/re-encode"
            )
        )
    else:
        report.results.append(CheckResult("fps", "ok", f"{ds.fps} fps agrees with every episode"))
    if cfg.profile:
        report.results += _profile(cfg.profile, root)
    if not cfg.values.enabled:
        return ds
    total = int(info.get("total_episodes") or 0)
    data, findings = values_v30(root, info, cfg.values, None, _gripper_index(cfg))
    report.results += to_results(data, findings, cfg.values, lambda eps: train_without(eps, total))
    report.findings = [f.to_dict() for f in findings]
    report.flagged_episodes = flagged_episodes(findings)
    if report.flagged_episodes:
        report.keep_episodes = [e for e in range(total) if e not in set(report.flagged_episodes)]
        report.flag = "--dataset.episodes=[" + ",".join(str(e) for e in report.keep_episodes) + "]"
    return ds


def _profile(name: str, root: Path) -> list[CheckResult]:
    from lerobot_local.profiles import get_profile

    try:
        return get_profile(name).check(root)
    except KeyError as exc:
        return [CheckResult("profile", "error", str(exc.args[0]), "run `lerobot-local doctor` to list them")]


def check_v2x(root: Path, cfg: CheckConfig, report: CheckReport) -> Any:
    from lerobot_local.convert.errors import ConversionError, ConversionProblems
    from lerobot_local.convert.scan import scan_source
    from lerobot_local.convert.source import read_source
    from lerobot_local.values import check_v2x as values_v2x
    from lerobot_local.values import flagged_episodes, to_results

    try:
        src = read_source(root)
    except ConversionError as exc:
        report.results.append(CheckResult("dataset", "error", str(exc), exc.fix))
        return None
    problems = scan_source(src, deep=cfg.deep_video_check)
    bad_files: list[int] = []
    if problems:
        error = ConversionProblems(root, problems)
        bad_files = error.episodes
        report.problems = error.to_dict()
        for group, members in error.groups().items():
            shown = "; ".join(str(m.error) for m in members[:3])
            more = f" (and {len(members) - 3} more)" if len(members) > 3 else ""
            report.results.append(
                CheckResult(
                    f"dataset:{group.replace(' ', '_')}",
                    "error",
                    f"{len(members)} problem(s): {shown}{more}",
                    members[0].error.fix,
                )
            )
    else:
        report.results.append(
            CheckResult(
                "dataset",
                "ok",
                f"{root}: {src.version}, {len(src.episodes)} episodes, {src.total_frames} frames, every file "
                "present" + (" and every video stream as declared" if cfg.deep_video_check else ""),
            )
        )
    if cfg.profile:
        report.results.append(
            CheckResult(f"profile:{cfg.profile}", "skipped", "profiles describe v3.0 datasets: convert first")
        )
    flagged: list[int] = list(bad_files)
    data = None
    if cfg.values.enabled:
        readable = src.select([ep.index for ep in src.episodes if ep.index not in set(bad_files)])
        data, findings = values_v2x(readable, cfg.values, None, _gripper_index(cfg))
        report.results += _timestamps(data)
        flag = _exclude_flag(root)
        report.results += to_results(
            data, findings, cfg.values, lambda eps: f"convert without them: {flag(eps)}"
        )
        report.findings = [f.to_dict() for f in findings]
        flagged += flagged_episodes(findings)
    report.flagged_episodes = sorted(set(flagged))
    if report.flagged_episodes:
        report.keep_episodes = [
            ep.index for ep in src.episodes if ep.index not in set(report.flagged_episodes)
        ]
        report.flag = _exclude_flag(root)(report.flagged_episodes)
    return src


def _exclude_flag(root: Path):
    out = root.with_name(root.name + "_v30")

    def flag(episodes: list[int]) -> str:
        return (
            f"lerobot-convert-local --input={shlex.quote(str(root))} --output={shlex.quote(str(out))} "
            f"--exclude_episodes=[{','.join(str(e) for e in episodes)}]"
        )

    return flag


def _timestamps(data: Any) -> list[CheckResult]:
    """A v2.x source's timestamps are 1/fps apart within each episode (LeRobot's 1e-4 s tolerance)."""
    from lerobot_local.checks.fps import TOLERANCE_S

    if data.timestamp is None or data.frames < 2:
        return []
    same = data.episode[1:] == data.episode[:-1]
    step = np.diff(data.timestamp)
    bad = same & (np.abs(step - 1.0 / data.fps) > TOLERANCE_S)
    if not bad.any():
        return [CheckResult("fps", "ok", f"{data.fps:g} fps agrees with every episode's timestamps")]
    rows = np.flatnonzero(bad)
    shown = "; ".join(
        f"{data.files[int(data.file_of_row[r])]}: episode {int(data.episode[r])} timestamps "
        f"{data.timestamp[r]:.6f} -> {data.timestamp[r + 1]:.6f}"
        for r in rows[:3]
    )
    return [
        CheckResult(
            "fps",
            "error",
            f"{rows.size} gap(s) that are not 1/{data.fps:g} s: {shown}",
            "correct fps in meta/info.json to the real recording rate, or re-record",
        )
    ]


def run_check(cfg: CheckConfig) -> CheckReport:
    started = time.perf_counter()
    root = Path(cfg.path).expanduser().resolve()
    info, error = _read_info(root)
    version = info.get("codebase_version") if info else None
    report = CheckReport(path=str(root), version=version if isinstance(version, str) else None, results=[])
    dataset = None
    if info is None:
        report.results.append(
            CheckResult("dataset", "error", error or "", "pass a LeRobot dataset folder (it holds meta/)")
        )
    elif version == "v3.0":
        dataset = check_v30(root, info, cfg, report)
    elif version in ("v2.0", "v2.1"):
        dataset = check_v2x(root, cfg, report)
    else:
        report.results.append(
            CheckResult(
                "dataset",
                "error",
                f"{root}/meta/info.json has codebase_version={version!r}",
                "check a v2.0, v2.1 or v3.0 LeRobot dataset",
            )
        )
    report.results = apply_severity(report.results, cfg.severity)
    if cfg.frames_dir is not None and dataset is not None:
        from lerobot_local.dataset_frames import write_frames

        written, problems = write_frames(root, info, Path(cfg.frames_dir), cfg.frames_per_camera)
        report.frames_written = [str(p) for p in written]
        if problems:
            report.results.append(
                CheckResult("frames", "warning", "; ".join(problems[:3]), "see the video checks above")
            )
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str]) -> int:
    from lerobot_local import compat
    from lerobot_local.logs import setup_logging

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
    if report.flag:
        print(
            f"episodes with findings ({len(report.flagged_episodes)}): {report.flagged_episodes}\n"
            f"to leave them out: {report.flag}"
        )
    if report.frames_written:
        print(f"frames written: {len(report.frames_written)} PNG file(s) under {cfg.frames_dir}")
    if cfg.report_json:
        Path(cfg.report_json).write_text(json.dumps(report.to_dict(), indent=2, default=str))
    return 1 if any(r.severity == "error" for r in report.results) else 0
