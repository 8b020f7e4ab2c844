"""Write synthetic but real LeRobot v2.1 datasets (per-episode parquet + mp4 files encoded with PyAV).

Used by the benchmarks (datasets of 20 to 1,000 episodes) and tests. The layout, metadata and parquet schema
mirror what LeRobot 0.3.x writes (compare tests/fixtures/v21_video, written by LeRobot 0.3.3).
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
TASKS = ["grasp the red cube", "grasp the blue cylinder", "place the cube in the bin"]
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def video_feature(height: int, width: int, fps: int, codec: str) -> dict[str, Any]:
    return {
        "dtype": "video",
        "shape": [height, width, 3],
        "names": ["height", "width", "channels"],
        "info": {
            "video.height": height,
            "video.width": width,
            "video.codec": codec,
            "video.pix_fmt": "yuv420p",
            "video.is_depth_map": False,
            "video.fps": fps,
            "video.channels": 3,
            "has_audio": False,
        },
    }


def _scalar(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [1], "names": None}


def _stats(values: np.ndarray) -> dict[str, list]:
    values = values.reshape(len(values), -1).astype(np.float64)
    return {
        "min": values.min(0).tolist(),
        "max": values.max(0).tolist(),
        "mean": values.mean(0).tolist(),
        "std": values.std(0).tolist(),
        "count": [len(values)],
    }


def _image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel stats of uint8 HWC frames, normalised to [0, 1], shaped (3, 1, 1) like LeRobot's."""
    pixels = frames.reshape(-1, 3).astype(np.float64) / 255.0
    per_channel = {
        "min": pixels.min(0),
        "max": pixels.max(0),
        "mean": pixels.mean(0),
        "std": pixels.std(0),
    }
    stats = {k: [[[float(x)]] for x in v] for k, v in per_channel.items()}
    stats["count"] = [len(frames)]
    return stats


def _frames(rng: np.random.Generator, length: int, height: int, width: int) -> np.ndarray:
    """A smooth moving pattern with a little noise: compresses like camera footage."""
    yy, xx = np.mgrid[0:height, 0:width]
    phase = rng.uniform(0, 2 * np.pi, size=3)
    t = np.arange(length)[:, None, None]
    channels = [
        127 + 100 * np.sin(xx[None] / 7.0 + t / 5.0 + phase[c]) * np.cos(yy[None] / 9.0 + phase[c])
        for c in range(3)
    ]
    frames = np.stack(channels, axis=-1) + rng.normal(0, 4, size=(length, height, width, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)


def _encode(path: Path, frames: np.ndarray, fps: int, codec: str, bframes: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps, 1))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        if (
            codec == "libx264" and bframes
        ):  # reordered frames, negative first dts: what ffmpeg's defaults give
            stream.options = {"preset": "veryfast", "bf": str(bframes), "g": "12"}
        elif codec == "libx264":
            stream.options = {"preset": "ultrafast", "g": "2"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def index_features() -> dict[str, dict[str, Any]]:
    """The per-frame index columns every v2.1 dataset declares, in LeRobot's order."""
    return {
        "timestamp": _scalar("float32"),
        "frame_index": _scalar("int64"),
        "episode_index": _scalar("int64"),
        "index": _scalar("int64"),
        "task_index": _scalar("int64"),
    }


def index_columns(ep: int, n: int, index: int, fps: int, task_index: int) -> dict[str, np.ndarray]:
    """An episode's index columns: timestamps on 1/fps, frame, episode, global and task indices."""
    return {
        "timestamp": (np.arange(n) / fps).astype(np.float32),
        "frame_index": np.arange(n, dtype=np.int64),
        "episode_index": np.full(n, ep, dtype=np.int64),
        "index": np.arange(index, index + n, dtype=np.int64),
        "task_index": np.full(n, task_index, dtype=np.int64),
    }


def episode_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """An episode's parquet table as LeRobot's v2.1 writer types it: vectors as fixed-size lists."""
    return pa.table(
        {
            k: pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), v.shape[1])
            if v.ndim == 2
            else pa.array(v)
            for k, v in columns.items()
        }
    )


def episode_columns(
    rng: np.random.Generator, ep: int, n: int, index: int, fps: int
) -> tuple[dict[str, np.ndarray], pa.Table]:
    """A generated episode's columns (a random walk of 6 joints, the action a noisy copy) and table."""
    state = np.cumsum(rng.normal(0, 1, size=(n, 6)), axis=0).astype(np.float32)
    action = (state + rng.normal(0, 0.5, size=(n, 6))).astype(np.float32)
    columns = {
        "observation.state": state,
        "action": action,
        **index_columns(ep, n, index, fps, ep % len(TASKS)),
    }
    return columns, episode_table(columns)


