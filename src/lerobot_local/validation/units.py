"""The unit of each action joint, so every number and plot says what it measures.

Where the dataset says (``info.json``: ``features.action.unit`` / ``units``, one string or one per joint),
that wins; else a known robot (the dataset profile, or ``robot_type`` in ``info.json``) gives it: the Koch
arm's joints in degrees and its gripper in percent (how the lab's grasp recordings store them); else
"dataset units".
"""

from __future__ import annotations

from typing import Any

DATASET_UNITS = "dataset units"
# robot -> (unit of its arm joints, unit of its gripper); the gripper is the joint whose name says so.
ROBOT_UNITS = {"koch": ("degrees", "percent")}
# dataset profiles (lerobot_local.profiles) that describe one of those robots
PROFILE_ROBOTS = {"local_grasp": "koch"}


def _declared(info: dict[str, Any], dim: int) -> list[str] | None:
    action = (info.get("features") or {}).get("action") or {}
    declared = action.get("unit", action.get("units"))
    if isinstance(declared, str) and declared.strip():
        return [declared.strip()] * dim
    if isinstance(declared, list) and len(declared) == dim and all(isinstance(u, str) for u in declared):
        return [u.strip() or DATASET_UNITS for u in declared]
    return None  # absent, or keyed by joint name (the caller reads those with the names)


def _robot(info: dict[str, Any], profile: str | None) -> str | None:
    if profile and profile in PROFILE_ROBOTS:
        return PROFILE_ROBOTS[profile]
    robot = str(info.get("robot_type") or "").lower()
    return next((name for name in ROBOT_UNITS if robot.startswith(name)), None)


def joint_units(info: dict[str, Any] | None, names: list[str], profile: str | None = None) -> dict[str, str]:
    """Joint name -> unit, for the action joints ``names`` of the dataset described by ``info``."""
    info = info or {}
    declared = _declared(info, len(names))
    if declared is not None:
        return dict(zip(names, declared, strict=True))
    action = (info.get("features") or {}).get("action") or {}
    by_name = action.get("unit", action.get("units"))
    if isinstance(by_name, dict):
        return {n: str(by_name.get(n) or DATASET_UNITS) for n in names}
    robot = _robot(info, profile)
    if robot is None:
        return dict.fromkeys(names, DATASET_UNITS)
    arm, gripper = ROBOT_UNITS[robot]
    return {n: gripper if "gripper" in n.lower() else arm for n in names}


def units_label(units: dict[str, str]) -> str:
    """One phrase for a quantity averaged over joints: "degrees", or "degrees; gripper in percent"."""
    distinct = sorted(set(units.values()), key=list(units.values()).index)
    if len(distinct) <= 1:
        return distinct[0] if distinct else DATASET_UNITS
    main = max(distinct, key=list(units.values()).count)
    others = "; ".join(
        f"{', '.join(n for n, u in units.items() if u == unit)} in {unit}"
        for unit in distinct
        if unit != main
    )
    return f"{main}; {others}"
