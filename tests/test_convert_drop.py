"""Salvage (issue 31): a recording converted without some or all of its cameras (--drop_features=...), a
copy whose info.json, stats and episodes agree and that LeRobot loads; check prints the command."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import FIXTURES, run_cli, tree_digest
from lerobot_local import dataset_check
from lerobot_local.convert import cli

TOP, WRIST = "observation.images.top", "observation.images.wrist"
INDEX = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def _convert(src: Path, out: Path, *flags: str) -> int:
    return cli.main([f"--input={src}", f"--output={out}", "--progress=false", *flags])


def _assert_consistent(out: Path, kept: list[str], dropped: list[str], videos: bool = True) -> None:
    """info.json, stats.json, the episodes table and the files name the kept cameras only."""
    kept_videos = kept if videos else []
    info = json.loads((out / "meta/info.json").read_text())
    cameras = [k for k, f in info["features"].items() if f["dtype"] in ("video", "image")]
    assert cameras == kept and not set(dropped) & set(info["features"])
    assert "total_videos" not in info  # LeRobot v3.0 writes none (its converter drops it too)
    assert (info["video_path"] is None) == (not kept_videos)
    stats = json.loads((out / "meta/stats.json").read_text())
    assert set(stats) == set(info["features"])
    columns = pq.read_schema(next((out / "meta/episodes").rglob("*.parquet"))).names
    for key in dropped:
        assert not [c for c in columns if f"/{key}/" in c] and not (out / "videos" / key).exists()
    for key in kept:
        assert f"stats/{key}/mean" in columns and (f"videos/{key}/from_timestamp" in columns) == videos
    assert (out / "videos").exists() == bool(kept_videos)


@pytest.mark.parametrize(
    "dropped", [[WRIST], [WRIST, TOP]], ids=["one camera dropped", "every camera dropped"]
)
def test_drop_cameras_gives_a_copy_lerobot_loads(dropped: list[str], tmp_path: Path) -> None:
    src = FIXTURES / "v21_video"
    before = tree_digest(src)
    out, report = tmp_path / "out", tmp_path / "report.json"
    assert _convert(src, out, "--drop_features=" + ",".join(dropped), f"--report_json={report}") == 0
    assert tree_digest(src) == before
    kept = [k for k in (TOP, WRIST) if k not in dropped]
    _assert_consistent(out, kept, dropped)
    assert json.loads(report.read_text())["dropped_features"] == dropped

    from lerobot_local import compat

    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    assert dataset.num_episodes == 3 and set(dataset.meta.camera_keys) == set(kept)
    # before training: ACT accepts one camera; with none it is refused by LeRobot's own verdict, as a row
    from lerobot_local.runner import collect_results
    from train_helpers import tiny_run_facts

    (tmp_path / "run").mkdir()
    facts, settings = tiny_run_facts(out, tmp_path / "run")
    rows = [r for r in collect_results(facts, settings) if r.name == "policy_features"]
    if kept:
        assert not [r for r in rows if r.severity == "error"], rows
    else:
        (row,) = rows
        assert row.severity == "error" and "it has no camera" in row.message
        assert "at least one image or the environment state" in row.message and "--drop_features" in row.fix
    item = dataset[len(dataset) - 1]
    assert not set(dropped) & set(item) and all(k in item for k in (*kept, "observation.state", "action"))
    for key in kept:
        assert tuple(item[key].shape) == (3, 48, 64)
    source = pq.read_table(src / "data/chunk-000/episode_000002.parquet").to_pylist()[-1]
    assert np.array_equal(item["action"].numpy(), np.asarray(source["action"], dtype=np.float32))


def test_drop_an_image_feature_stored_in_the_parquet_files(copy_dataset, tmp_path: Path) -> None:
    """Images live in the data files: their column and its Hugging Face schema entry go with them."""
    src = copy_dataset("v21_images")
    out = tmp_path / "out"
    assert _convert(src, out, f"--drop_features={WRIST}", "--verify=full") == 0
    _assert_consistent(out, [TOP], [WRIST], videos=False)
    schema = pq.read_schema(next((out / "data").rglob("*.parquet")))
    assert WRIST not in schema.names and WRIST not in schema.metadata[b"huggingface"].decode()

    from lerobot_local import compat

    item = compat.load_lerobot_dataset(out, video_backend="pyav")[0]
    assert TOP in item and WRIST not in item


@pytest.mark.any_line
@pytest.mark.parametrize(
    ("flag", "says"),
    [
        ("--drop_features=observation.images.side", f"its cameras are {TOP}, {WRIST}"),
        ("--drop_features=observation.state", "cameras only (video or image features)"),
        ("--drop_features=timestamp", "timestamp is float32"),
        (f"--drop_features={WRIST},", "not a comma-separated list"),
    ],
)
def test_drop_features_usage_errors(flag: str, says: str, tmp_path: Path, caplog, capfd) -> None:
    """A name the source does not declare, or a feature that is not a camera: exit 2, nothing written."""
    assert _convert(FIXTURES / "v21_video", tmp_path / "x", flag) == 2
    # the converter's stderr handler (set up by the first command run in this process) or pytest's
    said = caplog.text + capfd.readouterr().err
    assert says in said, said
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x*"))


@pytest.mark.any_line
def test_drop_list_accepts_brackets_and_spaces() -> None:
    assert cli.drop_list(f"[{TOP}, {WRIST}]") == [TOP, WRIST] and cli.drop_list(WRIST) == [WRIST]
    assert cli.drop_list(None) is None


def test_check_prints_the_drop_command_and_it_converts(copy_dataset, tmp_path: Path, capsys, caplog) -> None:
    """One camera's mp4 deleted: the converter's refusal and `lerobot-local check` name --drop_features;
    the command check prints, run as printed, converts every episode without that camera."""
    src = copy_dataset("v21_video", "grasp")
    (src / f"videos/chunk-000/{WRIST}/episode_000001.mp4").unlink()
    before = tree_digest(src)

    assert _convert(src, tmp_path / "refused") == 1
    assert f"run the same command with --drop_features={WRIST}" in caplog.text, caplog.text
    assert caplog.text.rstrip().endswith("--exclude_episodes=[1]"), caplog.text  # the episodes' flag stays

    assert dataset_check.main([str(src)]) == 1
    printed = capsys.readouterr().out
    assert "--exclude_episodes=[1]" in printed  # the existing fix is still there
    line = next(line for line in printed.splitlines() if line.startswith("to convert without the camera"))
    command = shlex.split(line.split(": ", 1)[1])
    assert command[0] == "lerobot-convert-local" and f"--drop_features={WRIST}" in command, line
    assert not any(arg.startswith("--exclude_episodes") for arg in command), line
    proc = run_cli(*command, "--progress=false")
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(src) == before
    out = Path(next(a for a in command if a.startswith("--output=")).split("=", 1)[1])
    _assert_consistent(out, [TOP], [WRIST])
    assert json.loads((out / "meta/info.json").read_text())["total_episodes"] == 3
