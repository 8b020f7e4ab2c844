"""Write small, deterministic LeRobot v2.1 datasets with a real v2.1 writer (LeRobot 0.3.3).

This script must run inside an environment that has ``lerobot==0.3.3`` installed (see
``scripts/make_v21_fixtures.sh``). It writes three datasets, then loads each one back with 0.3.3's
``LeRobotDataset`` and checks it:

* ``tests/fixtures/v21_video``    -- 3 episodes (20, 31, 17 frames), two video cameras 48x64.
* ``tests/fixtures/v21_images``   -- 2 episodes (12, 9 frames), the same cameras stored as images.
* ``examples/sample_grasp_v21``   -- the demo sample: 4 episodes of 45 frames, two video cameras 96x128.

Every camera frame carries its frame index as an 8-bit pattern of black/white blocks (top rows of the
``top`` camera, bottom rows of the ``wrist`` camera), and a square / bar moves with the frame index, so
decoded-frame comparisons are meaningful. The script works offline (``HF_HUB_OFFLINE=1``). Output is
byte-for-byte reproducible with the same package versions (it re-runs itself with ``PYTHONHASHSEED=0``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 encoder: errors only, not its per-video config banner

from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset

FPS = 30
ROBOT_TYPE = "koch"
JOINT_NAMES = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
CAMERAS = ("observation.images.top", "observation.images.wrist")
RED_CUBE = "grasp the red cube"
PLACE_BIN = "place the cube in the bin"
BLUE_CYL = "grasp the blue cylinder"
SAMPLE_TASK = "grasp the red cube and place it in the bin"
# Per-episode object colours (RGB) and background tints, indexed by episode_index modulo the length.
OBJECT_COLORS = [(220, 30, 30), (230, 60, 40), (30, 60, 220), (200, 40, 90)]
BACKGROUNDS = [(40, 60, 40), (60, 40, 40), (40, 40, 70), (55, 55, 30)]
VIDEO_MAE_LIMIT = 0.06  # mean abs error (on [0, 1]) allowed between a decoded video frame and its source


@dataclass
class Spec:
    """What one fixture dataset contains."""

    rel_path: str
    repo_id: str
    height: int
    width: int
    use_videos: bool
    # One list per episode: the task of every frame of that episode.
    episode_tasks: list[list[str]]
    seed: int
    written: dict[str, list[np.ndarray]] = field(default_factory=dict)


def task_list(*parts: tuple[str, int]) -> list[str]:
    """Expand ``(task, n_frames)`` pairs into a per-frame task list."""
    return [task for task, n in parts for _ in range(n)]


def specs() -> list[Spec]:
    """The three datasets to write."""
    return [
        Spec(
            rel_path="tests/fixtures/v21_video",
            repo_id="local/grasp_video",
            height=48,
            width=64,
            use_videos=True,
            episode_tasks=[
                task_list((RED_CUBE, 20)),
                task_list((RED_CUBE, 15), (PLACE_BIN, 16)),
                task_list((BLUE_CYL, 17)),
            ],
            seed=2101,
        ),
        Spec(
            rel_path="tests/fixtures/v21_images",
            repo_id="local/grasp_images",
            height=48,
            width=64,
            use_videos=False,
            episode_tasks=[task_list((RED_CUBE, 12)), task_list((RED_CUBE, 5), (PLACE_BIN, 4))],
            seed=2102,
        ),
        Spec(
            rel_path="examples/sample_grasp_v21",
            repo_id="local/sample_grasp",
            height=96,
            width=128,
            use_videos=True,
            episode_tasks=[task_list((SAMPLE_TASK, 45)) for _ in range(4)],
            seed=2103,
        ),
    ]


def features_for(spec: Spec) -> dict[str, dict]:
    """LeRobot feature dict: 6-dim state/action and two cameras (video or image)."""
    cam_dtype = "video" if spec.use_videos else "image"
    feats: dict[str, dict] = {
        "observation.state": {"dtype": "float32", "shape": (6,), "names": list(JOINT_NAMES)},
        "action": {"dtype": "float32", "shape": (6,), "names": list(JOINT_NAMES)},
    }
    for cam in CAMERAS:
        feats[cam] = {
            "dtype": cam_dtype,
            "shape": (spec.height, spec.width, 3),
            "names": ["height", "width", "channels"],
        }
    return feats


def draw_bits(img: np.ndarray, value: int, row0: int, block: int) -> None:
    """Paint ``value`` as 8 black/white blocks (MSB first) starting at row ``row0``."""
    for bit in range(8):
        on = (value >> (7 - bit)) & 1
        img[row0 : row0 + block, bit * block : (bit + 1) * block] = 255 if on else 0


def top_frame(h: int, w: int, ep: int, t: int) -> np.ndarray:
    """Top camera: tinted background, frame-index bits on top, an object moving left-to-right."""
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = BACKGROUNDS[ep % len(BACKGROUNDS)]
    block = w // 8
    draw_bits(img, t, 0, block)
    size = max(8, h // 5)
    span = w - size
    x = (t * 3) % span
    y = block + 2 + int((h - block - size - 4) * (0.5 + 0.5 * np.sin(t / 5.0 + ep)))
    img[y : y + size, x : x + size] = OBJECT_COLORS[ep % len(OBJECT_COLORS)]
    return img


def wrist_frame(h: int, w: int, ep: int, t: int) -> np.ndarray:
    """Wrist camera: vertical gradient, frame-index bits at the bottom, a bar moving top-to-bottom."""
    grad = np.linspace(30, 200, h, dtype=np.float32)[:, None]
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[..., 0] = grad.astype(np.uint8)
    img[..., 1] = (230 - grad).astype(np.uint8)
    img[..., 2] = np.uint8(80 + 40 * (ep % 4))
    block = w // 8
    draw_bits(img, t, h - block, block)
    bar = max(6, h // 8)
    y = (t * 2) % (h - block - bar)
    r, g, b = OBJECT_COLORS[ep % len(OBJECT_COLORS)]
    img[y : y + bar, w // 4 : 3 * w // 4] = (255 - r, 255 - g, 255 - b)
    return img


def trajectory(rng: np.random.Generator, n: int, ep: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth joint trajectories with noise: (state, action), both float32 of shape (n, 6)."""
    t = np.arange(n + 1, dtype=np.float64)[:, None] / FPS
    freq = np.array([0.5, 0.7, 0.9, 1.1, 1.3, 0.4])[None, :]
    amp = np.array([30.0, 25.0, 40.0, 20.0, 15.0, 35.0])[None, :]
    offset = np.array([0.0, 90.0, -60.0, 10.0, 0.0, 20.0])[None, :]
    clean = offset + amp * np.sin(2 * np.pi * freq * t + 0.7 * ep)
    state = clean[:-1] + rng.normal(0.0, 0.3, size=(n, 6))
    action = clean[1:] + rng.normal(0.0, 0.3, size=(n, 6))
    return state.astype(np.float32), action.astype(np.float32)