def write_episode(
    root: Path,
    ep: int,
    columns: dict[str, np.ndarray],
    videos: dict[str, np.ndarray],
    fps: int,
    codec: str = "libx264",
    bframes: int = 0,
) -> dict[str, Any]:
    """Write one episode's parquet file and its mp4 files (``videos``: key -> uint8 HWC frames); returns its
    ``episodes_stats.jsonl`` line."""
    chunk = ep // CHUNKS_SIZE
    data_file = root / DATA_PATH.format(episode_chunk=chunk, episode_index=ep)
    data_file.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(episode_table(columns), data_file)
    stats = {k: _stats(v) for k, v in columns.items()}
    for key, frames in videos.items():
        _encode(
            root / VIDEO_PATH.format(episode_chunk=chunk, video_key=key, episode_index=ep),
            frames,
            fps,
            codec,
            bframes,
        )
        stats[key] = _image_stats(frames)
    return {"episode_index": ep, "stats": stats}


def write_meta(
    root: Path,
    *,
    features: dict[str, Any],
    episode_lines: list[dict[str, Any]],
    stats_lines: list[dict[str, Any]],
    tasks: list[str],
    fps: int,
    robot_type: str,
) -> None:
    """Write meta/ (info.json, episodes.jsonl, episodes_stats.jsonl, tasks.jsonl) as LeRobot 0.3.x does."""
    episodes = len(episode_lines)
    video_keys = [k for k, f in features.items() if f["dtype"] == "video"]
    info = {
        "codebase_version": "v2.1",
        "robot_type": robot_type,
        "total_episodes": episodes,
        "total_frames": sum(line["length"] for line in episode_lines),
        "total_tasks": len(tasks),
        "total_videos": episodes * len(video_keys),
        "total_chunks": (episodes - 1) // CHUNKS_SIZE + 1 if episodes else 0,
        "chunks_size": CHUNKS_SIZE,
        "fps": fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH,
        "features": features,
    }
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    _write_jsonl(root / "meta" / "episodes.jsonl", episode_lines)
    _write_jsonl(root / "meta" / "episodes_stats.jsonl", stats_lines)
    _write_jsonl(root / "meta" / "tasks.jsonl", [{"task_index": i, "task": t} for i, t in enumerate(tasks)])


def write_v21_dataset(
    root: Path,
    episodes: int,
    *,
    cameras: tuple[str, ...] = ("top", "wrist"),
    length: tuple[int, int] = (40, 80),
    fps: int = 30,
    height: int = 48,
    width: int = 64,
    codec: str = "libx264",
    bframes: int = 0,
    seed: int = 0,
) -> Path:
    """Write a v2.1 dataset of ``episodes`` episodes with ``len(cameras)`` mp4 cameras into ``root``."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "meta").mkdir(parents=True, exist_ok=False)
    video_keys = [f"observation.images.{c}" for c in cameras]
    features: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": [6], "names": JOINTS},
        "action": {"dtype": "float32", "shape": [6], "names": JOINTS},
        **{k: video_feature(height, width, fps, "h264" if codec == "libx264" else codec) for k in video_keys},
        **index_features(),
    }
    episode_lines, stats_lines = [], []
    index = 0
    for ep in range(episodes):
        n = int(rng.integers(length[0], length[1] + 1))
        task_index = ep % len(TASKS)
        columns, _ = episode_columns(rng, ep, n, index, fps)
        videos = {key: _frames(rng, n, height, width) for key in video_keys}
        stats_lines.append(write_episode(root, ep, columns, videos, fps, codec, bframes))
        episode_lines.append({"episode_index": ep, "tasks": [TASKS[task_index]], "length": n})
        index += n
    write_meta(
        root,
        features=features,
        episode_lines=episode_lines,
        stats_lines=stats_lines,
        tasks=TASKS,
        fps=fps,
        robot_type="koch",
    )
    return root


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path, help="folder to create (must not exist)")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--cameras", default="top,wrist")
    parser.add_argument("--length", default="40,80", help="min,max frames per episode")
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT of each camera")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--codec", default="libx264")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    width, height = (int(x) for x in args.size.split("x"))
    lo, hi = (int(x) for x in args.length.split(","))
    write_v21_dataset(
        args.output,
        args.episodes,
        cameras=tuple(c for c in args.cameras.split(",") if c),
        length=(lo, hi),
        fps=args.fps,
        height=height,
        width=width,
        codec=args.codec,
        seed=args.seed,
    )
    print(f"wrote a v2.1 dataset of {args.episodes} episodes to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
