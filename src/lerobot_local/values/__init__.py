"""Value checks: the numbers a policy learns from (NaN, constant joints, frozen/idle/jumping/saturated
joints, a gripper that never moves, stats that disagree with the data), shared by the before-train check
(:mod:`lerobot_local.checks.values`) and ``lerobot-local check PATH`` (:mod:`lerobot_local.dataset_check`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.dataset import read_stats_json
from lerobot_local.results import CheckResult
from lerobot_local.values.data import ValueData, read_v2x, read_v30
from lerobot_local.values.findings import ALL_CHECKS, FIXES, Finding, ScanContext
from lerobot_local.values.scan import scan
from lerobot_local.values.settings import ValueCheckSettings
from lerobot_local.values.timing import check_timing, timing_results

__all__ = [
    "Finding",
    "ScanContext",
    "ValueCheckSettings",
    "ValueData",
    "check_timing",
    "check_v2x",
    "check_v30",
    "flagged_episodes",
    "timing_results",
    "to_results",
]


def check_v30(
    root: Path,
    info: dict[str, Any],
    settings: ValueCheckSettings,
    normalised: set[str] | None = None,
    gripper_index: int | None = None,
) -> tuple[ValueData, list[Finding]]:
    """Read a v3.0 dataset's numeric columns once and run every value check."""
    data = read_v30(root, info, settings.features)
    ctx = ScanContext(settings, normalised, gripper_index, stats_json=read_stats_json(root))
    return data, scan(data, ctx)


def check_v2x(
    src: Any,
    settings: ValueCheckSettings,
    normalised: set[str] | None = None,
    gripper_index: int | None = None,
) -> tuple[ValueData, list[Finding]]:
    """The same on a v2.x source (a :class:`lerobot_local.convert.source.SourceDataset`); a v2.1
    source's per-episode stats are compared with each episode. ``meta/stats.json`` describes every episode
    of the source: it is compared only when they are all selected (the converter's output aggregates its
    stats from the kept episodes, never from that file)."""
    files = [src.data_file(ep.index) for ep in src.episodes]
    data = read_v2x(src.root, src.info, files, settings.features)
    ctx = ScanContext(
        settings,
        normalised,
        gripper_index,
        stats_json=None if getattr(src, "subset", False) else read_stats_json(src.root),
        episode_stats=src.stats,
        episode_stats_order=[ep.index for ep in src.episodes],
        stats_label="meta/stats.json",
    )
    return data, scan(data, ctx)


def flagged_episodes(findings: list[Finding]) -> list[int]:
    """Episodes with at least one error or warning."""
    return sorted(
        {f.episode for f in findings if f.episode is not None and f.severity in ("error", "warning")}
    )


def to_results(
    data: ValueData,
    findings: list[Finding],
    settings: ValueCheckSettings,
    exclude_fix: Callable[[list[int]], str] | None = None,
) -> list[CheckResult]:
    """One table row per check that found something (all findings counted, the first few listed), or one
    ``values`` ok row; ``exclude_fix(episodes)`` says how to leave the flagged episodes out (never all of
    them: a finding in every episode is the recording's, and dropping every episode is no fix)."""
    by_check: dict[str, list[Finding]] = {}
    for finding in findings:
        by_check.setdefault(finding.check, []).append(finding)
    total = int(np.unique(data.episode).size) if data.frames else 0
    results = []
    for check in ALL_CHECKS:
        found = by_check.get(check)
        if not found:
            continue
        if all(f.severity == "ok" for f in found):
            results.append(
                CheckResult(
                    check, "ok", " ".join(f.message for f in found), details=tuple(f.to_dict() for f in found)
                )
            )
            continue
        severity = "error" if any(f.severity == "error" for f in found) else "warning"
        episodes = flagged_episodes(found)
        shown = " ".join(f.message for f in found[: settings.max_listed])
        more = f" (and {len(found) - settings.max_listed} more)" if len(found) > settings.max_listed else ""
        where = f" in {len(episodes)} of {total} episode(s)" if episodes else ""
        message = f"{len(found)} finding(s){where}: {shown}{more}"
        fix = FIXES[check]
        if episodes and exclude_fix is not None:
            if len(episodes) < total:
                fix += "; " + exclude_fix(episodes)
            else:
                fix += "; every episode has it, so leaving episodes out is no fix"
        results.append(
            CheckResult(
                check,
                severity,
                message,
                fix,
                episodes=tuple(episodes),
                details=tuple(f.to_dict() for f in found),
            )
        )
    for problem in data.name_problems:
        results.append(
            CheckResult(
                "values:names",
                "warning",
                f"{data.root}/{problem}.",
                "write one name per value in features[KEY].names of meta/info.json (a flat list, or "
                '{"motors": [...]})',
            )
        )
    if data.unreadable:
        results.append(
            CheckResult(
                "values",
                "skipped",
                f"{len(data.unreadable)} data file(s) could not be read and were not checked (the dataset "
                "row names them): " + ", ".join(data.unreadable[:3]) + ".",
            )
        )
    if not any(r.severity in ("error", "warning") for r in results):
        keys = ", ".join(data.features) or "no float feature"
        results.insert(
            0,
            CheckResult(
                "values",
                "ok",
                f"{data.frames} frames of {keys} in {total} episode(s) are finite and move, with no idle "
                "heads/tails, frozen frames, jumps or clipped joints, and the stats agree with them.",
            ),
        )
    return results
