"""What real recordings do to the converter (issue 22): a hand-written v2.1 set converts with notes, every
problem is listed at once, timestamps LeRobot would reject are named before writing (--retime=true for a
clock), value errors refuse by default, a v3.0 dataset with wrong stats gets a corrected copy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import run_cli, tree_digest
from lerobot_local.convert.errors import ConversionError, ConversionProblems
from lerobot_local.convert.run import ConvertJob, run_conversion
from lerobot_local.convert.writer import WriteOptions

EP = "data/chunk-000/episode_{:06d}.parquet"


def _convert(src: Path, out: Path, **kwargs) -> object:
    write = WriteOptions(
        progress=False,
        retime=kwargs.pop("retime", False),
        recompute_stats=kwargs.pop("recompute_stats", False),
    )
    return run_conversion(ConvertJob(input=src, output=out, write=write, **kwargs), "local_v21")


def _edit(src: Path, episode: int, change) -> None:
    path = src / EP.format(episode)
    pq.write_table(change(pq.read_table(path)), path)


def _set(table: pa.Table, name: str, values: np.ndarray) -> pa.Table:
    at = table.schema.get_field_index(name)
    return table.set_column(
        at, name, pa.array(list(values) if values.ndim > 1 else values, table.schema.field(name).type)
    )


def _timestamps(src: Path, episode: int, change) -> None:
    _edit(src, episode, lambda t: _set(t, "timestamp", change(t["timestamp"].to_numpy().astype(np.float64))))


def test_hand_written_v21_set_converts_with_notes(copy_dataset, tmp_path: Path) -> None:
    """No episodes_stats.jsonl, a {chunk_index} template, no task_index/index columns, float64 columns
    declared float32: converted (LeRobot loads every frame equal), each derivation said once."""
    src = copy_dataset("sample")
    (src / "meta/episodes_stats.jsonl").unlink()
    info = json.loads((src / "meta/info.json").read_text())
    info["data_path"] = "data/chunk-{chunk_index:03d}/episode_{episode_index:06d}.parquet"
    for key in ("index", "task_index"):
        del info["features"][key]
    (src / "meta/info.json").write_text(json.dumps(info))
    for episode in range(4):

        def change(t: pa.Table) -> pa.Table:
            t = t.drop_columns(["index", "task_index"])
            for name in ("observation.state", "action"):
                t = t.set_column(t.schema.get_field_index(name), name, t[name].cast(pa.list_(pa.float64())))
            return t

        _edit(src, episode, change)
    before = tree_digest(src)
    report = _convert(src, tmp_path / "out", verify="full")
    notes = "\n".join(report.notes)
    for said in (
        "{chunk_index}",
        "episodes_stats.jsonl is absent",
        "stored as double",
        "index is absent",
        "task_index is absent",
    ):
        assert said in notes, notes
    assert notes.count("observation.state is stored as double") == 1, notes
    assert report.verification["frames_compared"] == 180
    info_out = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert {"index", "task_index"} <= set(info_out["features"])
    assert tree_digest(src) == before


def test_every_metadata_problem_at_once(copy_dataset, tmp_path: Path) -> None:
    """Bad fps, a garbled tasks line, a garbled stats line, a v3.0 template: one refusal lists all four."""
    src = copy_dataset("sample")
    info = json.loads((src / "meta/info.json").read_text())
    info["fps"] = "30"
    info["video_path"] = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    (src / "meta/info.json").write_text(json.dumps(info))
    with (src / "meta/tasks.jsonl").open("a") as fh:
        fh.write("{oops\n")
    with (src / "meta/episodes_stats.jsonl").open("a") as fh:
        fh.write("[1, 2]\n")
    proc = run_cli(
        "lerobot-convert-local", f"--input={src}", f"--output={tmp_path / 'out'}", "--dry_run=true"
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    for said in (
        "fps='30'",
        "{file_index}",
        "tasks.jsonl: line 2 is not valid JSON",
        "episodes_stats.jsonl: line 5 is not a JSON object",
    ):
        assert said in proc.stderr, proc.stderr
    assert "4 problems" in proc.stderr, proc.stderr


def test_missing_columns_and_wrong_dtypes_listed_together(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("sample")
    _edit(src, 1, lambda t: t.drop_columns(["action"]))
    _edit(
        src,
        2,
        lambda t: t.set_column(
            t.schema.get_field_index("observation.state"),
            "observation.state",
            t["observation.state"].cast(pa.list_(pa.string())),
        ),
    )
    with pytest.raises(ConversionProblems) as raised:
        _convert(src, tmp_path / "out", dry_run=True)
    text = str(raised.value)
    assert "episode_000001.parquet: lacks the column action" in text, text
    assert "episode_000002.parquet: stores column observation.state as string" in text, text
    assert "--exclude_episodes=[1,2]" in text, text


def test_timestamp_gap_is_named_before_writing(copy_dataset, tmp_path: Path) -> None:
    """The latter half of episode 1 shifted +1 s: refused naming episode and frame (not 'report this as a
    bug', not FrameTimestampError); leaving the episode out converts the rest."""
    src = copy_dataset("sample")
    _timestamps(src, 1, lambda ts: np.where(np.arange(ts.size) >= 20, ts + 1.0, ts))
    for dry_run in (True, False):
        with pytest.raises(ConversionProblems) as raised:
            _convert(src, tmp_path / "out", dry_run=dry_run)
        text = str(raised.value)
        assert "episode 1 has a timestamp gap of 1.0333 s between frames 19 and 20" in text, text
        assert "--exclude_episodes=[1]" in text and "bug" not in text, text
    assert not (tmp_path / "out").exists()
    report = _convert(src, tmp_path / "out", exclude_episodes=[1])
    assert report.episodes == 3


def test_clock_timestamps_refused_then_retimed(copy_dataset, tmp_path: Path) -> None:
    """Wall-clock stamps (start at 0.04 s, jitter up to 8 ms): refused with --retime=true as the fix; with it,
    the copy holds frame_index / fps, the report says how far each episode moved, verify passes."""
    src = copy_dataset("sample")
    rng = np.random.default_rng(3)
    for episode in range(4):
        _timestamps(src, episode, lambda ts: ts + 0.04 + rng.uniform(-0.008, 0.008, ts.size))
    before = tree_digest(src)
    with pytest.raises(ConversionProblems) as raised:
        _convert(src, tmp_path / "out", dry_run=True)
    assert "run the same command with --retime=true" in str(raised.value), raised.value
    report = _convert(src, tmp_path / "out", retime=True, verify="full")
    assert set(report.retimed) == {0, 1, 2, 3}
    assert all(0.03 < r["max_s"] < 0.05 and 0.03 < r["mean_s"] < 0.05 for r in report.retimed.values())
    table = pq.read_table(tmp_path / "out/data/chunk-000/file-000.parquet")
    frames = table["frame_index"].to_numpy()
    np.testing.assert_array_equal(table["timestamp"].to_numpy(), (frames / 30).astype(np.float32))
    assert tree_digest(src) == before


@pytest.mark.parametrize("allow", [False, True])
def test_nan_refused_unless_allowed(allow: bool, copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("sample")

    def nan(t: pa.Table) -> pa.Table:
        action = np.stack(t["action"].to_numpy(zero_copy_only=False))
        action[4, 2] = np.nan
        return _set(t, "action", action)

    _edit(src, 2, nan)
    if not allow:
        for dry_run in (True, False):
            with pytest.raises(ConversionProblems) as raised:
                _convert(src, tmp_path / "out", dry_run=dry_run)
            assert "values:nan" in str(raised.value) and "--exclude_episodes=[2]" in str(raised.value)
        return
    report = _convert(src, tmp_path / "out", allow_value_errors=True, verify="none")
    assert report.value_errors and any("DESPITE" in n for n in report.notes), report.notes


def test_stats_ten_times_off_refused_then_recomputed(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("sample")
    rows = [json.loads(line) for line in (src / "meta/episodes_stats.jsonl").read_text().splitlines()]
    for row in rows:
        for stat in ("mean", "min", "max"):
            row["stats"]["action"][stat] = [10 * v for v in row["stats"]["action"][stat]]
    (src / "meta/episodes_stats.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ConversionProblems) as raised:
        _convert(src, tmp_path / "out")
    assert "run the same command with --stats=recompute" in str(raised.value), raised.value
    _convert(src, tmp_path / "out", recompute_stats=True, verify="none")
    stats = json.loads((tmp_path / "out/meta/stats.json").read_text())
    data = pq.read_table(tmp_path / "out/data/chunk-000/file-000.parquet")
    mean = np.stack(data["action"].to_numpy(zero_copy_only=False)).mean(axis=0)
    np.testing.assert_allclose(stats["action"]["mean"], mean, rtol=1e-5)


def test_v30_with_wrong_stats_gets_a_corrected_copy(v30_dataset: Path, tmp_path: Path) -> None:
    import shutil

    v30 = tmp_path / "v30"
    shutil.copytree(v30_dataset, v30)
    stats_path = v30 / "meta/stats.json"
    stats = json.loads(stats_path.read_text())
    right = stats["action"]["mean"]
    stats["action"]["mean"] = [10 * v for v in right]
    stats_path.write_text(json.dumps(stats))
    before = tree_digest(v30)
    proc = run_cli("lerobot-convert-local", f"--input={v30}", f"--output={tmp_path / 'fixed'}")
    assert proc.returncode == 1 and "--stats=recompute" in proc.stderr, proc.stderr
    proc = run_cli(
        "lerobot-convert-local", f"--input={v30}", f"--output={tmp_path / 'fixed'}", "--stats=recompute"
    )
    assert proc.returncode == 0, proc.stderr
    assert "local_v30_restats" in proc.stdout and "meta/stats.json means equal the data" in proc.stdout
    fixed = json.loads((tmp_path / "fixed/meta/stats.json").read_text())
    np.testing.assert_allclose(fixed["action"]["mean"], right, rtol=1e-5)
    assert tree_digest(v30) == before


def test_v30_info_totals_off_named_by_check_and_written_right_by_a_copy(
    v30_dataset: Path, tmp_path: Path
) -> None:
    """A subset cut by hand keeps its source's total_frames (the real Reachy 2 set: 14983 for 899 frames):
    LeRobot 0.4 then samples frames that do not exist. check names the file and the value to write; the
    corrected copy the converter writes holds the data's totals, and check passes it."""
    import shutil

    v30 = tmp_path / "v30"
    shutil.copytree(v30_dataset, v30)
    info = json.loads((v30 / "meta/info.json").read_text())
    frames = info["total_frames"]
    (v30 / "meta/info.json").write_text(json.dumps({**info, "total_frames": 10 * frames}))
    before = tree_digest(v30)
    proc = run_cli("lerobot-local", "check", str(v30))
    assert proc.returncode == 1, proc.stdout
    flat = " ".join(proc.stdout.split())
    assert (
        "dataset:totals ERROR" in flat and f'set "total_frames": {frames} in {v30 / "meta/info.json"}' in flat
    )
    proc = run_cli(
        "lerobot-convert-local", f"--input={v30}", f"--output={tmp_path / 'fixed'}", "--stats=recompute"
    )
    assert proc.returncode == 0, proc.stderr
    assert f"total_frames was {10 * frames}, written as {frames}" in proc.stdout, proc.stdout
    assert json.loads((tmp_path / "fixed/meta/info.json").read_text())["total_frames"] == frames
    assert run_cli("lerobot-local", "check", str(tmp_path / "fixed")).returncode == 0
    assert tree_digest(v30) == before


def test_unreadable_input_is_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "meta").mkdir(parents=True)
    (src / "meta/info.json").write_text(json.dumps({"codebase_version": "v2.1", "features": {"a": 1}}))
    with pytest.raises(ConversionError) as raised:
        _convert(src, tmp_path / "out", dry_run=True)
    text = str(raised.value)
    assert "lacks the field(s) fps, data_path, total_episodes, chunks_size" in text, text
    assert "feature 'a' has no 'dtype'" in text and "tasks.jsonl: does not exist" in text, text
