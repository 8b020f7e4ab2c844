"""Cut a small committed subset out of a real v2.1 recording (per-episode files), without re-encoding.

    python scripts/cut_real_subset.py SRC OUT --episodes=1,2,4,5 --start=90 --frames=60 [--keep_timestamps]

Each chosen episode keeps the rows [start, start+frames) of its data file and the same frames of each of its
videos, copied packet by packet (the recorder's own encoder output; the window must start on a key frame,
which LeRobot's GOP of 2 gives at every even frame). Episodes are renumbered 0..k-1; frame_index, index and
timestamp restart with the window (timestamp = frame_index / fps, or with --keep_timestamps the recorded
ones moved so that the window starts where the episode started: a recorder's clock jitter stays); the numeric
per-episode stats are recomputed from the kept rows (the cameras' stats are kept as recorded) and
meta/info.json's totals follow. The source is only read. tests/data/README.md says which windows.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC_SKIP = ("video", "image", "string")


def _stats(column: np.ndarray) -> dict[str, list[float]]:
    x = column.reshape(len(column), -1).astype(np.float64)
    return {
        "min": x.min(0).tolist(),
        "max": x.max(0).tolist(),
        "mean": x.mean(0).tolist(),
        "std": x.std(0).tolist(),
        "count": [len(x)],
    }


def _cut_video(src: Path, dst: Path, start: int, frames: int) -> None:
    """Packets [start, start+frames) of ``src`` into ``dst``, their timestamps shifted to start at 0."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        target = out.add_stream_from_template(stream, opaque=True)  # codec parameters only: no encoder
        packets = [p for p in inp.demux(stream) if p.size]
        window = packets[start : start + frames]
        if len(window) != frames or not window[0].is_keyframe:
            raise SystemExit(f"{src}: frames {start}..{start + frames - 1} do not start on a key frame")
        offset = window[0].pts
        for packet in window:
            packet.pts -= offset
            packet.dts = (packet.dts - offset) if packet.dts is not None else None
            packet.stream = target
            out.mux(packet)
    with av.open(str(dst)) as check:
        decoded = sum(1 for _ in check.decode(video=0))
    if decoded != frames:
        raise SystemExit(f"{dst}: decodes {decoded} frames, not {frames}")


def cut(src: Path, out: Path, episodes: list[int], start: int, frames: int, keep_timestamps: bool) -> None:
    info: dict[str, Any] = json.loads((src / "meta/info.json").read_text())
    fps = info["fps"]
    cameras = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    lines = {
        json.loads(x)["episode_index"]: json.loads(x)
        for x in (src / "meta/episodes.jsonl").read_text().splitlines()
        if x.strip()
    }
    stats_lines = {
        json.loads(x)["episode_index"]: json.loads(x)
        for x in (src / "meta/episodes_stats.jsonl").read_text().splitlines()
        if x.strip()
    }
    (out / "meta").mkdir(parents=True)
    episodes_out, stats_out, index = [], [], 0
    for new, old in enumerate(episodes):
        table = pq.read_table(src / info["data_path"].format(episode_chunk=0, episode_index=old))
        table = table.slice(start, frames)
        columns = {name: table.column(name) for name in table.column_names}
        columns["frame_index"] = pa.array(np.arange(frames, dtype=np.int64))
        if keep_timestamps:
            recorded = np.asarray(
                pq.read_table(src / info["data_path"].format(episode_chunk=0, episode_index=old))
                .column("timestamp")
                .to_pylist(),
                dtype=np.float64,
            )
            times = recorded[start : start + frames] - recorded[start] + recorded[0]
        else:
            times = np.arange(frames) / fps
        columns["timestamp"] = pa.array(times.astype(np.float32))
        columns["episode_index"] = pa.array(np.full(frames, new, dtype=np.int64))
        columns["index"] = pa.array(np.arange(index, index + frames, dtype=np.int64))
        cut_table = pa.Table.from_pydict(columns, schema=table.schema)
        dst = out / info["data_path"].format(episode_chunk=0, episode_index=new)
        dst.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(cut_table, dst)
        for camera in cameras:
            rel = info["video_path"].format(episode_chunk=0, video_key=camera, episode_index=new)
            old_rel = info["video_path"].format(episode_chunk=0, video_key=camera, episode_index=old)
            _cut_video(src / old_rel, out / rel, start, frames)
        stats = dict(stats_lines[old]["stats"])
        for name, feature in info["features"].items():
            if feature["dtype"] not in NUMERIC_SKIP and name in cut_table.column_names:
                stats[name] = _stats(np.asarray(cut_table.column(name).to_pylist()))
        episodes_out.append({**lines[old], "episode_index": new, "length": frames})
        stats_out.append({"episode_index": new, "stats": stats})
        index += frames
    info.update(
        total_episodes=len(episodes),
        total_frames=index,
        total_videos=len(episodes) * len(cameras),
        splits={"train": f"0:{len(episodes)}"},
    )
    (out / "meta/info.json").write_text(json.dumps(info, indent=4))
    (out / "meta/episodes.jsonl").write_text("".join(json.dumps(x) + "\n" for x in episodes_out))
    (out / "meta/episodes_stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in stats_out))
    shutil.copy(src / "meta/tasks.jsonl", out / "meta/tasks.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--episodes", required=True, help="source episode indices, comma separated")
    parser.add_argument("--start", type=int, default=0, help="first frame of each episode's window")
    parser.add_argument("--frames", type=int, required=True, help="frames kept per episode")
    parser.add_argument("--keep_timestamps", action="store_true", help="keep the recorded timestamps' steps")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists: choose a new folder")
    episodes = [int(e) for e in args.episodes.split(",")]
    cut(args.src, args.out, episodes, args.start, args.frames, args.keep_timestamps)


if __name__ == "__main__":
    main()
