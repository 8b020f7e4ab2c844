"""A seeded slice of the mutation run (benchmarks/mutations.py): 40 damages of the bundled sample (v2.1, and
its v3.0 conversion) through check, the converter's dry run and the real conversion: no traceback, and no
damage that breaks LeRobot's loader passes as clean."""

from __future__ import annotations

import sys

import pytest

from conftest import REPO, SAMPLE
from reliability_log import record

sys.path.insert(0, str(REPO / "benchmarks"))
import mutations  # the benchmark's engine, imported from its folder (after the path is set)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list:
    tmp = tmp_path_factory.mktemp("mutations")
    return mutations.run([SAMPLE, mutations.v30_of(SAMPLE, tmp)], count=40, seed=22)


def test_seeded_mutations_give_no_traceback(outcomes: list) -> None:
    summary = mutations.tally(outcomes)
    assert summary["mutations"] == 40 and len(summary["per_kind"]) >= 12, summary
    failures = [(o.kind, o.detail, o.tracebacks) for o in outcomes if o.tracebacks]
    assert not failures, failures
    record(
        "mutations",
        "40 seeded damages of the bundled sample (files, columns, dtypes, values, metadata)",
        "0 tracebacks in check, dry run and conversion",
        f"{summary['mutations']} mutations, {summary['tracebacks']} tracebacks",
        trials=40,
    )


def test_converted_copies_load_in_lerobot(outcomes: list) -> None:
    """Whatever the converter reports as converted, LeRobot loads (first, last and random items)."""
    misses = [(o.kind, o.detail, o.output_loader) for o in outcomes if o.miss == "convert"]
    assert not misses, misses


def test_no_loader_breaking_v30_damage_passes_check(outcomes: list) -> None:
    misses = [(o.kind, o.detail, o.loader) for o in outcomes if o.miss == "check"]
    assert not misses, misses


@pytest.mark.parametrize(
    "damage",
    [
        "feature action undeclared",
        "feature action of shape [0]",
        "feature action of shape [2, 3]",
        "feature frame_index of shape [7]",
        "column timestamp dropped",
        "stats.json truncated",
        "tasks.parquet truncated",
    ],
)
def test_v30_damage_that_breaks_lerobots_loader_is_an_error_row(damage: str, v30_dataset, tmp_path) -> None:
    """The kinds of v3.0 damage the mutation run once found passing as clean (LeRobot's loader raises)."""
    import json
    import shutil

    import pyarrow.parquet as pq

    from lerobot_local.dataset_check import parse_args, run_check

    root = tmp_path / "v30"
    shutil.copytree(v30_dataset, root)
    data = next(root.glob("data/*/*.parquet"))
    if damage == "feature action undeclared":
        info = json.loads((root / "meta/info.json").read_text())
        del info["features"]["action"]
        (root / "meta/info.json").write_text(json.dumps(info))
    elif damage.startswith("feature ") and " of shape " in damage:
        key, shape = damage.removeprefix("feature ").split(" of shape ")
        info = json.loads((root / "meta/info.json").read_text())
        info["features"][key]["shape"] = json.loads(shape)
        (root / "meta/info.json").write_text(json.dumps(info))
    elif damage == "column timestamp dropped":
        pq.write_table(pq.read_table(data).drop(["timestamp"]), data)
    elif damage == "stats.json truncated":
        (root / "meta/stats.json").write_text((root / "meta/stats.json").read_text()[:40])
    else:
        blob = (root / "meta/tasks.parquet").read_bytes()
        (root / "meta/tasks.parquet").write_bytes(blob[: len(blob) // 2])
    report = run_check(parse_args([str(root), "--deep_video_check=false"]))
    rows = {r.name: r for r in report.results if r.severity == "error"}
    assert any(name.startswith("dataset") for name in rows), [r.to_dict() for r in report.results]
    assert all(r.fix for r in rows.values())
