"""A grasp-like 480x640 two-camera dataset for the GPU benchmarks, written in seconds (episodes in parallel).

``synthetic_v21.write_v21_dataset`` draws every frame with float64 trigonometry and noise over the full
image, one episode after another: 294 s for 16 episodes of 480x640 on the GPU machine. Here one pattern per
camera and episode is drawn once and moved frame by frame (``np.roll``), the noise comes from a small bank,
and the episodes are written by a process pool (one per core), with the same v2.1 layout, parquet schema and
H.264 (GOP 2) encoding, or AV1 as LeRobot's recorder writes it (``codec="av1"``: libsvtav1, GOP 2,
crf 30); then ``lerobot-convert-local`` converts it to v3.0 as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from lerobot_local.demo import synthetic_v21 as s

CAMERAS = ("top", "wrist")


def _frames(seed: int, length: int, height: int, width: int) -> np.ndarray:
    """A moving smooth pattern with camera-like noise: one pattern drawn, then shifted per frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=3).astype(np.float32)
    base = np.stack(
        [127 + 100 * np.sin(xx / 7.0 + phase[c]) * np.cos(yy / 9.0 + phase[c]) for c in range(3)], axis=-1
    )
    noise = rng.normal(0, 4, size=(8, height, width, 3)).astype(np.float32)
    out = np.empty((length, height, width, 3), dtype=np.uint8)
    for t in range(length):
        frame = np.roll(base, shift=(t // 2, t), axis=(0, 1)) + noise[t % len(noise)]
        np.clip(frame, 0, 255, out=frame)
        out[t] = frame.astype(np.uint8)
    return out


def encode_av1(path: Path, frames: np.ndarray, fps: int) -> None:
    """AV1 as LeRobot's recorder writes it (``encode_video_frames``: libsvtav1, yuv420p, GOP 2, crf 30); the
    fastest SVT-AV1 preset, which changes the encoder's effort, not the stream's random-access structure."""
    import av  # PyAV: only the AV1 path needs it here

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libsvtav1", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": "2", "crf": "30", "preset": "12"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def _episode(args: tuple[Path, int, int, int, int, int, int, str]) -> dict[str, Any]:
    root, ep, n, index, fps, height, width, codec = args
    rng = np.random.default_rng(1000 + ep)
    task_index = ep % len(s.TASKS)
    columns, table = s.episode_columns(rng, ep, n, index, fps)
    chunk = ep // s.CHUNKS_SIZE
    data_file = root / s.DATA_PATH.format(episode_chunk=chunk, episode_index=ep)
    data_file.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, data_file)
    stats = {k: s._stats(v) for k, v in columns.items()}
    for c, camera in enumerate(CAMERAS):
        key = f"observation.images.{camera}"
        frames = _frames(ep * 10 + c, n, height, width)
        path = root / s.VIDEO_PATH.format(episode_chunk=chunk, video_key=key, episode_index=ep)
        if codec == "av1":
            encode_av1(path, frames, fps)
        else:
            s._encode(path, frames, fps, "libx264")
        stats[key] = s._image_stats(frames[:, ::4, ::4])  # every 16th pixel: the same stats to 3 digits
    return {
        "episode": {"episode_index": ep, "tasks": [s.TASKS[task_index]], "length": n},
        "stats": {"episode_index": ep, "stats": stats},
    }


def write_v21(
    root: Path, episodes: int, height: int = 480, width: int = 640, fps: int = 30, codec: str = "h264"
) -> Path:
    """Write the v2.1 dataset (episodes of 60-90 frames) with one process per core."""
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.integers(60, 91, size=episodes)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    (root / "meta").mkdir(parents=True, exist_ok=False)
    jobs = [(root, ep, lengths[ep], int(starts[ep]), fps, height, width, codec) for ep in range(episodes)]
    with ProcessPoolExecutor(max_workers=min(episodes, os.cpu_count() or 1)) as pool:
        rows = list(pool.map(_episode, jobs))
    video_keys = [f"observation.images.{c}" for c in CAMERAS]
    features: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": [6], "names": s.JOINTS},
        "action": {"dtype": "float32", "shape": [6], "names": s.JOINTS},
        **{k: s.video_feature(height, width, fps, codec) for k in video_keys},
        "timestamp": s._scalar("float32"),
        "frame_index": s._scalar("int64"),
        "episode_index": s._scalar("int64"),
        "index": s._scalar("int64"),
        "task_index": s._scalar("int64"),
    }
    info = {
        "codebase_version": "v2.1",
        "robot_type": "koch",
        "total_episodes": episodes,
        "total_frames": int(sum(lengths)),
        "total_tasks": len(s.TASKS),
        "total_videos": episodes * len(video_keys),
        "total_chunks": 1,
        "chunks_size": s.CHUNKS_SIZE,
        "fps": fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": s.DATA_PATH,
        "video_path": s.VIDEO_PATH,
        "features": features,
    }
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    s._write_jsonl(root / "meta" / "episodes.jsonl", [r["episode"] for r in rows])
    s._write_jsonl(root / "meta" / "episodes_stats.jsonl", [r["stats"] for r in rows])
    tasks = [{"task_index": i, "task": t} for i, t in enumerate(s.TASKS)]
    s._write_jsonl(root / "meta" / "tasks.jsonl", tasks)
    return root


def grasp_dataset(
    work: Path, episodes: int = 16, height: int = 480, width: int = 640, codec: str = "h264"
) -> Path:
    """The converted v3.0 dataset under ``work`` (written once; reused when present)."""
    name = f"grasp{episodes}" + ("" if codec == "h264" else f"_{codec}")
    v21, v30 = work / f"{name}_v21", work / f"{name}_v30"
    if not v30.is_dir():
        shutil.rmtree(v21, ignore_errors=True)
        write_v21(v21, episodes, height, width, codec=codec)
        convert = Path(sys.executable).parent / "lerobot-convert-local"
        subprocess.run([str(convert), f"--input={v21}", f"--output={v30}", "--progress=false"], check=True)
    return v30


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    out = grasp_dataset(Path(sys.argv[1]), episodes, codec=sys.argv[3] if len(sys.argv) > 3 else "h264")
    print(f"{out} in {time.perf_counter() - started:.1f} s")
