"""No silent miss: a catalogue of damages, one at a time, each applied to a clean dataset with the stats
recomputed (so only the damage differs), each found by ``lerobot-local check`` (in-process ``run_check``)
under the right row, with the right file, episode, frame range and joint, and a fix right for that damage.

Sources: the bundled v2.1 sample (written by a real LeRobot 0.3.3 writer) and the v2.1 video fixture
converted to v3.0; with ``LEROBOT_LOCAL_REAL_DATA=/work/realdata`` also every real recording there (except
the one CATALOG.md marks HOLDOUT). Rows a real recording already shows before the damage are its own and
are allowed to stay; a damage must add only its own row (and, for damages that change row counts or
videos, the dataset row that says so).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE, tree_digest
from reliability_log import record

REAL_ENV = "LEROBOT_LOCAL_REAL_DATA"
STATE_KEYS = ("observation.state", "state")
ACTION_KEYS = ("action", "actions")


def real_sources() -> list[str]:
    """Real recordings under $LEROBOT_LOCAL_REAL_DATA (complete ones, the HOLDOUT left out)."""
    base = os.environ.get(REAL_ENV)
    if not base or not Path(base).is_dir():
        return []
    catalog = Path(base, "CATALOG.md")
    text = catalog.read_text() if catalog.is_file() else ""
    holdout = {line.split("`")[1] for line in text.splitlines() if "HOLDOUT:" in line and "`" in line}
    return sorted(
        p.name
        for p in Path(base).iterdir()
        if p.is_dir() and (Path(base) / f"READY_{p.name}").exists() and p.name not in holdout
    )


# ---------------------------------------------------------------------------------------------- the data


class Damaged:
    """A copy of a dataset whose rows can be changed in place, with the stats rewritten to match."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.info = json.loads((root / "meta/info.json").read_text())
        self.fps = float(self.info["fps"])
        self.version = self.info["codebase_version"]
        self.files = sorted((root / "data").glob("**/*.parquet"))
        self.tables = {p: pq.read_table(p) for p in self.files}
        names = self.tables[self.files[0]].column_names
        self.state = next(k for k in STATE_KEYS if k in names)
        self.action = next(k for k in ACTION_KEYS if k in names)
        self.names = _names(self.info["features"][self.state])
        self.saved = False
        self.episodes = sorted({int(e) for t in self.tables.values() for e in t["episode_index"].to_numpy()})

    # rows --------------------------------------------------------------------------------------------
    def file_of(self, episode: int) -> Path:
        return next(p for p, t in self.tables.items() if episode in set(t["episode_index"].to_numpy()))

    def rows(self, episode: int) -> np.ndarray:
        return np.flatnonzero(self.tables[self.file_of(episode)]["episode_index"].to_numpy() == episode)

    def array(self, path: Path, key: str) -> np.ndarray:
        column = self.tables[path][key].combine_chunks()
        if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
            return column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1).astype(np.float64)
        return column.to_numpy(zero_copy_only=False).astype(np.float64)

    def set_array(self, path: Path, key: str, values: np.ndarray) -> None:
        table = self.tables[path]
        field = table.schema.field(key)
        if values.ndim == 2:
            inner = field.type.value_type
            flat = pa.array(values.reshape(-1), inner)
            if pa.types.is_fixed_size_list(field.type):
                column = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
            else:
                offsets = pa.array(np.arange(0, values.size + 1, values.shape[1], dtype=np.int32))
                column = pa.ListArray.from_arrays(offsets, flat)
            column = column.cast(field.type)
        else:
            column = pa.array(values.astype(field.type.to_pandas_dtype()), field.type)
        self.tables[path] = table.set_column(table.schema.get_field_index(key), field, column)

    def edit(self, episode: int, key: str, change: Callable[[np.ndarray], None]) -> None:
        """``change(view)`` edits the episode's rows of ``key`` (a float64 copy written back)."""
        path = self.file_of(episode)
        values = self.array(path, key)
        rows = self.rows(episode)
        part = values[rows]
        change(part)
        values[rows] = part
        self.set_array(path, key, values)

    def take(self, episode: int, order: Callable[[np.ndarray], np.ndarray]) -> None:
        """Re-select the episode's rows (drop or repeat some): ``order(rows)`` gives the new row list."""
        path = self.file_of(episode)
        table = self.tables[path]
        rows = self.rows(episode)
        keep = np.r_[np.arange(rows[0]), order(rows), np.arange(rows[-1] + 1, table.num_rows)]
        self.tables[path] = table.take(pa.array(keep))

    # saving ------------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the tables and the stats that describe them (once: later edits go to metadata)."""
        if self.saved:
            return
        for path, table in self.tables.items():
            pq.write_table(table, path)
        self._stats()
        self.saved = True

    def _all(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        values = [self.array(p, key) for p in self.files]
        episodes = [self.tables[p]["episode_index"].to_numpy() for p in self.files]
        return np.concatenate(values), np.concatenate(episodes)

    def _stats(self) -> None:
        """meta/stats.json and (v2.1) meta/episodes_stats.jsonl describe the (damaged) data."""
        stats_path = self.root / "meta/stats.json"
        keys = (self.state, self.action)
        if stats_path.is_file():
            stats = json.loads(stats_path.read_text())
            for key in keys:
                x, _ = self._all(key)
                stats[key] = {**stats.get(key, {}), **_describe(x, stats.get(key, {}))}
            stats_path.write_text(json.dumps(stats, indent=2))
        path = self.root / "meta/episodes_stats.jsonl"
        if path.is_file():
            lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            for line in lines:
                for key in keys:
                    x, ep = self._all(key)
                    part = x[ep == line["episode_index"]]
                    if part.size and key in line["stats"]:
                        line["stats"][key] = {**line["stats"][key], **_describe(part, line["stats"][key])}
            path.write_text("".join(json.dumps(x) + "\n" for x in lines))

    # choices -----------------------------------------------------------------------------------------
    def joint(self) -> int:
        """A state joint (with an action of the same name) that moves in every episode, not a gripper."""
        x, ep = self._all(self.state)
        rng = np.ptp(x, axis=0)
        travel = np.array([np.ptp(x[ep == e], axis=0) for e in self.episodes])
        score = (travel / np.where(rng > 0, rng, np.inf)).min(0)
        for j in range(len(self.names)):
            if "gripper" in self.names[j].lower():
                score[j] = -1
        return int(np.argmax(score))

    def busiest(self, episode: int, width: int) -> int:
        """The first frame of the ``width`` frames of the episode's middle half where the chosen joint moves
        most (a freeze there is followed by a catch-up step)."""
        x = self.array(self.file_of(episode), self.state)[self.rows(episode)]
        j = self.joint()
        speed = np.abs(np.diff(x[:, j]))
        n = len(x)
        best, where = -1.0, n // 2
        for a in range(n // 4, 3 * n // 4 - width - 1):
            total = float(speed[a : a + width].sum())
            if total > best:
                best, where = total, a
        return where

    def length(self, episode: int) -> int:
        return int(self.rows(episode).size)


def _names(feature: dict) -> list[str]:
    names = feature.get("names")
    if isinstance(names, dict):
        names = next(iter(names.values()))
    flat: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, list):
            for i in item:
                walk(i)
        else:
            flat.append(str(item))

    walk(names)
    width = int(np.prod(feature["shape"]))
    return flat if len(flat) == width else [str(i) for i in range(width)]


def _describe(x: np.ndarray, like: dict) -> dict:
    x = np.where(np.isfinite(x), x, np.nan)
    out = {
        "min": np.nanmin(x, 0).tolist(),
        "max": np.nanmax(x, 0).tolist(),
        "mean": np.nanmean(x, 0).tolist(),
        "std": np.nanstd(x, 0).tolist(),
        "count": [len(x)],
    }
    for key in like:
        if key.startswith("q") and key[1:].isdigit():
            out[key] = np.nanquantile(x, int(key[1:]) / 100, axis=0).tolist()
    return out


# ------------------------------------------------------------------------------------------- the damages


@dataclass
class Expect:
    row: str  # the table row that reports it
    severity: str
    episode: int | None = None  # the finding's episode (None: a dataset-level finding)
    frames: tuple[int, int] | None = None
    joint: str | None = None
    fix: str = ""  # a word the fix must contain
    file: str | None = None  # a text the finding's message (or the row) must name
    allow: tuple[str, ...] = ()  # row-name prefixes this damage may add besides its own
    in_row_episodes: bool = False  # the row (a dataset row) flags the episode


# the v2.x source scan (the converter's) names the same timestamp problems under the dataset row
TIMING = ("dataset:timestamp",)
ROWS = ("dataset",)  # episode lengths and video streams no longer match the rows: the dataset row says so


def _ep(d: Damaged) -> int:
    return d.episodes[1]


def nan_in_action(d: Damaged) -> Expect:
    e, j = _ep(d), d.joint()
    f = d.length(e) // 2
    d.edit(e, d.action, lambda a: a.__setitem__((f, j), np.nan))
    return Expect("values:nan", "error", e, (f, f), d.names[j], "drop the episode", d.file_of(e).name)


def inf_in_state(d: Damaged) -> Expect:
    e, j = _ep(d), d.joint()
    f = d.length(e) // 3
    d.edit(e, d.state, lambda a: a.__setitem__((f, j), np.inf))
    return Expect("values:nan", "error", e, (f, f), d.names[j], "drop the episode", d.file_of(e).name)


def joint_constant_over_dataset(d: Damaged) -> Expect:
    j = d.joint()
    for e in d.episodes:
        d.edit(e, d.state, lambda a: a.__setitem__((slice(None), j), 0.25))
    return Expect("values:constant_joint", "warning", None, None, d.names[j], "record data where it moves")


def action_joint_constant_over_episode(d: Damaged) -> Expect:
    e, j = _ep(d), d.joint()
    d.edit(e, d.action, lambda a: a.__setitem__((slice(None), j), a[0, j]))
    n = d.length(e)
    return Expect("values:frozen_joint", "warning", e, (0, n - 1), d.names[j], "drop the episode")


def state_joint_constant_over_episode(d: Damaged) -> Expect:
    e, j = _ep(d), d.joint()
    d.edit(e, d.state, lambda a: a.__setitem__((slice(None), j), a[0, j]))
    n = d.length(e)
    return Expect("values:frozen_joint", "warning", e, (0, n - 1), d.names[j], "encoder")


def frozen_frames(d: Damaged) -> Expect:
    e = _ep(d)
    n = min(20, d.length(e) // 4)
    a = d.busiest(e, n)
    for key in (d.state, d.action):
        d.edit(e, key, lambda x: x.__setitem__(slice(a + 1, a + n + 1), x[a]))
    return Expect("values:frozen_frames", "warning", e, (a, a + n), None, "stalled")


def idle_head(d: Damaged) -> Expect | None:
    e = _ep(d)
    n = min(round(1.5 * d.fps), d.length(e) - 6)
    if n <= 1.2 * d.fps:
        return None  # the episode is too short for an idle run longer than values.max_idle_s
    for key in (d.state, d.action):
        d.edit(e, key, lambda x: x.__setitem__(slice(0, n), x[0]))
    return Expect("values:idle", "warning", e, (0, n - 1), None, "trim the idle frames")


def idle_tail(d: Damaged) -> Expect | None:
    e = _ep(d)
    length = d.length(e)
    n = min(round(1.5 * d.fps), length - 6)
    if n <= 1.2 * d.fps:
        return None  # the episode is too short for an idle run longer than values.max_idle_s
    for key in (d.state, d.action):
        d.edit(e, key, lambda x: x.__setitem__(slice(length - n, None), x[length - n - 1]))
    return Expect("values:idle", "warning", e, (length - n - 1, length - 1), None, "trim the idle frames")


def encoder_wrap(d: Damaged) -> Expect:
    e, j = _ep(d), d.joint()
    f = d.length(e) // 2
    x, _ = d._all(d.state)
    wrap = 2 * math.pi if np.ptp(x[:, j]) < 2 * math.pi else 360.0
    d.edit(e, d.state, lambda a: a.__setitem__((slice(f, None), j), a[f:, j] + wrap))
    return Expect("values:jump", "warning", e, (f - 1, f), d.names[j], "encoder wrap")


def garbled_reading(d: Damaged) -> Expect:
    e, j = _ep(d), d.joint()
    f = d.length(e) // 2
    x, _ = d._all(d.action)
    spike = 2 * float(np.ptp(x[:, j]))
    d.edit(e, d.action, lambda a: a.__setitem__((f, j), a[f, j] + spike))
    return Expect("values:jump", "warning", e, (f - 1, f + 1), d.names[j], "dropped serial packets")


def _shift_timestamps(d: Damaged, e: int, change: Callable[[np.ndarray], None]) -> None:
    path = d.file_of(e)
    ts = d.array(path, "timestamp")
    rows = d.rows(e)
    part = ts[rows]
    change(part)
    ts[rows] = part
    d.set_array(path, "timestamp", ts)


def timestamp_gap(d: Damaged) -> Expect:
    e = _ep(d)
    f = d.length(e) // 2
    _shift_timestamps(d, e, lambda t: t.__setitem__(slice(f, None), t[f:] + 1.0))
    return Expect("fps:gap", "error", e, (f - 1, f), None, "drop or re-record", d.file_of(e).name, TIMING)


def timestamp_backwards(d: Damaged) -> Expect:
    e = _ep(d)
    f = d.length(e) // 2
    _shift_timestamps(d, e, lambda t: t.__setitem__(slice(f, None), t[f:] - 3.0 / d.fps))
    return Expect("fps:gap", "error", e, (f - 1, f), None, "drop or re-record", d.file_of(e).name, TIMING)


def wall_clock_timestamps(d: Damaged) -> Expect:
    rng = np.random.default_rng(0)
    for e in d.episodes:

        def jitter(t: np.ndarray) -> None:
            t += 0.04 + np.cumsum(rng.normal(0, 0.004, t.size)).clip(-0.01, 0.01)

        _shift_timestamps(d, e, jitter)
    return Expect("fps:timestamps", "error", None, None, None, "--retime=true", allow=TIMING)


def dropped_rows(d: Damaged) -> Expect:
    e = _ep(d)
    f = d.length(e) // 2
    d.take(e, lambda rows: np.r_[rows[:f], rows[f + 10 :]])
    return Expect(
        "fps:frames", "error", e, (f - 1, f + 10), None, "drop or re-record", allow=("dataset",)
    )  # lengths, videos


def duplicated_rows(d: Damaged) -> Expect:
    e = _ep(d)
    f = d.length(e) // 2
    d.take(e, lambda rows: np.r_[rows[: f + 1], rows[f : f + 1], rows[f + 1 :]])
    return Expect(
        "fps:frames", "error", e, (f, f), None, "drop or re-record", allow=("dataset",)
    )  # lengths, videos


def stats_json_10x(d: Damaged) -> Expect | None:
    path = d.root / "meta/stats.json"
    if not path.is_file():
        return None
    d.save()
    stats = json.loads(path.read_text())
    j = d.joint()
    stats[d.state]["std"][j] *= 10
    path.write_text(json.dumps(stats))
    return Expect("values:stats", "error", None, None, d.names[j], "recompute the stats", "meta/stats.json")


def episodes_stats_10x(d: Damaged) -> Expect | None:
    path = d.root / "meta/episodes_stats.jsonl"
    if not path.is_file():
        return None
    d.save()
    e, j = _ep(d), d.joint()
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    for line in lines:
        if line["episode_index"] == e:
            line["stats"][d.action]["mean"][j] *= 10
            line["stats"][d.action]["mean"][j] += 10 * line["stats"][d.action]["std"][j]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return Expect("values:stats", "error", e, None, d.names[j], "recompute", "episodes_stats.jsonl")


def wrong_fps(d: Damaged) -> Expect:
    d.save()
    info = json.loads((d.root / "meta/info.json").read_text())
    info["fps"] = int(d.fps * 2)
    (d.root / "meta/info.json").write_text(json.dumps(info, indent=4))
    return Expect(
        "fps", "error", None, None, None, "set fps", "meta/info.json", allow=("dataset",)
    )  # lengths, videos


def _videos_of(d: Damaged, episode: int) -> list[Path]:
    keys = [k for k, f in d.info["features"].items() if f.get("dtype") == "video"]
    if d.version == "v3.0":
        return sorted(p for k in keys for p in (d.root / "videos" / k).glob("chunk-*/file-*.mp4"))[:1]
    chunk = episode // int(d.info.get("chunks_size") or 1000)
    return [
        d.root / d.info["video_path"].format(episode_chunk=chunk, video_key=k, episode_index=episode)
        for k in keys
    ][:1]


def _video_damage(change: Callable[[Path], None]) -> Callable[[Damaged], Expect | None]:
    def apply(d: Damaged) -> Expect | None:
        e = _ep(d) if d.version != "v3.0" else d.episodes[0]
        videos = [p for p in _videos_of(d, e) if p.is_file()]
        if not videos:
            return None
        d.save()
        change(videos[0])
        return Expect("dataset", "error", e, None, None, "", videos[0].name, in_row_episodes=True)

    return apply


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    a, b = len(data) // 4, 3 * len(data) // 4
    data[a:b] = np.random.default_rng(1).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    data[:64] = bytes(64)  # the container header too
    path.write_bytes(bytes(data))


def more_rows_than_video_frames(d: Damaged) -> Expect | None:
    e = _ep(d) if d.version != "v3.0" else d.episodes[-1]
    if not [p for p in _videos_of(d, e) if p.is_file()]:
        return None
    extra = 15
    path = d.file_of(e)
    d.take(e, lambda rows: np.r_[rows, np.repeat(rows[-1:], extra)])
    rows = d.rows(e)
    frames = d.array(path, "frame_index")
    ts = d.array(path, "timestamp")
    frames[rows[-extra:]] = frames[rows[-extra - 1]] + np.arange(1, extra + 1)
    ts[rows[-extra:]] = ts[rows[-extra - 1]] + np.arange(1, extra + 1) / d.fps
    d.set_array(path, "frame_index", frames)
    d.set_array(path, "timestamp", ts)
    if d.version != "v3.0":
        meta = d.root / "meta/episodes.jsonl"
        lines = [json.loads(x) for x in meta.read_text().splitlines() if x.strip()]
        for line in lines:
            if line["episode_index"] == e:
                line["length"] += extra
        meta.write_text("".join(json.dumps(x) + "\n" for x in lines))
        d.info["total_frames"] += extra
        (d.root / "meta/info.json").write_text(json.dumps(d.info, indent=4))
    return Expect("dataset", "error", e, None, None, "", None, allow=("values:idle",), in_row_episodes=True)


def missing_video(d: Damaged) -> Expect | None:
    return _video_damage(lambda p: p.unlink())(d)


def radians_to_degrees(d: Damaged) -> Expect | None:
    """One joint of one episode's state written in degrees (x57.3) where the others are in radians (or
    a degree joint x57.3 again): found by the episode against the others, stats recomputed."""
    if len(d.episodes) < 4:
        return None  # an episode is told from the others when there are at least 3 others
    e, j = _ep(d), d.joint()
    d.edit(e, d.state, lambda a: a.__setitem__((slice(None), j), a[:, j] * 57.29578))
    return Expect("values:units", "error", e, None, d.names[j], "convert that joint of the episode back")


def state_action_swapped(d: Damaged) -> Expect | None:
    """State and action swapped in one episode: the action follows the state there."""
    e = _ep(d)
    path = d.file_of(e)
    state, action = d.array(path, d.state), d.array(path, d.action)
    if state.shape != action.shape or len(d.episodes) < 4:
        return None
    rows = d.rows(e)
    state[rows], action[rows] = action[rows].copy(), state[rows].copy()
    d.set_array(path, d.state, state)
    d.set_array(path, d.action, action)
    # the swapped episode may also show a joint off the others (said as units): allowed beside it
    return Expect(
        "values:swapped",
        "warning",
        e,
        None,
        None,
        "swap observation.state and action back",
        allow=("values:units",),
    )


def pinned_command(d: Damaged) -> Expect | None:
    """The Koch: a joint's command clipped at a limit 5% of its range past the lowest reading, in every
    episode's lowest 10% of frames."""
    j = d.joint()
    x, _ = d._all(d.state)
    a, _ = d._all(d.action)
    if np.ptp(a[:, j]) == 0:
        return None  # that joint is never commanded (a constant action)
    limit = float(min(x[:, j].min(), a[:, j].min()) - 0.05 * np.ptp(x[:, j]))
    cut = float(np.quantile(a[:, j], 0.1))
    for e in d.episodes:
        d.edit(e, d.action, lambda v: v.__setitem__((v[:, j] <= cut, j), limit))
    return Expect("values:pinned_command", "warning", None, None, d.names[j], "calibration")


def unknown_task_index(d: Damaged) -> Expect:
    """An episode whose task_index names no task: LeRobot raises 'No task string found'."""
    e = _ep(d)
    path = d.file_of(e)
    tasks = d.array(path, "task_index")
    tasks[d.rows(e)] = 7
    d.set_array(path, "task_index", tasks)
    return Expect("tasks", "error", e, None, None, "add the missing task")


def info_totals_off(d: Damaged) -> Expect | None:
    """A v3.0 meta/info.json whose total_frames is ten times what its data holds (a subset cut by hand):
    LeRobot 0.4 samples frames past the end and dies ('Invalid key ... is out of bounds')."""
    if d.version != "v3.0":
        return None  # the converter counts a v2.x source's frames from its files
    d.info["total_frames"] *= 10
    (d.root / "meta/info.json").write_text(json.dumps(d.info, indent=4))
    return Expect("dataset:totals", "error", None, None, None, '"total_frames"', "meta/info.json")


DAMAGES: dict[str, Callable[[Damaged], Expect | None]] = {
    "one joint of one episode in degrees": radians_to_degrees,
    "state and action swapped in one episode": state_action_swapped,
    "a command pinned at a limit the arm never reaches": pinned_command,
    "an unknown task_index": unknown_task_index,
    "info.json totals ten times the data": info_totals_off,
    "NaN in an action": nan_in_action,
    "Inf in the state": inf_in_state,
    "a joint constant over the dataset": joint_constant_over_dataset,
    "an action joint constant over one episode": action_joint_constant_over_episode,
    "a state joint constant over one episode": state_joint_constant_over_episode,
    "20 frozen frames": frozen_frames,
    "an idle head": idle_head,
    "an idle tail": idle_tail,
    "an encoder wrap": encoder_wrap,
    "a garbled reading (spike)": garbled_reading,
    "a timestamp gap": timestamp_gap,
    "a backwards timestamp step": timestamp_backwards,
    "wall-clock timestamps": wall_clock_timestamps,
    "10 dropped rows": dropped_rows,
    "a duplicated row": duplicated_rows,
    "stats.json 10x off": stats_json_10x,
    "episodes_stats.jsonl 10x off": episodes_stats_10x,
    "wrong fps in info.json": wrong_fps,
    "a missing video": missing_video,
    "a truncated video": _video_damage(_truncate),
    "a corrupt video": _video_damage(_corrupt),
    "a video with fewer frames than rows": more_rows_than_video_frames,
}
VIDEO_DAMAGES = {
    "a missing video",
    "a truncated video",
    "a corrupt video",
    "a video with fewer frames than rows",
}

# ------------------------------------------------------------------------------------------- the checks

_BASELINES: dict[str, list] = {}


def _check(root: Path):
    from lerobot_local.dataset_check import parse_args, run_check

    return run_check(parse_args([str(root)]))


def _loud(report) -> dict[str, str]:
    return {r.name: r.severity for r in report.results if r.severity in ("error", "warning")}


def _source(name: str, request: pytest.FixtureRequest) -> Path:
    if name == "sample":
        return SAMPLE
    if name == "sample_v30":
        return request.getfixturevalue("v30_dataset")
    return Path(os.environ[REAL_ENV]) / name


def _assert_found(case: str, source: str, expect: Expect, report, baseline: dict[str, str]) -> None:
    rows = {r.name: r for r in report.results}
    table = "\n".join(f"{r.name} {r.severity} {r.message[:400]} | fix: {r.fix[:200]}" for r in report.results)
    where = f"{source}: {case}\n{table}"
    if expect.row == "dataset":
        loud = [r for r in report.results if r.name.startswith("dataset") and r.severity == "error"]
        assert loud, where
        row = next((r for r in loud if expect.episode in r.episodes), None)
        assert row is not None, f"no dataset row flags episode {expect.episode}\n{where}"
        if expect.file:
            assert expect.file in row.message, where
        assert row.fix, where
        return
    assert expect.row in rows and rows[expect.row].severity == expect.severity, where
    row = rows[expect.row]
    assert expect.fix.lower() in row.fix.lower(), where
    new = {n for n, s in _loud(report).items() if baseline.get(n) != s and n != expect.row}
    new = {n for n in new if not n.startswith(expect.allow)} if expect.allow else new
    assert not new, f"more than the one damage was reported: {new}\n{where}"
    details = [f for f in row.details if f.get("severity") in ("error", "warning")]
    match = [
        f
        for f in details
        if f.get("episode") == expect.episode
        and (expect.joint is None or f.get("joint") == expect.joint or expect.joint in str(f.get("joint")))
        and (expect.frames is None or (f.get("first_frame"), f.get("last_frame")) == expect.frames)
    ]
    assert match, (
        f"no finding with episode {expect.episode}, frames {expect.frames}, joint {expect.joint}\n"
        f"{where}\n{details[:5]}"
    )
    f = match[0]
    if expect.joint is not None:
        assert expect.joint in f["message"], f
    if expect.file is not None:
        assert expect.file in f["message"], f
    if expect.episode is not None:
        assert f"episode {expect.episode}" in f["message"], f
        assert expect.episode in row.episodes, row.episodes
    if expect.frames is not None:
        a, b = expect.frames
        assert (f"frame {a}" if a == b else f"{a}") in f["message"], f


SOURCES = ["sample", "sample_v30", *real_sources()]


@pytest.mark.parametrize("case", list(DAMAGES), ids=list(DAMAGES))
@pytest.mark.parametrize("source", SOURCES)
def test_damage_is_found(source: str, case: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    original = _source(source, request)
    root = tmp_path / source
    shutil.copytree(original, root)
    if source not in _BASELINES:
        _BASELINES[source] = _check(root).results
    baseline = {r.name: r.severity for r in _BASELINES[source] if r.severity in ("error", "warning")}
    d = Damaged(root)
    expect = DAMAGES[case](d)
    if expect is None:
        pytest.skip(f"{source} has nothing this damage applies to (no stats file, no video, short episodes)")
    d.save()
    whole = [
        f
        for r in _BASELINES[source]
        if r.name == expect.row
        for f in r.details
        if f.get("episode") is None and f.get("joint") == expect.joint
    ]
    if whole and expect.episode is not None:
        pytest.skip(f"{source} shows {expect.row} in most episodes before the damage (said once for all)")
    before = tree_digest(root)
    report = _check(root)
    assert tree_digest(root) == before, "the check modified the dataset"
    _assert_found(case, source, expect, report, baseline)
    row = next(r for r in report.results if r.name.startswith(expect.row) and r.severity == expect.severity)
    record("damage catalogue", f"{source}: {case}", f"{row.name} ({row.severity})", row.message[:160])


def test_real_data_catalogue_needs_the_variable() -> None:
    if not real_sources():
        pytest.skip(f"set {REAL_ENV}=/work/realdata to run the catalogue on real recordings too")
    assert len(real_sources()) >= 3
