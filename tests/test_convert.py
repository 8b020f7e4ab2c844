"""The converter on real v2.1 datasets written by LeRobot 0.3.3: every frame equal after loading with the
installed LeRobot, source untouched (read-only copy), report complete."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import make_read_only, run_cli, tree_digest


def source_frames(src: Path) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """All rows of the source (episode order) and every decoded frame of every camera."""
    info = json.loads((src / "meta" / "info.json").read_text())
    episodes = [
        json.loads(line) for line in (src / "meta" / "episodes.jsonl").read_text().splitlines() if line
    ]
    cams = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    rows, frames = [], {k: [] for k in cams}
    for ep in sorted(episodes, key=lambda e: e["episode_index"]):
        i = ep["episode_index"]
        rows += pq.read_table(src / info["data_path"].format(episode_chunk=0, episode_index=i)).to_pylist()
        for key in cams:
            path = src / info["video_path"].format(episode_chunk=0, video_key=key, episode_index=i)
            with av.open(str(path)) as container:
                frames[key] += [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return rows, frames


def to_uint8(value) -> np.ndarray:
    return np.clip(np.round(value.numpy() * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)


@pytest.mark.parametrize("fixture", ["v21_video", "v21_images", "generated_h264", "generated_h264_bframes"])
def test_converted_dataset_equals_source_frame_by_frame(fixture: str, copy_dataset, tmp_path: Path) -> None:
    """Real LeRobot 0.3.3 output (AV1 video, image structs) and PyAV-written h264 datasets, one with
    B-frames (reordered frames, negative first decode timestamps, as ffmpeg's libx264 defaults write)."""
    if fixture.startswith("generated_h264"):
        from lerobot_local.demo.synthetic_v21 import write_v21_dataset

        bframes = 3 if fixture.endswith("bframes") else 0
        src = write_v21_dataset(tmp_path / "generated", 3, length=(25, 40), bframes=bframes, seed=7)
        if bframes:
            with av.open(str(next(src.rglob("*.mp4")))) as container:
                packets = [p for p in container.demux(video=0) if p.pts is not None]
            assert packets[0].dts < 0 and any(b.pts < a.pts for a, b in itertools.pairwise(packets))
    else:
        src = copy_dataset(fixture)
    before = tree_digest(src)
    make_read_only(src)
    out, report_path = tmp_path / "out", tmp_path / "report.json"
    proc = run_cli(
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        "--verify=full",
        f"--report_json={report_path}",
        "--progress=false",
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(src) == before
    report = json.loads(report_path.read_text())
    rows, frames = source_frames(src)
    assert report["frames"] == len(rows) and report["verification"]["frames_compared"] == len(rows)
    assert report["bytes_written"] == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert not list(tmp_path.glob(".out.lerobot-local-*"))

    from lerobot_local import compat

    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    tasks = {
        json.loads(line)["task_index"]: json.loads(line)["task"]
        for line in (src / "meta" / "tasks.jsonl").read_text().splitlines()
        if line
    }
    assert len(dataset) == len(rows)
    for i, row in enumerate(rows):
        item = dataset[i]
        for key in ("observation.state", "action"):
            assert np.array_equal(item[key].numpy(), np.asarray(row[key], dtype=np.float32))
        assert float(item["timestamp"]) == pytest.approx(row["timestamp"], abs=0)
        assert int(item["frame_index"]) == row["frame_index"] and int(item["index"]) == row["index"]
        assert int(item["episode_index"]) == row["episode_index"]
        assert item["task"] == tasks[row["task_index"]]
        for key, decoded in frames.items():
            assert np.array_equal(to_uint8(item[key]), decoded[i]), f"{key} frame {i}"
        for key in [k for k in row if k.startswith("observation.images.")]:
            import io

            from PIL import Image

            expected = np.asarray(Image.open(io.BytesIO(row[key]["bytes"])).convert("RGB"))
            assert np.array_equal(to_uint8(item[key]), expected)


def test_v30_layout_matches_lerobot(copy_dataset, tmp_path: Path) -> None:
    """info.json, tasks, episodes metadata and stats are what LeRobot v3.0 expects."""
    src = copy_dataset("v21_video")
    out = tmp_path / "out"
    assert (
        run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none").returncode == 0
    )
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and "total_chunks" not in info and "total_videos" not in info
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["features"]["observation.state"]["fps"] == 30
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in episodes] == [0, 1, 2]
    assert episodes[1]["tasks"] == ["grasp the red cube", "place the cube in the bin"]  # chronological
    assert [e["dataset_from_index"] for e in episodes] == [0, 20, 51]
    key = "videos/observation.images.top"
    assert episodes[1][f"{key}/from_timestamp"] == episodes[0][f"{key}/to_timestamp"]
    stats = json.loads((out / "meta" / "stats.json").read_text())
    assert stats["observation.state"]["count"] == [68]
    assert np.asarray(stats["observation.images.top"]["mean"]).shape == (3, 1, 1)


def test_gaps_in_episode_indices_are_renumbered_and_reported(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    _rename_episode(src, old=2, new=7)
    out, report_path = tmp_path / "out", tmp_path / "r.json"
    proc = run_cli(
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        "--verify=full",
        f"--report_json={report_path}",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(report_path.read_text())["renumbered_episodes"] == {"7": 2}
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    assert sorted(set(data["episode_index"].to_pylist())) == [0, 1, 2]
    assert data["index"].to_pylist() == list(range(68))


def _rename_episode(root: Path, old: int, new: int) -> None:
    """Give episode ``old`` the index ``new`` everywhere (files, jsonl, parquet columns)."""
    import pyarrow as pa

    meta = root / "meta"
    for name in ("episodes.jsonl", "episodes_stats.jsonl"):
        lines = [json.loads(x) for x in (meta / name).read_text().splitlines() if x]
        for line in lines:
            if line["episode_index"] == old:
                line["episode_index"] = new
        (meta / name).write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    data_old = root / f"data/chunk-000/episode_{old:06d}.parquet"
    table = pq.read_table(data_old)
    column = pa.array([new] * table.num_rows, type=table.schema.field("episode_index").type)
    table = table.set_column(table.schema.get_field_index("episode_index"), "episode_index", column)
    pq.write_table(table, root / f"data/chunk-000/episode_{new:06d}.parquet")
    data_old.unlink()
    for cam in (root / "videos/chunk-000").iterdir():
        (cam / f"episode_{old:06d}.mp4").rename(cam / f"episode_{new:06d}.mp4")


def test_extra_files_are_copied_and_reported(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    (src / "README.md").write_text("lab notes")
    (src / "meta" / "calibration.json").write_text("{}")
    out, report_path = tmp_path / "out", tmp_path / "r.json"
    assert (
        run_cli(
            "lerobot-convert-local",
            f"--input={src}",
            f"--output={out}",
            "--verify=none",
            f"--report_json={report_path}",
        ).returncode
        == 0
    )
    extra = json.loads(report_path.read_text())["extra_files"]
    assert extra == {"README.md": "README.md", "meta/calibration.json": "extra/meta/calibration.json"}
    assert (out / "README.md").read_text() == "lab notes"


def test_v20_source_gets_stats_computed_like_lerobot(copy_dataset, tmp_path: Path) -> None:
    """A v2.0 dataset (no episodes_stats.jsonl) converts; computed stats agree with LeRobot 0.3.3's."""
    src = copy_dataset("v21_video")
    reference = {
        json.loads(x)["episode_index"]: json.loads(x)["stats"]
        for x in (src / "meta/episodes_stats.jsonl").read_text().splitlines()
        if x
    }
    (src / "meta/episodes_stats.jsonl").unlink()
    info = json.loads((src / "meta/info.json").read_text())
    info["codebase_version"] = "v2.0"
    (src / "meta/info.json").write_text(json.dumps(info))
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=quick")
    assert proc.returncode == 0, proc.stderr
    assert "local_v20" in proc.stdout
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    for ep in episodes:
        ref = reference[ep["episode_index"]]
        # LeRobot computed image stats from the frames before AV1 encoding; we can only decode the video,
        # so image stats agree within the codec's error, numeric stats to float precision.
        for key, atol in (("observation.state", 1e-5), ("action", 1e-5), ("observation.images.top", 0.02)):
            for stat in ("min", "max", "mean", "std"):
                np.testing.assert_allclose(ep[f"stats/{key}/{stat}"], ref[key][stat], atol=atol, rtol=1e-5)


def test_dry_run_writes_nothing(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    # a bare switch, as argparse users type it, means =true
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={tmp_path / 'out'}", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would convert" in proc.stdout
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_existing_output_is_refused_then_replaced_with_overwrite(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}")
    assert proc.returncode == 2 and "--overwrite=true" in proc.stderr
    assert (out / "keep.txt").read_text() == "precious"
    proc = run_cli(
        "lerobot-convert-local", f"--input={src}", f"--output={out}", "--overwrite=true", "--verify=none"
    )
    assert proc.returncode == 0, proc.stderr
    assert not (out / "keep.txt").exists() and (out / "meta/info.json").is_file()


def test_output_inside_input_is_refused(copy_dataset) -> None:
    src = copy_dataset("v21_video")
    before = tree_digest(src)
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={src / 'converted'}")
    assert proc.returncode == 2 and "never writes into its input" in proc.stderr
    assert tree_digest(src) == before


def test_small_file_size_limits_split_data_and_videos(copy_dataset, tmp_path: Path) -> None:
    """Tiny size caps force one file per episode; LeRobot still reads every frame identically."""
    src = copy_dataset("v21_video")
    out = tmp_path / "out"
    proc = run_cli(
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        "--verify=full",
        "--data_file_size_mb=0.001",
        "--video_file_size_mb=0.001",
    )
    assert proc.returncode == 0, proc.stderr
    assert len(list((out / "data").rglob("*.parquet"))) == 3
    assert len(list((out / "videos/observation.images.top").rglob("*.mp4"))) == 3


def test_very_long_episode_keeps_exact_time_ranges(tmp_path: Path) -> None:
    """A 3,000-frame episode (100 s at 30 fps): end timestamp and start, middle, end frames exact."""
    from lerobot_local import compat
    from lerobot_local.demo.synthetic_v21 import write_v21_dataset

    src = write_v21_dataset(tmp_path / "src", 1, length=(3000, 3000), height=24, width=32, seed=3)
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=quick")
    assert proc.returncode == 0, proc.stderr
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert episodes[0]["length"] == 3000
    assert episodes[0]["videos/observation.images.top/to_timestamp"] == pytest.approx(3000 / 30, abs=1e-9)
    _, frames = source_frames(src)
    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    for i in (0, 1499, 2999):
        assert np.array_equal(
            to_uint8(dataset[i]["observation.images.top"]), frames["observation.images.top"][i]
        )
