"""The value checks ``lerobot-local check`` runs (NaN/Inf, stats that disagree with the data, ...), run by the
converter on the source before anything is written, so that it never reports plain success on data the
check would flag as an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lerobot_local.convert.errors import ConversionError, Problem
from lerobot_local.convert.source import SourceDataset
from lerobot_local.values import check_v2x
from lerobot_local.values.scan import STATS, Finding
from lerobot_local.values.settings import ValueCheckSettings

logger = logging.getLogger("lerobot_local." + __name__.rsplit(".", 1)[-1])
VALUE_ERRORS = "value errors"
ALLOW_FLAG = "--allow_value_errors=true"


@dataclass
class ValueProblems:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def value_problems(src: SourceDataset, recompute_stats: bool = False) -> ValueProblems:
    """The value checks' findings on the episodes of ``src``: errors refuse the conversion, warnings are
    reported. With ``recompute_stats`` the source's stats are not used, so their findings are dropped."""
    _, findings = check_v2x(src, ValueCheckSettings())
    result = ValueProblems()
    for finding in findings:
        if recompute_stats and finding.check == STATS:
            continue
        problem = _as_problem(src.root, finding)
        (result.errors if finding.severity == "error" else result.warnings).append(problem)
    return result


def _as_problem(root: Path, finding: Finding) -> Problem:
    """A finding as a problem of the conversion, its fix naming the converter's flags."""
    from lerobot_local.values.scan import FIXES  # the check's own fix text

    where = f"--exclude_episodes=[{finding.episode}]" if finding.episode is not None else None
    if finding.check == STATS:
        fix = "convert with --stats=recompute (the output's stats are then computed from the data)"
    else:
        fix = FIXES.get(finding.check, "see `lerobot-local check`")
        if where:
            fix += f"; leave the episode out with {where}"
    if finding.severity == "error":
        fix += f" (or {ALLOW_FLAG} to convert it anyway)"
    path = root / finding.file if finding.file else root
    message = finding.message
    prefix = f"{finding.file}: "
    if finding.file and message.startswith(prefix):
        message = message[len(prefix) :]
    group = VALUE_ERRORS if finding.severity == "error" else finding.check
    if finding.check == STATS:
        group = "stats"  # --stats=recompute fixes it (scan.GROUP_FLAGS)
    return Problem(group, ConversionError(path, message, fix), finding.episode)
