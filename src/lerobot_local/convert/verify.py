"""Check a converted dataset against its source, through the INSTALLED LeRobot's ``LeRobotDataset``.

``quick``: metadata, and frames at the first and last frame of (up to ``max_episodes``) episodes.
``full``: every frame. State, action, timestamps, indices, task and decoded images must equal the source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from lerobot_local.convert.columns import data_columns, derived_task
from lerobot_local.convert.errors import ConversionError
from lerobot_local.convert.source import SourceDataset
from lerobot_local.convert.timing import retimed

logger = logging.getLogger("lerobot_local." + __name__.rsplit(".", 1)[-1])


@dataclass
class VerifyResult:
    mode: str
    checks: list[str] = field(default_factory=list)
    frames_compared: int = 0
    lerobot_version: str = ""


def _quick_episodes(n: int, max_episodes: int) -> list[int]:
    if n <= max_episodes:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, max_episodes).round().astype(int).tolist()))


class _SourceEpisodeReader:
    """Source frames of one episode: parquet rows and decoded video frames, loaded on demand."""

    def __init__(self, src: SourceDataset, ep_index: int) -> None:
        self.src = src
        self.table = pq.read_table(src.data_file(ep_index)).to_pylist()
        self.ep_index = ep_index
        self._video: dict[str, dict[int, np.ndarray]] = {}

    def video_frames(self, key: str, wanted: set[int]) -> dict[int, np.ndarray]:
        have = self._video.setdefault(key, {})
        missing = wanted - have.keys()
        if missing:
            with av.open(str(self.src.video_file(key, self.ep_index))) as container:
                for i, frame in enumerate(container.decode(video=0)):
                    if i in missing:
                        have[i] = frame.to_ndarray(format="rgb24")
                    if i >= max(missing):
                        break
        return have


def _as_uint8_hwc(value: Any) -> np.ndarray:
    """LeRobot returns images as float CHW in [0, 1]; turn them back into uint8 HWC."""
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    return np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def _decode_image_cell(src: SourceDataset, cell: Any) -> np.ndarray:
    import io

    from PIL import Image

    data = cell.get("bytes") or (src.root / cell["path"]).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def verify_conversion(
    src: SourceDataset,
    out: Path,
    mode: str,
    renumbered: dict[int, int],
    task_map: dict[int, int],
    max_episodes: int = 20,
    progress: bool = True,
    retime: bool = False,
) -> VerifyResult:
    """Load ``out`` with the installed LeRobot and compare frames with ``src``; raise on any difference."""
    from lerobot_local import compat

    result = VerifyResult(mode=mode, lerobot_version=compat.lerobot_version())
    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    if dataset.num_episodes != len(src.episodes) or dataset.num_frames != src.total_frames:
        raise ConversionError(
            out,
            f"LeRobot loads {dataset.num_episodes} episodes / {dataset.num_frames} frames, "
            f"expected {len(src.episodes)} / {src.total_frames}",
            "report this as a bug",
        )
    result.checks.append(
        f"LeRobot {result.lerobot_version} loads {dataset.num_episodes} episodes, {dataset.num_frames} frames"
    )
    if dataset.fps != src.fps:
        raise ConversionError(
            out, f"LeRobot reads fps={dataset.fps}, expected {src.fps}", "report this as a bug"
        )
    episodes = (
        range(len(src.episodes)) if mode == "full" else _quick_episodes(len(src.episodes), max_episodes)
    )
    total = sum(
        src.episodes[i].length if mode == "full" else min(2, src.episodes[i].length) for i in episodes
    )
    bar = tqdm(total=total, desc=f"verify ({mode})", unit="frame", disable=not progress)
    start = 0
    starts = np.cumsum([0] + [ep.length for ep in src.episodes])
    feature_keys = [k for k in data_columns(src) if k not in src.image_keys]
    for pos in episodes:
        ep = src.episodes[pos]
        start = int(starts[pos])
        frames = range(ep.length) if mode == "full" else sorted({0, ep.length - 1})
        reader = _SourceEpisodeReader(src, ep.index)
        decoded = {k: reader.video_frames(k, set(frames)) for k in src.video_keys}
        for f in frames:
            item = dataset[start + f]
            row = reader.table[f]
            where = f"episode {ep.index} frame {f}"
            source_task = int(row["task_index"]) if "task_index" in row else derived_task(src, ep)
            for key in feature_keys:
                if key == "episode_index":
                    expected = np.asarray(renumbered.get(ep.index, ep.index))
                elif key == "index":
                    expected = np.asarray(start + f)
                elif key == "task_index":
                    expected = np.asarray(task_map[source_task])
                elif key == "frame_index" and key not in row:
                    expected = np.asarray(f)
                elif key == "timestamp" and (retime or key not in row):
                    expected = np.asarray(retimed(f + 1, src.fps)[f])
                else:
                    expected = np.asarray(row[key])
                got = np.asarray(item[key].numpy() if hasattr(item[key], "numpy") else item[key])
                if got.shape != expected.shape and got.size == expected.size:
                    got = got.reshape(expected.shape)
                if expected.dtype.kind == "f" and got.dtype.kind == "f":  # cast to the declared type
                    expected = expected.astype(got.dtype)
                nan_ok = expected.dtype.kind == "f"
                if not np.array_equal(got.astype(expected.dtype, copy=False), expected, equal_nan=nan_ok):
                    raise ConversionError(
                        out,
                        f"{where}: '{key}' is {got.tolist()} after conversion but "
                        f"{expected.tolist()} in the source",
                        "report this as a bug",
                    )
            if item["task"] != src.tasks[source_task]:
                raise ConversionError(
                    out, f"{where}: task {item['task']!r} differs from the source", "report this as a bug"
                )
            for key in src.video_keys:
                if not np.array_equal(_as_uint8_hwc(item[key]), decoded[key][f]):
                    raise ConversionError(
                        out, f"{where}: decoded '{key}' differs from the source video", "report this as a bug"
                    )
            for key in src.image_keys:
                if not np.array_equal(_as_uint8_hwc(item[key]), _decode_image_cell(src, row[key])):
                    raise ConversionError(
                        out, f"{where}: image '{key}' differs from the source", "report this as a bug"
                    )
            result.frames_compared += 1
            bar.update()
    bar.close()
    result.checks.append(
        f"{result.frames_compared} frames equal to the source (state, action, timestamps, "
        f"indices, task, {len(src.video_keys) + len(src.image_keys)} camera(s))"
    )
    return result
