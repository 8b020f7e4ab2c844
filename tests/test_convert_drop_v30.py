"""Salvage of a v3.0 dataset (issue 31): ``lerobot-convert-local --drop_features=CAM`` on a v3.0 input writes
a v3.0 copy without those cameras (checks first, a temporary sibling, verified through LeRobot, renamed; the
input never written), and ``lerobot-local check`` prints that command, which works as printed, where a
camera's files are missing or unreadable. Datasets: the real Reachy 2 recording (its mp4 files absent) and
two-camera sets written in the test by LeRobot's own writer."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli, tree_digest
from lerobot_local import dataset_check
from lerobot_local.convert import cli
from test_convert_drop import _assert_consistent

TOP, WRIST = "observation.images.top", "observation.images.wrist"
REACHY = REPO / "tests/data/reachy2_apple_v30"
REACHY_CAMERA = "observation.image"
VALUES = ("observation.state", "action", "timestamp", "frame_index", "episode_index", "index", "task_index")


def _write(root: Path, dtype: str) -> Path:
    """Three episodes of 8 frames, two cameras (``video`` or ``image``), written by LeRobot's writer; each
    camera's frames differ per camera, frame and episode."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {
        "observation.state": {"dtype": "float32", "shape": (2,), "names": ["a", "b"]},
        "action": {"dtype": "float32", "shape": (2,), "names": ["a", "b"]},
        **{
            k: {"dtype": dtype, "shape": (32, 48, 3), "names": ["height", "width", "channels"]}
            for k in (TOP, WRIST)
        },
    }
    dataset = LeRobotDataset.create(
        repo_id="local/two_cameras", fps=10, features=features, root=root, use_videos=dtype == "video"
    )
    rng = np.random.default_rng(0)
    for episode in range(3):
        for f in range(8):
            frame = {k: rng.normal(size=2).astype(np.float32) for k in ("observation.state", "action")}
            for channel, key in enumerate((TOP, WRIST)):
                image = np.zeros((32, 48, 3), np.uint8)
                image[:, :, channel] = 40 + 20 * f + 30 * episode
                image[4 * f : 4 * f + 4, :, 2] = 255
                frame[key] = image
            dataset.add_frame({**frame, "task": "grasp the cube"})
        dataset.save_episode()
    if hasattr(dataset, "finalize"):
        dataset.finalize()
    return root


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v3.0 dataset with two video cameras (real mp4 files). Read it only: copy it to change it."""
    return _write(tmp_path_factory.mktemp("v30_two_cameras") / "two_videos", "video")


def _copy(src: Path, tmp_path: Path, name: str = "src") -> Path:
    shutil.copytree(src, tmp_path / name)
    return tmp_path / name


def _convert(src: Path, out: Path, *flags: str) -> int:
    return cli.main([f"--input={src}", f"--output={out}", "--progress=false", *flags])


def _printed_copy_command(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The command `lerobot-local check ROOT` prints to write the copy without the broken cameras."""
    assert dataset_check.main([str(root)]) == 1
    printed = capsys.readouterr().out
    line = next((x for x in printed.splitlines() if x.startswith("to write a v3.0 copy without")), None)
    assert line is not None, printed
    return shlex.split(line.split(": ", 1)[1])


def _no_leftovers(out: Path) -> None:
    assert not list(out.parent.glob(f".{out.name}*")), list(out.parent.iterdir())


def _assert_same_frames(source, copy, kept: list[str], dropped: list[str]) -> None:
    """Every frame LeRobot gives of the copy equals the source's: values, task and the kept cameras."""
    import torch

    assert len(copy) == len(source)
    for i in range(len(source)):
        a, b = source[i], copy[i]
        assert not set(dropped) & set(b)
        assert b["task"] == a["task"]
        for key in (*VALUES, *kept):
            assert torch.equal(a[key], b[key]), (i, key)


