"""Check: ``info.json`` fps agrees with every episode's timestamps (the causes told apart by
:mod:`lerobot_local.values.timing`), and the policy's horizon fits the episodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lerobot_local.checks.dataset import convert_command
from lerobot_local.checks.values import train_without
from lerobot_local.dataset import INFO_PATH, LocalDataset, data_files, episodes_table, video_paths
from lerobot_local.facts import DatasetFacts, RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings
from lerobot_local.values.data import read_timing
from lerobot_local.values.timing import FPS as FPS_WRONG
from lerobot_local.values.timing import TIMESTAMPS, check_timing, timing_results

NAME = "fps"


def check_timestamps(files: list[Path], fps: float, info: dict[str, Any] | None = None) -> list[str]:
    """Every timing problem (wrong fps, gaps, backwards steps, wall-clock timestamps, dropped/duplicated
    rows) of the given data files (v3.0 aggregated files or v2.x episode files), one sentence each."""
    if not files:
        return []
    root = files[0].parents[2] if len(files[0].parents) > 2 else files[0].parent
    data = read_timing(root, {**(info or {}), "fps": fps}, files)
    return [f.message for f in check_timing(data)]


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
    info = dataset.info or {}
    if dataset.local is not None:
        files = data_files(dataset.root)
        total = int(info.get("total_episodes") or 0)

        def exclude(episodes: list[int]) -> str:
            return train_without(episodes, total)

    else:
        src = dataset.source
        files = [src.data_file(ep.index) for ep in src.episodes]

        def exclude(episodes: list[int]) -> str:
            return f"convert without them: {convert_command(src.root, episodes)}"

    data = read_timing(dataset.root, info, files)  # the dataset check compares the video streams
    findings = check_timing(data)
    if any(f.check in (FPS_WRONG, TIMESTAMPS) and f.episode is None for f in findings):
        # no episode steps by 1/fps: the videos say whether the fps or the timestamps are wrong
        findings = check_timing(data, video_fps=video_rate(dataset))
    return timing_results(data, findings, exclude, settings.values.max_listed)


def video_rate(dataset: DatasetFacts) -> float | None:
    """Frames per second of the dataset's first readable video stream (its frame count over its
    duration), None without videos."""
    import av  # PyAV: only when the timestamps disagree with info.json's fps

    features = (dataset.info or {}).get("features") or {}
    keys = [k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") == "video"]
    if not keys:
        return None
    if dataset.source is not None:
        src = dataset.source
        paths = [src.video_file(keys[0], ep.index) for ep in src.episodes[:3]]
    else:
        paths = video_paths(dataset.root, dataset.info or {}, keys[0])[:3]
    for path in paths:
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                frames = sum(1 for p in container.demux(stream) if p.pts is not None)
                if stream.duration and stream.time_base and frames > 1:
                    return frames / float(stream.duration * stream.time_base)
                if stream.average_rate:
                    return float(stream.average_rate)
        except (OSError, ValueError, IndexError, av.error.FFmpegError):
            continue
    return None


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    ds = facts.dataset
    if ds is None or _fps_problem(facts.data) is not None:
        return []
    return check_policy_horizon(facts.policy, ds)
