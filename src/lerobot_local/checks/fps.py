"""Check: ``info.json`` fps agrees with every episode's timestamps, every video stream, and the policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.checks.dataset_info import LocalDataset, episodes_table, video_file
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s
NAME = "fps"


def check_timestamps(ds: LocalDataset, tolerance_s: float = TOLERANCE_S) -> list[str]:
    """Episodes whose consecutive timestamps are not 1/fps apart (within LeRobot's tolerance)."""
    import pyarrow.parquet as pq

    problems = []
    period = 1.0 / float(ds.fps)
    for path in sorted((ds.root / "data").glob("chunk-*/file-*.parquet")):
        try:
            table = pq.read_table(path, columns=["episode_index", "timestamp"])
        except Exception as exc:
            problems.append(f"{path} cannot be read ({exc})")
            continue
        episodes = table["episode_index"].to_numpy()
        stamps = table["timestamp"].to_numpy().astype(np.float64)
        bounds = np.flatnonzero(np.diff(episodes)) + 1
        for ep_stamps, ep_ids in zip(np.split(stamps, bounds), np.split(episodes, bounds), strict=True):
            gaps = np.diff(ep_stamps)
            bad = np.abs(gaps - period) > tolerance_s
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                problems.append(
                    f"{path}: episode {int(ep_ids[0])} has timestamps {ep_stamps[i]:.6f} -> "
                    f"{ep_stamps[i + 1]:.6f}, expected a step of 1/{ds.fps} s"
                )
    return problems


def check_videos(ds: LocalDataset) -> list[str]:
    """Video files whose stream rate differs from fps or that end before their last episode."""
    import av
    from tqdm import tqdm

    if not ds.video_keys:
        return []
    fields = ("chunk_index", "file_index", "to_timestamp")
    columns = [f"videos/{k}/{c}" for k in ds.video_keys for c in fields]
    episodes = episodes_table(ds.root, columns=columns)
    rows = episodes.to_pylist() if episodes is not None else []
    problems = []
    ends: dict[Path, float] = {}
    try:
        for ep in rows:
            for key in ds.video_keys:
                path = ds.root / video_file(ds.info, key, ep)
                ends[path] = max(ends.get(path, 0.0), float(ep[f"videos/{key}/to_timestamp"]))
    except (KeyError, TypeError, ValueError) as exc:
        return [f"{ds.root}/meta/episodes lacks or garbles a video location ({type(exc).__name__}: {exc})"]
    bar = tqdm(sorted(ends.items()), desc="fps: video streams", unit="file", leave=False, disable=None)
    for path, end in bar:
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                rate = float(stream.average_rate or stream.guessed_rate or 0)
                duration = float(stream.duration * stream.time_base) if stream.duration else None
        except Exception as exc:
            problems.append(f"{path} cannot be opened ({exc})")
            continue
        if rate and abs(rate - float(ds.fps)) > 0.01 * float(ds.fps):
            problems.append(f"{path} runs at {rate:.3f} fps but meta/info.json says {ds.fps}")
        if duration is not None and duration + 1.0 / float(ds.fps) < end - TOLERANCE_S:
            problems.append(f"{path} lasts {duration:.3f} s but its episodes reach {end:.3f} s")
    return problems


def check_policy_horizon(policy: Any, ds: LocalDataset) -> list[CheckResult]:
    chunk = getattr(policy, "chunk_size", None) if policy is not None else None
    if not chunk:
        return []
    episodes = episodes_table(ds.root, columns=["length"])
    shortest = min(episodes["length"].to_pylist()) if episodes is not None else None
    if shortest is not None and shortest < chunk:
        return [
            CheckResult(
                "fps:horizon",
                "warning",
                f"the policy predicts {chunk} steps ({chunk / ds.fps:.2f} s at "
                f"{ds.fps} fps) but the shortest episode has {shortest} frames; its end is padded",
                "lower policy.chunk_size/n_action_steps or record longer episodes",
            )
        ]
    return [
        CheckResult(
            "fps:horizon", "ok", f"policy horizon {chunk} frames = {chunk / ds.fps:.2f} s at {ds.fps} fps"
        )
    ]


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    ds = facts.dataset
    if ds is None:
        return [CheckResult(NAME, "skipped", "no readable local v3.0 dataset (see the dataset check)")]
    fps = ds.fps
    if isinstance(fps, bool) or not isinstance(fps, int) or fps <= 0:
        return [
            CheckResult(
                NAME,
                "error",
                f"{ds.root}/meta/info.json has fps={fps!r}",
                "set fps to the recording rate (an integer such as 30)",
            )
        ]
    problems = check_timestamps(ds)
    if settings.deep_video_check:
        problems += check_videos(ds)
    results = check_policy_horizon(facts.policy, ds)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return [
            CheckResult(
                NAME,
                "error",
                problems[0] + more,
                "correct fps in meta/info.json to the real recording rate, or re-record/re-encode",
            ),
            *results,
        ]
    checked = "timestamps" + (" and video streams" if settings.deep_video_check and ds.video_keys else "")
    return [CheckResult(NAME, "ok", f"{fps} fps agrees with the {checked} of every episode"), *results]