def test_dropping_one_of_two_video_cameras_keeps_the_other_and_trains(
    two_videos: Path, tmp_path: Path
) -> None:
    from lerobot_local import compat
    from train_helpers import tiny_act_config, train, write_config

    src = _copy(two_videos, tmp_path)
    before = tree_digest(src)
    out = tmp_path / "out"
    assert _convert(src, out, f"--drop_features={WRIST}", "--verify=full") == 0
    assert tree_digest(src) == before
    _no_leftovers(out)
    _assert_consistent(out, [TOP], [WRIST])
    top = {k: v for k, v in tree_digest(src / "videos").items() if k.startswith(TOP)}
    assert tree_digest(out / "videos") == top  # the kept camera's files as they were, the other's not copied
    source = compat.load_lerobot_dataset(src, video_backend="pyav")
    copy = compat.load_lerobot_dataset(out, video_backend="pyav")
    assert compat.dataset_camera_keys(copy) == [TOP]
    _assert_same_frames(source, copy, [TOP], [WRIST])
    # the copy trains (ACT with its one camera), with the plugin's checks before the first step
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(out, tmp_path / "run", steps=2, save_freq=2))
    proc = train(f"--config_path={cfg}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_dropping_an_image_camera_rewrites_the_data_files(tmp_path: Path) -> None:
    """Images live in the data files: the camera's column and its Hugging Face schema entry go with it."""
    from lerobot_local import compat

    src = _write(tmp_path / "images", "image")
    before = tree_digest(src)
    out = tmp_path / "out"
    assert _convert(src, out, f"--drop_features={WRIST}") == 0
    assert tree_digest(src) == before
    _assert_consistent(out, [TOP], [WRIST], videos=False)
    for path in sorted((out / "data").rglob("*.parquet")):
        schema = pq.read_schema(path)
        assert WRIST not in schema.names and TOP in schema.names
        assert WRIST not in schema.metadata[b"huggingface"].decode()
    source = compat.load_lerobot_dataset(src, video_backend="pyav")
    _assert_same_frames(source, compat.load_lerobot_dataset(out, video_backend="pyav"), [TOP], [WRIST])


def test_a_missing_camera_video_check_prints_the_copy_and_it_works(
    two_videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The wrist camera's mp4 deleted: check prints the copy command without it; run as printed, it writes a
    copy whose top camera equals the intact recording's, and which check passes."""
    from lerobot_local import compat

    src = _copy(two_videos, tmp_path)
    for path in (src / "videos" / WRIST).rglob("*.mp4"):
        path.unlink()
    before = tree_digest(src)
    command = _printed_copy_command(src, capsys)
    out = Path(f"{src}_salvaged")
    assert command == [
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        f"--drop_features={WRIST}",
    ]
    proc = run_cli(*command, "--progress=false")
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(src) == before
    _assert_consistent(out, [TOP], [WRIST])
    intact = compat.load_lerobot_dataset(two_videos, video_backend="pyav")
    _assert_same_frames(intact, compat.load_lerobot_dataset(out, video_backend="pyav"), [TOP], [WRIST])
    assert dataset_check.main([str(out)]) == 0, capsys.readouterr().out


def test_a_kept_camera_cut_short_refuses_the_copy(
    two_videos: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dropped camera's missing files refuse nothing, a kept camera's broken file does (nothing written),
    and both the refusal and check name the flag that leaves it out too."""
    src = _copy(two_videos, tmp_path)
    for path in (src / "videos" / WRIST).rglob("*.mp4"):
        path.unlink()
    (top,) = (src / "videos" / TOP).rglob("*.mp4")
    top.write_bytes(top.read_bytes()[: top.stat().st_size * 2 // 5])  # the header (moov first) stays
    before = tree_digest(src)
    out = tmp_path / "out"
    assert _convert(src, out, f"--drop_features={WRIST}") == 1
    assert str(top) in caplog.text and "cut short" in caplog.text, caplog.text
    assert f"run the same command with --drop_features={WRIST},{TOP}" in caplog.text, caplog.text
    assert not out.exists() and tree_digest(src) == before
    _no_leftovers(out)
    command = _printed_copy_command(src, capsys)
    assert f"--drop_features={WRIST},{TOP}" in command or f"--drop_features={TOP},{WRIST}" in command, command


def test_reachy2_without_its_missing_camera(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real Reachy 2 recording, its only camera's mp4 files absent: check prints the copy command; run as
    printed it writes a v3.0 copy without the camera that LeRobot loads with the recording's values, that
    check passes, and that preflight says truthfully ACT cannot train on (no camera, no environment state)."""
    from lerobot_local import compat
    from lerobot_local.runner import collect_results
    from train_helpers import tiny_run_facts

    src = _copy(REACHY, tmp_path, "reachy2_apple_v30")
    before = tree_digest(src)
    command = _printed_copy_command(src, capsys)
    out = Path(f"{src}_salvaged")
    assert command == [
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        f"--drop_features={REACHY_CAMERA}",
    ]
    assert _convert(src, out, *command[3:], "--dry_run") == 0 and not out.exists()
    proc = run_cli(*command, "--progress=false")
    assert proc.returncode == 0, proc.stderr
    assert "total_frames was 14983, written as 899" in proc.stdout, proc.stdout  # the subset's stale total
    assert tree_digest(src) == before
    _no_leftovers(out)
    _assert_consistent(out, [], [REACHY_CAMERA])
    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    rows = pq.read_table(src / "data/chunk-000/file-000.parquet").to_pylist()
    assert dataset.num_frames == len(rows) == 899 and dataset.num_episodes == 3
    for i in (0, 298, 299, len(rows) - 1):
        item = dataset[i]
        assert REACHY_CAMERA not in item
        for key in ("observation.state", "action"):
            assert np.array_equal(item[key].numpy(), np.asarray(rows[i][key], dtype=np.float32)), (i, key)
    assert dataset_check.main([str(out)]) == 0, capsys.readouterr().out
    (tmp_path / "run").mkdir()
    facts, settings = tiny_run_facts(out, tmp_path / "run")
    (row,) = [r for r in collect_results(facts, settings) if r.name == "policy_features"]
    assert row.severity == "error" and "it has no camera" in row.message, row


def test_wrong_stats_and_a_missing_camera_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stats that disagree with the data beside a missing camera: check prints --stats=recompute with the
    --drop_features copy, and that command writes stats equal to the data."""
    src = _copy(REACHY, tmp_path, "reachy2_apple_v30")
    stats = json.loads((src / "meta/stats.json").read_text())
    right = stats["action"]["mean"]
    stats["action"]["mean"] = [10 * v + 1 for v in right]
    (src / "meta/stats.json").write_text(json.dumps(stats))
    command = _printed_copy_command(src, capsys)
    assert command[3:] == ["--stats=recompute", f"--drop_features={REACHY_CAMERA}"], command
    proc = run_cli(*command, "--progress=false")
    assert proc.returncode == 0, proc.stderr
    out = Path(f"{src}_salvaged")
    fixed = json.loads((out / "meta/stats.json").read_text())
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    mean = np.stack(data["action"].to_numpy(zero_copy_only=False)).mean(axis=0)
    np.testing.assert_allclose(fixed["action"]["mean"], mean, rtol=1e-5)
    assert REACHY_CAMERA not in fixed


def test_an_unreadable_stats_json_the_printed_copy_command_works(two_videos: Path, tmp_path: Path) -> None:
    """check's fix for a meta/stats.json that does not read is a --stats=recompute copy: it is not refused
    for that very row, and the copy passes check."""
    from lerobot_local.dataset_check import parse_args, run_check

    src = _copy(two_videos, tmp_path)
    (src / "meta/stats.json").write_text("{not json")
    (row,) = [r for r in run_check(parse_args([str(src)])).results if r.name == "dataset:meta"]
    command = shlex.split(row.fix.split("write a corrected copy: ", 1)[1])
    assert command[-1] == "--stats=recompute", command
    proc = run_cli(*command, "--progress=false")
    assert proc.returncode == 0, proc.stderr
    out = Path(next(a for a in command if a.startswith("--output=")).split("=", 1)[1])
    assert all(r.severity != "error" for r in run_check(parse_args([str(out)])).results)


@pytest.mark.any_line
@pytest.mark.parametrize(
    ("flag", "code", "says"),
    [
        ("--drop_features=observation.images.top", 2, f"its cameras are {REACHY_CAMERA}"),
        ("--drop_features=observation.state", 2, "cameras only (video or image features)"),
        ("--exclude_episodes=[0]", 1, "apply to v2.x sources only"),
    ],
)
def test_v30_drop_usage_errors(flag: str, code: int, says: str, tmp_path: Path, caplog) -> None:
    """A name the dataset does not declare, a feature that is not a camera, a v2.x-only flag: nothing is
    written."""
    flags = [flag] if flag.startswith("--drop") else [flag, f"--drop_features={REACHY_CAMERA}"]
    assert _convert(REACHY, tmp_path / "x", *flags) == code
    assert says in caplog.text, caplog.text
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x*"))
