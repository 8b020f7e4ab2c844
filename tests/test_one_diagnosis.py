"""One diagnosis, one fix (issue 31): `lerobot-local check` and the converter (dry and real run) say the same
about the same data, the command `check` prints is one the converter then accepts, and clock timestamps are
told from a wrong fps by the data (steady step vs jitter, an integer rate, the videos' own rate)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lerobot_local.convert.errors import ConversionProblems
from lerobot_local.convert.run import ConvertJob, run_conversion
from lerobot_local.convert.writer import WriteOptions
from lerobot_local.dataset_check import parse_args, run_check

pytestmark = pytest.mark.any_line
EP = "data/chunk-000/episode_{:06d}.parquet"


def _column(src: Path, episode: int, name: str, change) -> None:
    path = src / EP.format(episode)
    table = pq.read_table(path)
    at = table.schema.get_field_index(name)
    values = change(table[name].to_numpy().astype(np.float64))
    pq.write_table(
        table.set_column(at, name, pa.array(values.astype(table.schema.field(name).type.to_pandas_dtype()))),
        path,
    )


def _flags(command: str) -> dict[str, object]:
    """The flags of a printed `lerobot-convert-local` command as ConvertJob/WriteOptions arguments."""
    args = dict(a[2:].split("=", 1) for a in shlex.split(command)[1:])
    return {
        "exclude_episodes": json.loads(args["exclude_episodes"]) if "exclude_episodes" in args else None,
        "retime": args.get("retime") == "true",
        "recompute_stats": args.get("stats") == "recompute",
    }


def _convert(src: Path, out: Path, dry_run: bool = False, **flags) -> object:
    write = WriteOptions(
        progress=False, retime=flags.pop("retime", False), recompute_stats=flags.pop("recompute_stats", False)
    )
    return run_conversion(
        ConvertJob(input=src, output=out, write=write, dry_run=dry_run, **flags), "local_v21"
    )


def _row(report, name: str):
    return next(r for r in report.results if r.name == name)


def test_clock_with_a_long_step_is_one_retime_and_the_printed_command_converts(
    copy_dataset, tmp_path
) -> None:
    """The industrial arm: clock timestamps in every episode, one of them with a long step. check: one
    fps:timestamps row with --retime=true, no episode to drop; its printed command converts (dry and real)."""
    src = copy_dataset("sample")
    rng = np.random.default_rng(0)
    for episode in range(4):
        _column(src, episode, "timestamp", lambda ts: ts + 0.03 + rng.normal(0, 0.004, ts.size))
    _column(src, 1, "timestamp", lambda ts: np.where(np.arange(ts.size) >= 20, ts + 0.08, ts))
    report = run_check(parse_args([str(src)]))
    row = _row(report, "fps:timestamps")
    assert row.severity == "error" and "--retime=true" in row.fix and not row.episodes, row
    assert not [r for r in report.results if r.name == "fps:gap"], report.results
    assert report.flagged_episodes == [] and report.flag.endswith("--retime=true"), report.flag
    for dry_run in (True, False):
        with pytest.raises(ConversionProblems) as refused:
            _convert(src, tmp_path / "out", dry_run=dry_run)
        assert str(refused.value).rstrip().endswith("run the same command with --retime=true"), refused.value
    assert _convert(src, tmp_path / "out", dry_run=True, **_flags(report.flag)).episodes == 4
    assert _convert(src, tmp_path / "out", **_flags(report.flag)).episodes == 4


def test_steady_step_at_no_integer_rate_is_retimed_not_a_wrong_fps(copy_dataset, tmp_path) -> None:
    """The bimanual SO-101: steps of exactly 1.1 periods (27.27 fps at fps=30): no integer fps holds that
    rate, so check and converter both say --retime=true (not 'set fps')."""
    src = copy_dataset("sample")
    for episode in range(4):
        _column(src, episode, "timestamp", lambda ts: np.arange(ts.size) * 1.1 / 30)
    report = run_check(parse_args([str(src)]))
    row = _row(report, "fps:timestamps")
    assert "27.27 fps, a rate no integer fps" in row.message and "--retime=true" in row.fix, row
    assert _row(report, "fps").severity == "ok"
    with pytest.raises(ConversionProblems) as refused:
        _convert(src, tmp_path / "out", dry_run=True)
    assert "a rate no integer fps" in str(refused.value) and "--retime=true" in str(refused.value)
    assert _convert(src, tmp_path / "out", **_flags(report.flag)).episodes == 4


@pytest.mark.parametrize(
    ("info_fps", "stamp_rate", "check", "says"),
    [
        (15, 30, "fps", "set fps in meta/info.json to 30"),  # timestamps and videos at 30: info.json is wrong
        (
            30,
            15,
            "fps:timestamps",
            "the videos hold 30 frames per second",
        ),  # videos at info's 30: stamps wrong
    ],
)
def test_the_videos_decide_between_fps_and_timestamps(
    copy_dataset, info_fps, stamp_rate, check, says
) -> None:
    src = copy_dataset("sample")
    info = json.loads((src / "meta/info.json").read_text())
    info["fps"] = info_fps
    (src / "meta/info.json").write_text(json.dumps(info))
    for episode in range(4):
        _column(src, episode, "timestamp", lambda ts: np.arange(ts.size) / stamp_rate)
    report = run_check(parse_args([str(src), "--deep_video_check=false"]))
    row = _row(report, check)
    assert row.severity == "error" and (says in row.message or says in row.fix), row


def test_unknown_task_index_is_an_error_naming_the_episode_in_check_and_converter(copy_dataset, tmp_path):
    """LeRobot raises 'No task string found for task_index=7' on such an episode: check and converter name
    it; the exclusion flag check prints converts the rest."""
    src = copy_dataset("sample")
    _column(src, 2, "task_index", lambda t: np.full(t.size, 7.0))
    report = run_check(parse_args([str(src)]))
    row = _row(report, "tasks")
    assert row.severity == "error" and row.episodes == (2,), row
    assert "episode 2, frame 0: task_index 7" in row.message and "meta/tasks.jsonl" in row.fix, row
    assert report.flag.endswith("--exclude_episodes=[2]"), report.flag
    with pytest.raises(ConversionProblems) as refused:
        _convert(src, tmp_path / "out", dry_run=True)
    assert "task_index 7" in str(refused.value) and "--exclude_episodes=[2]" in str(refused.value)
    assert _convert(src, tmp_path / "out", **_flags(report.flag)).episodes == 3
