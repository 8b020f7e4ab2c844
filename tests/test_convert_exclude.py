"""Dropping episodes on conversion (--exclude_episodes / --episodes), every problem listed at once, and the
value checks inside the before-train table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import FIXTURES, SAMPLE, make_read_only, run_cli, tree_digest
from reliability_log import record
from test_convert import source_frames, to_uint8

TOP = "videos/chunk-000/observation.images.top/episode_{:06d}.mp4"
WRIST = "videos/chunk-000/observation.images.wrist/episode_{:06d}.mp4"


def _kept_source(src: Path, kept: list[int]) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """Rows and decoded frames of the kept source episodes only, in source order."""
    rows, frames = source_frames(src)
    keep = [i for i, row in enumerate(rows) if row["episode_index"] in kept]
    return [rows[i] for i in keep], {k: [v[i] for i in keep] for k, v in frames.items()}


def test_exclude_episodes_gives_the_kept_episodes_and_their_stats(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("sample")
    before = tree_digest(src)
    make_read_only(src)
    out, report_path = tmp_path / "out", tmp_path / "report.json"
    proc = run_cli(
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        "--exclude_episodes=[0,2]",
        "--verify=full",
        f"--report_json={report_path}",
        "--progress=false",
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(src) == before
    report = json.loads(report_path.read_text())
    assert report["episode_map"] == {"1": 0, "3": 1} and report["excluded_episodes"] == [0, 2]
    assert report["episodes"] == 2 and report["source_episodes"] == 4
    assert "left out [0, 2]" in proc.stdout and "1->0, 3->1" in proc.stdout

    from lerobot_local import compat

    rows, frames = _kept_source(src, [1, 3])
    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    assert dataset.num_episodes == 2 and len(dataset) == len(rows)
    new_episode = {1: 0, 3: 1}
    for i, row in enumerate(rows):
        item = dataset[i]
        for key in ("observation.state", "action"):
            assert np.array_equal(item[key].numpy(), np.asarray(row[key], dtype=np.float32))
        assert int(item["episode_index"]) == new_episode[row["episode_index"]] and int(item["index"]) == i
        assert int(item["frame_index"]) == row["frame_index"]
        for key, decoded in frames.items():
            assert np.array_equal(to_uint8(item[key]), decoded[i]), f"{key} frame {i}"

    stats = json.loads((out / "meta/stats.json").read_text())
    for key in ("observation.state", "action"):
        values = np.asarray([row[key] for row in rows], dtype=np.float64)
        # the sample's per-episode stats were written by LeRobot 0.3.3 from float32 data: float32 precision
        np.testing.assert_allclose(stats[key]["mean"], values.mean(0), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(stats[key]["std"], values.std(0), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(stats[key]["min"], values.min(0), rtol=0, atol=1e-6)
        np.testing.assert_allclose(stats[key]["max"], values.max(0), rtol=0, atol=1e-6)
        assert stats[key]["count"] == [len(rows)]
    # image stats: the kept episodes' source stats, count-weighted (LeRobot's aggregation)
    per_episode = {
        json.loads(x)["episode_index"]: json.loads(x)["stats"]
        for x in (src / "meta/episodes_stats.jsonl").read_text().splitlines()
        if x
    }
    key = "observation.images.top"
    counts = np.asarray([per_episode[e][key]["count"][0] for e in (1, 3)], dtype=np.float64)
    means = np.asarray([per_episode[e][key]["mean"] for e in (1, 3)], dtype=np.float64)
    expected = (means * counts[:, None, None, None]).sum(0) / counts.sum()
    np.testing.assert_allclose(stats[key]["mean"], expected, rtol=1e-9)
    record(
        "conversion", "--exclude_episodes=[0,2] on the sample", "2 kept episodes, renumbered", "as expected"
    )


def test_episodes_flag_and_usage_errors(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    out = tmp_path / "out"
    proc = run_cli(
        "lerobot-convert-local", f"--input={src}", f"--output={out}", "--episodes=[2,0]", "--verify=quick"
    )
    assert proc.returncode == 0, proc.stderr
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["length"] for e in episodes] == [20, 17]  # source episodes 0 and 2, in source order
    for flags, says in (
        (["--exclude_episodes=[7]"], "names episode(s) [7]"),
        (["--episodes=[0]", "--exclude_episodes=[1]"], "not both"),
        (["--exclude_episodes=[0,1,2]"], "leaves no episode"),
        (["--exclude_episodes=1"], "--exclude_episodes=[0,3,6]"),
    ):
        proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={tmp_path / 'x'}", *flags)
        assert proc.returncode == 2 and says in proc.stderr, (flags, proc.stderr)
        assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "conversion"])
def test_every_missing_file_listed_with_the_flag_that_converts_the_rest(
    dry_run: bool, copy_dataset, tmp_path: Path
) -> None:
    """Three missing files in two episodes, plus a video whose frame count is wrong: all four listed in
    one run (grouped and counted), exit 1, nothing written; the printed flag then converts the rest."""
    import shutil

    src = copy_dataset("sample")
    for rel in (TOP.format(0), WRIST.format(0), "data/chunk-000/episode_000002.parquet"):
        (src / rel).unlink()
    shutil.copy(FIXTURES / "v21_video" / TOP.format(0), src / TOP.format(3))  # 20 frames, not 45
    before = tree_digest(src)
    out = tmp_path / "out"
    flags = ["--dry_run=true"] if dry_run else []
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--progress=false", *flags)
    assert proc.returncode == 1, proc.stderr
    error = proc.stderr[proc.stderr.index("conversion failed") :]
    first, *rest = error.splitlines()
    assert first.endswith(f"4 problems in 3 episode(s) of {src}:"), error
    assert "missing files (3):" in error and "video streams (1):" in error
    assert f"{src / TOP.format(3)}: holds 20 frames but episode 3 has 45" in error
    for rel in (TOP.format(0), WRIST.format(0), "data/chunk-000/episode_000002.parquet"):
        assert f"{src / rel}: is missing;" in error
    assert rest[-1].strip().endswith("--exclude_episodes=[0,2,3]"), error
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    assert tree_digest(src) == before
    proc = run_cli(
        "lerobot-convert-local", f"--input={src}", f"--output={out}", "--exclude_episodes=[0,2,3]", *flags
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(src) == before
    record(
        "bad input",
        f"three missing files and a short video in three episodes ({'dry run' if dry_run else 'conversion'})",
        "all listed at once, exit 1, then converted with the printed flag",
        first,
    )


def test_a_problem_met_while_writing_lists_every_problem(copy_dataset, tmp_path: Path) -> None:
    """Video frame counts are only read while writing; the refusal still lists both bad episodes."""
    import shutil

    src = copy_dataset("v21_video")
    shutil.copy(src / TOP.format(0), src / TOP.format(1))  # 20 frames where 31 are expected
    shutil.copy(src / WRIST.format(0), src / WRIST.format(2))  # 20 where 17 are expected
    before = tree_digest(src)
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--progress=false")
    assert proc.returncode == 1
    error = proc.stderr[proc.stderr.index("conversion failed") :]
    assert "2 problems in 2 episode(s)" in error.splitlines()[0], error
    assert "video streams (2):" in error and "holds 20 frames but episode 1" in error
    assert "holds 20 frames but episode 2" in error and "--exclude_episodes=[1,2]" in error
    assert not out.exists() and not list(tmp_path.glob(".out*")) and tree_digest(src) == before


def test_value_checks_run_in_the_before_train_table(tmp_path: Path) -> None:
    """preflight (= lerobot-train's checks): a NaN in the converted data stops the run, naming the file,
    episode, frame and joint; the fix gives the --dataset.episodes flag of the other episodes."""
    import pyarrow as pa

    from train_helpers import tiny_act_config, write_config

    out = tmp_path / "v30"
    assert (
        run_cli("lerobot-convert-local", f"--input={SAMPLE}", f"--output={out}", "--verify=none").returncode
        == 0
    )
    data_file = out / "data/chunk-000/file-000.parquet"
    table = pq.read_table(data_file)
    action = np.stack(table["action"].to_numpy(zero_copy_only=False)).astype(np.float32)
    action[100, 5] = np.nan  # episode 2 starts at row 90: frame 10
    column = pa.FixedSizeListArray.from_arrays(pa.array(action.reshape(-1), pa.float32()), 6)
    column = column.cast(table.schema.field("action").type)
    pq.write_table(table.set_column(table.schema.get_field_index("action"), "action", column), data_file)
    config = write_config(
        tmp_path / "cfg.json",
        tiny_act_config(out, tmp_path / "run", **{"lerobot_local.profile": "local_grasp"}),
    )
    proc = run_cli("lerobot-local", "preflight", f"--config_path={config}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "values:nan" in x)
    assert "ERROR" in line and "episode 2, frame 10: action[gripper] is NaN" in line
    assert "data/chunk-000/file-000.parquet" in line
    assert "--dataset.episodes=[0,1,3]" in proc.stdout
    proc = run_cli(
        "lerobot-local", "preflight", f"--config_path={config}", "--lerobot_local.severity={values: off}"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split()[0] for line in proc.stdout.splitlines()[3:] if line.strip()]
    assert "fps" in rows and not [r for r in rows if r.startswith("values")], proc.stdout


def test_missing_episode_stats_name_the_flag_and_recompute_converts(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    path = src / "meta/episodes_stats.jsonl"
    path.write_text("".join(x + "\n" for x in path.read_text().splitlines() if '"episode_index": 2' not in x))
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none")
    assert proc.returncode == 1 and "has no stats for episode 2" in proc.stderr
    assert "--exclude_episodes=[2]" in proc.stderr and not out.exists()
    proc = run_cli(
        "lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none", "--stats=recompute"
    )
    assert proc.returncode == 0, proc.stderr
