"""A few decoded frames per camera as PNG files (``lerobot-local check PATH --frames_dir=DIR``).

The lab looks at them to see that the right camera is under the right name before spending GPU hours.
Decoding uses PyAV (bundled FFmpeg), which works on every supported LeRobot line with no system FFmpeg.
Files: ``DIR/<camera key>/episode_<E>_frame_<F>.png``, the middle frame of episodes spread over the dataset.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from lerobot_local.dataset import EPISODES_JSONL, V30, data_file, episodes_table, version_of, video_file


def _spread(items: list[Any], count: int) -> list[Any]:
    if len(items) <= count:
        return list(items)
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]


def _decode_at(path: Path, seconds: float) -> np.ndarray:
    """The RGB frame shown at ``seconds`` into ``path`` (seek to the keyframe before, decode forward)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        container.seek(max(0, int(seconds / tb) - 1), stream=stream, backward=True, any_frame=False)
        last = None
        for frame in container.decode(stream):
            t = frame.pts * tb if frame.pts is not None else 0.0
            if last is not None and t > seconds + 1e-6:
                break
            last = frame
            if abs(t - seconds) < 1e-6:
                break
        if last is None:
            raise ValueError(f"no frame at {seconds:.3f} s")
        return last.to_ndarray(format="rgb24")


def _save(image: np.ndarray, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(target)
    return target


def _image_cell(root: Path, cell: Any) -> np.ndarray:
    data = cell.get("bytes") if isinstance(cell, dict) else None
    if not data and isinstance(cell, dict) and cell.get("path"):
        data = (root / cell["path"]).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def _episodes(root: Path, info: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per episode: index, length, and (v3.0) where its frames are."""
    if version_of(info) == V30:
        table = episodes_table(root)
        return table.to_pylist() if table is not None else []
    lines = (root / EPISODES_JSONL).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write_frames(
    root: Path, info: dict[str, Any], out: Path, per_camera: int
) -> tuple[list[Path], list[str]]:
    """Write ``per_camera`` frames of every camera; return (files written, problems met)."""
    features = info.get("features", {})
    cameras = [k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") in ("video", "image")]
    v30 = version_of(info) == V30
    fps = float(info.get("fps") or 30)
    written: list[Path] = []
    problems: list[str] = []
    for ep in _spread(_episodes(root, info), per_camera):
        index, length = int(ep["episode_index"]), int(ep["length"])
        middle = length // 2
        for key in cameras:
            target = out / key / f"episode_{index:06d}_frame_{middle:06d}.png"
            try:
                if features[key]["dtype"] == "video":
                    if v30:
                        path = root / video_file(info, key, ep)
                        start = float(ep[f"videos/{key}/from_timestamp"])
                    else:
                        chunk = index // int(info.get("chunks_size") or 1000)
                        rel = info["video_path"].format(
                            episode_chunk=chunk, video_key=key, episode_index=index
                        )
                        path, start = root / rel, 0.0
                    image = _decode_at(path, start + middle / fps)
                else:
                    if v30:
                        path = root / data_file(info, ep)
                        row = int(ep["dataset_from_index"]) + middle
                        table = pq.read_table(path, columns=[key, "index"])
                        where = table["index"].to_pylist().index(row)
                    else:
                        chunk = index // int(info.get("chunks_size") or 1000)
                        path = root / info["data_path"].format(episode_chunk=chunk, episode_index=index)
                        table, where = pq.read_table(path, columns=[key]), middle
                    image = _image_cell(root, table[key][where].as_py())
                written.append(_save(image, target))
            except Exception as exc:  # a damaged file: the structural checks name it; here, say and go on
                problems.append(f"episode {index} {key}: no frame written ({type(exc).__name__}: {exc})")
    return written, problems
