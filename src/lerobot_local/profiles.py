"""Dataset profiles: what a lab's dataset must look like, checked before training (draccus registry)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import draccus
import pyarrow.parquet as pq

from lerobot_local.dataset import TASKS_PATH
from lerobot_local.registries import load_from_plugins
from lerobot_local.results import CheckResult


@dataclass
class DatasetProfile(draccus.ChoiceRegistry):
    """Expected shape of a dataset. ``None`` means "not constrained"."""

    fps: int | None = None
    state_dim: int | None = None
    action_dim: int | None = None
    min_cameras: int = 0
    require_task: bool = False
    # Index of the gripper in state/action (the value checks warn when it never opens or closes).
    gripper_index: int | None = None

    def check(self, root: Path, info: dict[str, Any]) -> list[CheckResult]:
        """Compare the v3.0 dataset at ``root`` (``info``: its parsed info.json) with this profile."""
        name = f"profile:{self.get_choice_name(type(self))}"
        features = info.get("features", {})
        problems = []
        if self.fps is not None and info.get("fps") != self.fps:
            problems.append(f"fps is {info.get('fps')}, the profile expects {self.fps}")
        for key, dim in (("observation.state", self.state_dim), ("action", self.action_dim)):
            if dim is None:
                continue
            shape = features.get(key, {}).get("shape")
            if shape != [dim]:
                problems.append(f"'{key}' has shape {shape}, the profile expects [{dim}]")
        cameras = [
            k
            for k, f in features.items()
            if k.startswith("observation.images.") and f.get("dtype") in ("video", "image")
        ]
        if len(cameras) < self.min_cameras:
            problems.append(
                f"{len(cameras)} observation.images.* camera(s), the profile expects at least "
                f"{self.min_cameras}"
            )
        if self.require_task:
            problems.extend(_empty_tasks(root))
        if problems:
            return [
                CheckResult(
                    name,
                    "error",
                    f"{root}: " + "; ".join(problems),
                    "record the dataset to match the profile, or set lerobot_local.profile to one "
                    "that describes it (lerobot-local doctor lists them)",
                )
            ]
        return [CheckResult(name, "ok", f"{root} matches the profile ({len(cameras)} camera(s))")]


def _empty_tasks(root: Path) -> list[str]:
    tasks_path = root / TASKS_PATH
    if not tasks_path.is_file():
        return [f"{tasks_path} is missing"]
    try:
        table = pq.read_table(tasks_path)
    except Exception as exc:
        return [f"{tasks_path} cannot be read ({exc})"]
    names = [c for c in table.column_names if c != "task_index"]
    strings = table[names[0]].to_pylist() if names else []
    empty = [s for s in strings if not isinstance(s, str) or not s.strip()]
    return [f"{len(empty)} empty task string(s) in {tasks_path}"] if empty else []


@DatasetProfile.register_subclass("local_grasp")
@dataclass
class LocalGraspProfile(DatasetProfile):
    """The lab's grasp dataset: Koch arm (6-dim state/action), 30 fps, >= 1 camera, a task per frame."""

    fps: int | None = 30
    state_dim: int | None = 6
    action_dim: int | None = 6
    min_cameras: int = 1
    require_task: bool = True
    # the Koch arm: shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper
    gripper_index: int | None = 5


def get_profile(name: str) -> DatasetProfile:
    """Instantiate the registered profile ``name``."""
    choices = known_profiles()
    if name not in choices:
        raise KeyError(f"dataset profile {name!r} is not registered; known: {', '.join(choices)}")
    return choices[name]()


def known_profiles() -> dict[str, type[DatasetProfile]]:
    """Every registered profile (built-in and from plugins), by name."""
    load_from_plugins(DatasetProfile, "lerobot_local_register_profiles", "profile")
    return dict(DatasetProfile.get_known_choices())
