"""What every value check shares: the check names (stable: users switch them with severity overrides), the
fixes, a :class:`Finding` (file, episode, frames, joint), the context the checks read besides the arrays, the
per-joint facts computed once by :mod:`.scan`, and the small helpers that locate and name a finding."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lerobot_local.values.data import ValueData
from lerobot_local.values.settings import ValueCheckSettings

# Check names (stable: users switch them with severity overrides; "values" switches the family).
NAN = "values:nan"
CONSTANT = "values:constant_joint"
FROZEN_STATE = "values:frozen_state"
FROZEN_JOINT = "values:frozen_joint"
FROZEN_FRAMES = "values:frozen_frames"
IDLE = "values:idle"
JUMP = "values:jump"
SATURATION = "values:saturation"
GRIPPER = "values:gripper"
STATS = "values:stats"
RATE = "values:rate"  # information: a sensor streamed at a sub-rate
UNITS = "values:units"  # one episode's joint on another scale or offset than in the other episodes
SWAPPED = "values:swapped"  # state and action swapped in an episode (the action no longer leads)
PINNED = "values:pinned_command"  # an action held at a value its state never reaches
WIDTHS = "values:widths"  # information: action and state of different widths (what is not compared)
ALL_CHECKS = (
    NAN,
    CONSTANT,
    STATS,
    UNITS,
    SWAPPED,
    PINNED,
    FROZEN_STATE,
    FROZEN_JOINT,
    FROZEN_FRAMES,
    IDLE,
    JUMP,
    SATURATION,
    GRIPPER,
    RATE,
    WIDTHS,
)
MAX_FINDINGS_PER_CHECK = 1000  # bounds time and report size on a badly broken dataset
DATASET_SHARE = 0.75  # a warning in this share of the episodes (or more) is the recording's, said once
ACTION_KEYS = ("action", "actions")
STATE_KEYS = ("observation.state", "state")

FIXES = {
    NAN: "re-record or drop the episode(s); LeRobot's mean/std (and so the loss) become NaN otherwise",
    CONSTANT: "nothing, if the joint is meant to stay still (an unused limb); otherwise check that it is "
    "recorded (cable, driver, index) and record data where it moves",
    STATS: "recompute the stats (lerobot-convert-local --stats=recompute from a v2.x source; for a v3.0 "
    "dataset, LeRobot's dataset tools into a new copy); training normalises with them",
    FROZEN_STATE: "check the robot's state stream (cable, driver) and drop the episode(s)",
    FROZEN_JOINT: "check that joint's encoder/cable (or the teleoperation device for an action) and drop "
    "the episode(s)",
    FROZEN_FRAMES: "the recorder stopped updating state and action there (a stalled driver or bus); drop "
    "the episode(s) or re-record them",
    IDLE: "trim the idle frames or drop the episode(s); raise values.max_idle_s if it is intended",
    JUMP: "check for an encoder wrap or dropped serial packets and drop the episode(s); raise "
    "values.jump_factor if the motion is real",
    SATURATION: "check the joint's limits/calibration (the action goes on where the joint stops) and drop "
    "the episode(s)",
    GRIPPER: "check that the gripper is recorded (and which index it has) and drop the episode(s)",
    RATE: "",
    UNITS: "convert that joint of the episode back to the unit of the others (or drop the episode); the "
    "stats and every normalised value of the joint are skewed by it",
    SWAPPED: "swap observation.state and action back in the episode(s) (or drop them): the policy would "
    "learn the robot's reading as the command there",
    PINNED: "check the joint's calibration/limits (the command sits at a value the arm never reaches) and "
    "clip or re-record; the policy learns to command that limit",
    WIDTHS: "",
}
VELOCITY_WORDS = ("vel", "velocity", "speed", "qd", "dq", "omega")


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str  # "error", "warning", or "ok" for information (a sub-rate sensor)
    message: str  # one sentence: file, episode, frames, joint, what is wrong
    feature: str
    joint: str | None = None
    episode: int | None = None
    first_frame: int | None = None
    last_frame: int | None = None
    file: str | None = None
    fix: str | None = None  # a fix of this finding's own (else the check's)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScanContext:
    """What the checks need besides the arrays."""

    settings: ValueCheckSettings
    normalised: set[str] | None = None  # normalised features; None: observation.* and action
    gripper_index: int | None = None  # from the dataset profile
    stats_json: dict[str, Any] | None = None  # meta/stats.json
    episode_stats: Any = None  # EpisodeStatsTable of a v2.1 source
    episode_stats_order: list[int] | None = None  # the episode index of each row of episode_stats
    stats_label: str = "meta/stats.json"


@dataclass
class Joint:
    """Per-feature facts shared by the checks (computed once)."""

    x: np.ndarray  # (N, D) finite values
    mn: np.ndarray
    mx: np.ndarray
    rng: np.ndarray  # dataset range per joint
    emin: np.ndarray  # (E, D)
    emax: np.ndarray
    travel: np.ndarray  # (E, D) emax - emin
    floor: np.ndarray  # (D,) smallest change that is motion, not noise or quantisation
    typical: np.ndarray  # (D,) 90th percentile of the non-zero steps (between a sensor's updates)
    period: np.ndarray  # (D,) frames between updates (1: every frame)


def _label(data: ValueData, key: str, j: int | None) -> str:
    return f"{key}[{data.names[key][j]}]" if j is not None else key


def _where(data: ValueData, row: int, last_row: int | None = None) -> str:
    file = data.files[int(data.file_of_row[row])]
    a = int(data.frame[row])
    b = int(data.frame[last_row]) if last_row is not None else a
    frames = f"frame {a}" if a == b else f"frames {a}-{b}"
    return f"{file}, episode {int(data.episode[row])}, {frames}"


def make_finding(
    data: ValueData, check: str, severity: str, key: str, j: int | None, row: int, last: int, what: str
) -> Finding:
    return Finding(
        check=check,
        severity=severity,
        message=f"{_where(data, row, last)}: {_label(data, key, j)} {what}.",
        feature=key,
        joint=data.names[key][j] if j is not None else None,
        episode=int(data.episode[row]),
        first_frame=int(data.frame[row]),
        last_frame=int(data.frame[last]),
        file=data.files[int(data.file_of_row[row])],
    )


def joint_span(names: list[str], joints: list[int]) -> str:
    """Joint names of ``joints``, runs of neighbours written first..last."""
    runs: list[list[int]] = []
    for j in joints:
        if runs and j == runs[-1][-1] + 1:
            runs[-1].append(j)
        else:
            runs.append([j])
    return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}..{names[r[-1]]}" for r in runs)


def robot_keys(joints: dict[str, Joint]) -> list[str]:
    """The robot's own joints (proprioception and commands), as opposed to e.g. a goal in
    observation.environment_state, which is legitimately constant through an episode."""
    return [
        k
        for k in joints
        if k in ACTION_KEYS or k in STATE_KEYS or k.startswith(("observation.state", "action."))
    ]


def action_for(key: str, joints: dict[str, Joint]) -> str | None:
    """The action feature that commands the joints of state feature ``key`` (same width)."""
    width = joints[key].x.shape[1]
    return next((a for a in ACTION_KEYS if a in joints and joints[a].x.shape[1] == width), None)


def moves_mask(jt: Joint) -> np.ndarray:
    """(E, D): the joint travels more than noise in the episode (and more than 5% of its range)."""
    return jt.travel > np.maximum(jt.floor, 0.05 * jt.rng)


def true_runs(mask: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row, last row) of each run of True in ``mask`` (1-D), runs cut where ``breaks`` is True."""
    starts = mask & (breaks | ~np.r_[False, mask[:-1]])
    ends = mask & (np.r_[breaks[1:], True] | ~np.r_[mask[1:], False])
    return np.flatnonzero(starts), np.flatnonzero(ends)


def is_velocity(name: str) -> bool:
    """A channel whose name says it is a velocity (``joint_4_vel``, ``left.velocity``, ``dq3``): it ramps and
    returns to 0, so a level change is motion, not an encoder wrap."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    return any(w in VELOCITY_WORDS or w.rstrip("0123456789") in VELOCITY_WORDS for w in words)
