"""The registered dataset checks (``lerobot_local_check_dataset``: values, timestamps, third-party plugins),
run by the converter on the episodes it is about to convert, before anything is written: the same rows
``lerobot-local check``, preflight and lerobot-train show, so that the converter never reports plain success
on data the check flags as an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lerobot_local.convert.errors import ConversionError, Problem
from lerobot_local.convert.source import STATS_GROUP, SourceDataset
from lerobot_local.facts import gather_dataset_facts
from lerobot_local.results import CheckResult
from lerobot_local.runner import run_dataset_checks
from lerobot_local.settings import LocalSettings

ALLOW_FLAG = "--allow_value_errors=true"
OWN_ROWS = ("dataset",)  # the converter's own scan lists these problems file by file
VALUE_ROWS = ("values",)  # what --allow_value_errors=true lets through
STATS_ROW = "values:stats"


@dataclass
class CheckRows:
    """The dataset checks' rows on the episodes to convert: errors refuse, warnings are reported."""

    errors: list[Problem] = field(default_factory=list)  # refuse the conversion
    allowed: list[Problem] = field(default_factory=list)  # value errors let through by --allow_value_errors
    warnings: list[Problem] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # every row, as check prints it


def _family(name: str) -> str:
    return name.split(":")[0]


def dataset_check_rows(
    src: SourceDataset,
    recompute_stats: bool = False,
    retime: bool = False,
    allow_value_errors: bool = False,
    timestamps_reported: bool = False,
) -> CheckRows:
    """Run every registered dataset check on ``src`` (its selected episodes only).

    Rows the conversion makes moot are dropped: the source's stats with ``recompute_stats``, its
    timestamps with ``retime`` (or when the converter's own scan already named them).
    """
    # the source as it will be converted: its selected episodes, without the cameras left out
    facts = replace(gather_dataset_facts(src.root), info=src.info, source=src, source_error=None)
    settings = LocalSettings(deep_video_check=False)  # the converter's scan opens the videos itself
    found = CheckRows()
    for row in run_dataset_checks(facts, settings):
        if _family(row.name) in OWN_ROWS:
            continue
        if row.name == STATS_ROW and recompute_stats:
            continue
        if _family(row.name) == "fps" and (retime or timestamps_reported):
            continue
        found.rows.append(row.to_dict())
        if row.severity == "error":
            value_error = _family(row.name) in VALUE_ROWS
            problem = _as_problem(src, row, value_error)
            (found.allowed if value_error and allow_value_errors else found.errors).append(problem)
        elif row.severity == "warning":
            found.warnings.append(_as_problem(src, row, False))
    return found


def _as_problem(src: SourceDataset, row: CheckResult, value_error: bool) -> Problem:
    """A check row as a problem of the conversion, its fix naming the converter's flags."""
    kept = {ep.index for ep in src.episodes}
    episodes = tuple(e for e in row.episodes if e in kept)
    fix = row.fix or "see `lerobot-local check`"
    if row.name == STATS_ROW:
        fix = "convert with --stats=recompute (the output's stats are then computed from the data)"
    elif episodes and row.severity == "error" and "--exclude_episodes" not in fix:
        fix += f"; or leave the episode(s) out with --exclude_episodes=[{','.join(map(str, episodes))}]"
    if value_error:
        fix += f" (or {ALLOW_FLAG} to convert anyway)"
    group = STATS_GROUP if row.name == STATS_ROW else f"check {row.name}"
    message = row.message.rstrip(".")
    problem = f"{row.name} {row.severity.upper()}: {message}"  # the row as lerobot-local check shows it
    named = next((d.get("file") for d in row.details if isinstance(d, dict) and d.get("file")), None)
    return Problem(group, ConversionError(src.root / named if named else None, problem, fix), None, episodes)
