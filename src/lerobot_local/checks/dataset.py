"""Check: the dataset root exists locally and holds a complete v3.0 dataset (else LeRobot tries the Hub)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from lerobot_local.checks.dataset_info import (
    data_file,
    episodes_table,
    info_problems,
    video_file,
)
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.paths import inside
from lerobot_local.results import CheckResult

NAME = "dataset"


def _convert_command(root: Path) -> str:
    out = root.with_name(root.name + "_v30")
    return (
        f"lerobot-convert-local --input={shlex.quote(str(root))} --output={shlex.quote(str(out))}, "
        f"then train with --dataset.root={shlex.quote(str(out))}"
    )


def check_dataset(facts: RunFacts) -> CheckResult:
    root = facts.dataset_root
    if root is None:
        return CheckResult(
            NAME,
            "error",
            "dataset.root is not set, so LeRobot would download dataset.repo_id from the Hugging Face Hub",
            "set --dataset.root=PATH to your local v3.0 dataset folder",
        )
    if not root.is_dir():
        return CheckResult(
            NAME,
            "error",
            f"dataset.root {root} does not exist, so LeRobot would fall back to the Hugging Face Hub",
            "fix --dataset.root (relative paths start from the current folder)",
        )
    info_path = root / "meta" / "info.json"
    info = facts.dataset_info
    version = info.get("codebase_version") if info is not None else None
    if info is None or version is None:
        return CheckResult(
            NAME,
            "error",
            f"{info_path} is missing or invalid"
            + (f" ({facts.dataset_info_error})" if facts.dataset_info_error else ""),
            "point --dataset.root at a LeRobot dataset folder (it holds meta/info.json)",
        )
    if version in ("v2.0", "v2.1"):
        return CheckResult(
            NAME,
            "error",
            f"{root} is a {version} dataset; this LeRobot loads only v3.0",
            _convert_command(root),
        )
    if version != "v3.0":
        return CheckResult(
            NAME,
            "error",
            f"{info_path} has codebase_version={version!r}; expected v3.0",
            "convert or re-record the dataset",
        )
    problems = info_problems(info)
    if problems:
        return CheckResult(
            NAME,
            "error",
            f"{info_path} " + "; ".join(problems),
            "restore meta/info.json written by the converter (or re-run lerobot-convert-local)",
        )
    try:
        episodes = episodes_table(root)
    except Exception as exc:
        return CheckResult(
            NAME,
            "error",
            f"{root}/meta/episodes is unreadable ({exc})",
            "re-run the conversion into a new folder",
        )
    if episodes is None:
        return _incomplete(root, [root / "meta" / "episodes"])
    try:
        files = _referenced_files(info, episodes.to_pylist())
    except (KeyError, TypeError, ValueError) as exc:
        return CheckResult(
            NAME,
            "error",
            f"{root}/meta/episodes lacks or garbles a file location ({type(exc).__name__}: {exc})",
            "re-run lerobot-convert-local into a new folder",
        )
    outside = [rel for rel in sorted(files) if inside(root, rel) is None]
    if outside:
        return CheckResult(
            NAME,
            "error",
            f"{root / outside[0]} leads outside the dataset folder"
            + (f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""),
            "keep every data and video file inside dataset.root (replace links by the real files)",
        )
    missing = [root / rel for rel in sorted(files) if not (root / rel).is_file()]
    if not (root / "meta" / "tasks.parquet").is_file():
        missing.insert(0, root / "meta" / "tasks.parquet")
    if missing:
        return _incomplete(root, missing)
    return CheckResult(
        NAME,
        "ok",
        f"{root}: complete v3.0 dataset, {info.get('total_episodes')} episodes, "
        f"{info.get('total_frames')} frames",
    )


def _incomplete(root: Path, missing: list[Path]) -> CheckResult:
    shown = ", ".join(str(p) for p in missing[:3]) + (
        f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    )
    return CheckResult(
        NAME,
        "error",
        f"{root} is an incomplete v3.0 dataset: missing {shown}",
        "re-run lerobot-convert-local into a new folder, or restore the files",
    )


def _referenced_files(info: dict[str, Any], episodes: list[dict[str, Any]]) -> set[str]:
    """Dataset-relative paths of every data and video file that meta/episodes points at."""
    wanted: set[str] = set()
    video_keys = [k for k, f in info["features"].items() if f.get("dtype") == "video"]
    for ep in episodes:
        wanted.add(data_file(info, ep))
        wanted.update(video_file(info, key, ep) for key in video_keys)
    return wanted


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    return [check_dataset(facts)]
