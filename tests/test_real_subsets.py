"""Real recordings of two robots committed under tests/data (tests/data/README.md: where from, licences):
`lerobot-local check` finds no value or timing problem on them as recorded (no false alarm), names the
missing camera files, and finds each damage of issue 31 by row, episode, joint and fix, with the stats
recomputed after the damage (so stale stats cannot give it away)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from test_damage_catalogue import DAMAGES, Damaged, _assert_found

pytestmark = [pytest.mark.any_line, pytest.mark.real_data]
DATA = Path(__file__).parent / "data"
SUBSETS = ["g1_inspire_v21", "reachy2_apple_v30"]
ISSUE_31 = [
    "one joint of one episode in degrees",
    "state and action swapped in one episode",
    "a command pinned at a limit the arm never reaches",
    "an unknown task_index",
]


def _check(root: Path):
    from lerobot_local.dataset_check import parse_args, run_check

    return run_check(parse_args([str(root)]))


@pytest.mark.parametrize("name", SUBSETS)
def test_real_subset_as_recorded(name: str, tmp_path: Path) -> None:
    root = tmp_path / name
    shutil.copytree(DATA / name, root)
    report = _check(root)
    own = [r for r in report.results if r.name.split(":")[0] in ("values", "fps", "tasks")]
    table = "\n".join(f"{r.name} {r.severity} {r.message[:200]}" for r in report.results)
    assert not [r for r in own if r.severity == "error"], table
    assert len([r for r in own if r.severity == "warning"]) <= 1, table  # at most one false alarm
    missing = [r for r in report.results if r.name.startswith("dataset") and r.severity == "error"]
    assert missing and ".mp4" in missing[0].message, table


@pytest.mark.parametrize("case", ISSUE_31)
@pytest.mark.parametrize("name", SUBSETS)
def test_real_subset_damage_is_found(name: str, case: str, tmp_path: Path) -> None:
    root = tmp_path / name
    shutil.copytree(DATA / name, root)
    baseline = {r.name: r.severity for r in _check(root).results if r.severity in ("error", "warning")}
    d = Damaged(root)
    expect = DAMAGES[case](d)
    if expect is None:
        pytest.skip(f"{name}: the damage does not apply (3 episodes, or the joint is never commanded)")
    d.save()
    _assert_found(case, name, expect, _check(root), baseline)