def write_dataset(spec: Spec, root: Path) -> None:
    """Create the dataset at ``root`` with the v2.1 writer, keeping what was written for checks."""
    rng = np.random.default_rng(spec.seed)
    ds = LeRobotDataset.create(
        repo_id=spec.repo_id,
        fps=FPS,
        root=root,
        robot_type=ROBOT_TYPE,
        features=features_for(spec),
        use_videos=spec.use_videos,
    )
    written: dict[str, list[np.ndarray]] = {"observation.state": [], "action": []}
    for ep, tasks in enumerate(spec.episode_tasks):
        n = len(tasks)
        state, action = trajectory(rng, n, ep)
        written["observation.state"].append(state)
        written["action"].append(action)
        for t in range(n):
            frame = {
                "observation.state": state[t],
                "action": action[t],
                CAMERAS[0]: top_frame(spec.height, spec.width, ep, t),
                CAMERAS[1]: wrist_frame(spec.height, spec.width, ep, t),
            }
            ds.add_frame(frame, task=tasks[t])
        ds.save_episode()
    spec.written = written


def to_hwc_uint8(x: object) -> np.ndarray:
    """Convert a loaded (C, H, W) float image in [0, 1] to (H, W, C) uint8."""
    arr = np.asarray(x, dtype=np.float32)
    return np.clip(np.round(arr.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def mae(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute error between two uint8 images, on a [0, 1] scale."""
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() / 255.0)


def verify_dataset(spec: Spec, root: Path) -> dict[str, object]:
    """Load the dataset back with 0.3.3 and assert it holds exactly what was written."""
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v2.1", info["codebase_version"]
    assert (root / "meta" / "episodes_stats.jsonl").is_file()
    lengths = [len(t) for t in spec.episode_tasks]
    # torchcodec needs system FFmpeg libraries; PyAV ships its own, so read videos with it.
    ds = LeRobotDataset(spec.repo_id, root=root, video_backend="pyav")
    assert ds.num_episodes == len(lengths), ds.num_episodes
    assert len(ds) == ds.num_frames == sum(lengths), len(ds)
    assert info["total_frames"] == sum(lengths) and info["fps"] == FPS
    assert info["robot_type"] == ROBOT_TYPE
    for cam in CAMERAS:
        assert info["features"][cam]["dtype"] == ("video" if spec.use_videos else "image")
    worst = 0.0
    idx = 0
    for ep, tasks in enumerate(spec.episode_tasks):
        for t, task in enumerate(tasks):
            item = ds[idx]
            assert int(item["episode_index"]) == ep and int(item["frame_index"]) == t
            assert int(item["index"]) == idx and item["task"] == task, (item["task"], task)
            assert abs(float(item["timestamp"]) - t / FPS) < 1e-4
            for key in ("observation.state", "action"):
                assert np.array_equal(item[key].numpy(), spec.written[key][ep][t]), (key, ep, t)
            for cam, gen in zip(CAMERAS, (top_frame, wrist_frame), strict=True):
                got = to_hwc_uint8(item[cam])
                want = gen(spec.height, spec.width, ep, t)
                assert got.shape == want.shape, (cam, got.shape)
                if spec.use_videos:
                    err = mae(got, want)
                    worst = max(worst, err)
                    assert err < VIDEO_MAE_LIMIT, (cam, ep, t, err)
                    if t > 0:  # the decoded frame must be closer to its own source than to the previous one
                        assert err < mae(got, gen(spec.height, spec.width, ep, t - 1)), (cam, ep, t)
                else:
                    assert np.array_equal(got, want), (cam, ep, t)
            idx += 1
    return {"episodes": ds.num_episodes, "frames": len(ds), "tasks": dict(ds.meta.tasks), "worst_mae": worst}


def probe_videos(root: Path) -> list[str]:
    """Open every mp4 with PyAV and report codec (decoder), decoded frame count, fps and size."""
    import av

    lines = []
    for path in sorted(root.rglob("*.mp4")):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            n = sum(1 for _ in container.decode(stream))
            codec = stream.codec_context.codec
            lines.append(
                f"{path.relative_to(root)}: codec={codec.canonical_name} (decoder {codec.name}) frames={n} "
                f"fps={stream.average_rate} size={stream.width}x{stream.height} pix_fmt={stream.pix_fmt}"
            )
    return lines


def folder_size(root: Path) -> int:
    """Total size in bytes of the files under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, (re)write the three datasets and check them."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        # 0.3.3 orders an episode's "tasks" (meta/episodes.jsonl) via list(set(tasks)): pin str hashing.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)
    default_root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out-root", type=Path, default=default_root, help="folder the output paths are under"
    )
    args = parser.parse_args(argv)
    print(f"lerobot writer codebase_version={CODEBASE_VERSION}")
    for spec in specs():
        root = (args.out_root / spec.rel_path).resolve()
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        write_dataset(spec, root)
        # The writer's scratch PNGs (empty dirs for video datasets; image data is embedded in the parquet
        # files) are not part of a published dataset: push_to_hub ignores "images/". Drop them too.
        shutil.rmtree(root / "images", ignore_errors=True)
        summary = verify_dataset(spec, root)
        print(f"== {spec.rel_path} ({spec.repo_id}) size={folder_size(root)} bytes")
        print(f"   {summary}")
        for line in probe_videos(root):
            print(f"   {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
