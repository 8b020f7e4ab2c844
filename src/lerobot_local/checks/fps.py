"""Check: ``info.json`` fps agrees with every episode's timestamps, every video stream, and the policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.dataset import INFO_PATH, LocalDataset, data_files, episodes_table
from lerobot_local.facts import DatasetFacts, RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s
NAME = "fps"


def check_timestamps(files: list[Path], fps: float, tolerance_s: float = TOLERANCE_S) -> list[str]:
    """Episodes whose consecutive timestamps are not 1/fps apart (within LeRobot's tolerance), in the
    given data files (v3.0 aggregated files or v2.x episode files)."""
    import pyarrow.parquet as pq

    problems = []
    period = 1.0 / float(fps)
    for path in files:
        try:
            table = pq.read_table(path, columns=["episode_index", "timestamp"])
        except Exception:  # pyarrow raises several types; the dataset row names an unreadable file
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
                    f"{ep_stamps[i + 1]:.6f}, expected a step of 1/{fps} s"
                )
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


def _fps_problem(dataset: DatasetFacts) -> CheckResult | None:
    fps = (dataset.info or {}).get("fps")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps <= 0:
        return CheckResult(
            NAME,
            "error",
            f"{dataset.root / INFO_PATH} has fps={fps!r}.",
            "set fps to the recording rate (an integer such as 30)",
        )
    return None


@hookimpl
def lerobot_local_check_dataset(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult]:
    if dataset.local is None and dataset.source is None:
        return [CheckResult(NAME, "skipped", "no readable dataset (see the dataset check).")]
    bad_fps = _fps_problem(dataset)
    if bad_fps is not None:
        return [bad_fps]
    fps = int(dataset.info["fps"])
    if dataset.local is not None:
        files = data_files(dataset.root)
    else:
        src = dataset.source
        files = [src.data_file(ep.index) for ep in src.episodes if src.data_file(ep.index).is_file()]
    problems = check_timestamps(files, fps)  # the dataset check compares the video streams with fps
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return [
            CheckResult(
                NAME,
                "error",
                problems[0] + more,
                "correct fps in meta/info.json to the real recording rate, or re-record/re-encode",
            )
        ]
    return [CheckResult(NAME, "ok", f"{fps} fps agrees with the timestamps of every episode.")]


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    ds = facts.dataset
    if ds is None or _fps_problem(facts.data) is not None:
        return []
    return check_policy_horizon(facts.policy, ds)
