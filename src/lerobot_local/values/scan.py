"""The value checks: one vectorised pass over the state/action arrays of a dataset (see :mod:`.data`).

Calibrated on real recordings, whose normal phenomena are not defects: a sensor streamed at a sub-rate
inside the dataset fps (held for k frames, then a step: its jumps are measured between its updates and its
rate is said once, as information), sensor noise and quantisation (an absolute floor and one relative to the
feature's scale), joints resting at a limit (a hand open at 1.0, a gripper, an arm at its rest pose at an
episode's start or end), a limb still through a whole task. A finding that most episodes share is a
property of the recording and is said once for the dataset.

Every finding names the file, the episode, the frame range and the joint (its name in ``info.json``).
Errors are what breaks training: NaN/Inf (the mean/std LeRobot normalises with become NaN, then the loss),
a joint constant over the whole dataset in a normalised feature (std 0), ``meta/stats.json`` disagreeing
with the data. Warnings are what a recording can show but should not: frozen frames, a joint or state
frozen through an episode while it moves in the others, idle heads/tails, jumps (spikes and encoder
wraps), a joint pinned at its limit while its action moves on, a gripper that never opens or closes.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace
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
class _Joint:
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


def _finding(
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


def scan(data: ValueData, ctx: ScanContext) -> list[Finding]:
    """Every finding of every value check (one pass; cheap when the data is clean)."""
    if not data.frames:
        return []
    s = ctx.settings
    findings: list[Finding] = []
    _, starts, ends = data.bounds()
    lengths = ends - starts
    same = data.episode[1:] == data.episode[:-1]
    seg = np.cumsum(np.r_[0, ~same])  # each row's position among the episodes
    joints: dict[str, _Joint] = {}
    for key, x in data.features.items():
        findings += _non_finite(data, key, x, starts)
        joints[key] = _facts(_finite(x), starts, same, seg, s)
    for key, jt in joints.items():
        findings += _constant(data, key, jt, ctx)
    findings += _stats(data, ctx, starts, lengths, {k: jt.floor for k, jt in joints.items()})
    warnings: list[Finding] = []
    warnings += _frozen(data, joints, starts, ends, lengths)
    idle_head, idle_tail, idle = _idle(data, joints, starts, ends, lengths, s)
    warnings += idle
    warnings += _frozen_frames(data, joints, starts, ends, idle_head, idle_tail, s)
    for key, jt in joints.items():
        warnings += _jumps(data, key, jt, starts, same, s)
        if key in STATE_KEYS or key.startswith("observation.state"):
            warnings += _saturation(data, key, joints, starts, ends, s, ctx)
    warnings += _gripper(data, joints, starts, ends, ctx)
    swapped = _swapped(data, joints, starts, ends)
    # an episode whose state and action are swapped shows each on the other's scale: said as the swap
    warnings += [f for f in _units(data, joints, starts) if f.episode not in {w.episode for w in swapped}]
    warnings += swapped
    warnings += _pinned(data, joints, starts, ctx)
    findings += [f for f in warnings if f.check == UNITS and f.severity == "error"]
    warnings = [f for f in warnings if not (f.check == UNITS and f.severity == "error")]
    findings += _dataset_level(data, warnings, len(starts))
    findings += _widths(data, joints)
    findings += _rates(data, joints)
    return findings


def _finite(x: np.ndarray) -> np.ndarray:
    """``x`` with each non-finite value replaced by the previous finite value of its column (the next one
    at the start), so the NaN check reports it and no other check sees a step there."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    x = x.copy()
    rows = np.arange(x.shape[0])
    for j in np.flatnonzero(bad.any(0)):
        good = ~bad[:, j]
        if not good.any():
            x[:, j] = 0.0
            continue
        last = np.maximum.accumulate(np.where(good, rows, -1))
        last[last < 0] = np.flatnonzero(good)[0]
        x[:, j] = x[last, j]
    return x


def _facts(
    x: np.ndarray, starts: np.ndarray, same: np.ndarray, seg: np.ndarray, s: ValueCheckSettings
) -> _Joint:
    mn, mx = x.min(0), x.max(0)
    rng = mx - mn
    emin = np.minimum.reduceat(x, starts, axis=0)
    emax = np.maximum.reduceat(x, starts, axis=0)
    moving = rng[rng > 0]
    scale = float(np.median(moving)) if moving.size else 0.0
    floor = np.full(x.shape[1], max(s.noise_floor, s.noise_fraction * scale))
    step = np.abs(np.diff(x, axis=0))[same] if x.shape[0] > 1 else np.zeros((0, x.shape[1]))
    typical = np.zeros(x.shape[1])
    period = np.ones(x.shape[1], dtype=np.int64)
    for j in range(x.shape[1]):
        nonzero = step[:, j][step[:, j] > 0]
        if nonzero.size:
            typical[j] = float(np.quantile(nonzero, 0.9))
        if step.shape[0] >= 10 and nonzero.size >= 3 and nonzero.size <= 0.5 * step.shape[0]:
            period[j] = _update_period(x[:, j], seg)
    return _Joint(x, mn, mx, rng, emin, emax, emax - emin, floor, typical, period)


def _update_period(column: np.ndarray, seg: np.ndarray) -> int:
    """Frames between a sensor's updates when it is streamed at a sub-rate (held k frames, then steps),
    else 1. A sub-rate sensor almost never changes on two frames in a row."""
    changed = np.flatnonzero(np.diff(column) != 0)
    changed = changed[seg[changed] == seg[changed + 1]]
    if changed.size < 4:
        return 1
    gaps = np.diff(changed)[seg[changed[1:]] == seg[changed[:-1]]]
    if gaps.size < 3 or np.mean(gaps == 1) > 0.15:
        return 1
    return int(np.median(gaps))


def _non_finite(data: ValueData, key: str, x: np.ndarray, starts: np.ndarray) -> list[Finding]:
    bad = ~np.isfinite(x)
    if not bad.any():
        return []
    findings = []
    rows, cols = np.nonzero(bad)
    episode_pos = np.searchsorted(starts, rows, side="right") - 1
    groups = episode_pos * x.shape[1] + cols
    for g in np.unique(groups)[:MAX_FINDINGS_PER_CHECK]:
        member = rows[groups == g]
        j = int(g % x.shape[1])
        values = x[member, j]
        kinds = sorted({"NaN" if np.isnan(v) else ("+Inf" if v > 0 else "-Inf") for v in values})
        what = f"is {'/'.join(kinds)} in {member.size} frame(s)"
        findings.append(_finding(data, NAN, "error", key, j, int(member[0]), int(member[-1]), what))
    return findings


def _is_normalised(key: str, ctx: ScanContext) -> bool:
    if ctx.normalised is not None:
        return key in ctx.normalised
    return key == "action" or key.startswith("observation.")


def _span(names: list[str], joints: list[int]) -> str:
    """Joint names of ``joints``, runs of neighbours written first..last."""
    runs: list[list[int]] = []
    for j in joints:
        if runs and j == runs[-1][-1] + 1:
            runs[-1].append(j)
        else:
            runs.append([j])
    return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}..{names[r[-1]]}" for r in runs)


def _constant(data: ValueData, key: str, jt: _Joint, ctx: ScanContext) -> list[Finding]:
    """Joints constant over the whole dataset: one finding per feature and value class (a property of the
    dataset, said once)."""
    constant = np.flatnonzero(jt.rng == 0)
    if not constant.size:
        return []
    # Not an error: LeRobot normalises with (x - mean) / (std + 1e-8), so training on a constant joint is
    # fine (its targets are 0); what it means for the robot is said instead.
    severity = "warning"
    names = data.names[key]
    values = sorted({float(jt.mn[j]) for j in constant})
    shown = ", ".join(f"{v:g}" for v in values[:4]) + (" ..." if len(values) > 4 else "")
    many = constant.size > 1
    if not _is_normalised(key, ctx):
        means = ""
    elif key in ACTION_KEYS or key.startswith("action"):
        means = "; the policy will learn to command exactly that value: make sure the joint is meant to stay"
    else:
        means = (
            "; the policy normalises it by std + 1e-8, so on the robot any other reading of it becomes a "
            "huge input: make sure it reads that value there too"
        )
    what = (
        f"{'are' if many else 'is'} constant in every frame of the dataset "
        f"({constant.size} of {len(names)} joints; value{'s' if len(values) > 1 else ''} {shown}), so "
        f"{'their' if many else 'its'} std is 0{means}"
    )
    return [
        Finding(
            check=CONSTANT,
            severity=severity,
            message=f"{data.root}/data: {key}[{_span(names, list(constant))}] {what}.",
            feature=key,
            joint=names[int(constant[0])] if not many else ",".join(names[int(j)] for j in constant),
        )
    ]


def _robot_keys(joints: dict[str, _Joint]) -> list[str]:
    """The robot's own joints (proprioception and commands), as opposed to e.g. a goal in
    observation.environment_state, which is legitimately constant through an episode."""
    return [
        k
        for k in joints
        if k in ACTION_KEYS or k in STATE_KEYS or k.startswith(("observation.state", "action."))
    ]


def _action_for(key: str, joints: dict[str, _Joint]) -> str | None:
    """The action feature that commands the joints of state feature ``key`` (same width)."""
    width = joints[key].x.shape[1]
    return next((a for a in ACTION_KEYS if a in joints and joints[a].x.shape[1] == width), None)


def _moves(jt: _Joint) -> np.ndarray:
    """(E, D): the joint travels more than noise in the episode (and more than 5% of its range)."""
    return jt.travel > np.maximum(jt.floor, 0.05 * jt.rng)


def _frozen(
    data: ValueData,
    joints: dict[str, _Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    lengths: np.ndarray,
) -> list[Finding]:
    """A whole feature, or one joint, exactly constant through an episode while it moves in most others."""
    findings = []
    n_ep = len(starts)
    for key in _robot_keys(joints):
        jt = joints[key]
        moves = jt.rng > 0
        if not moves.any():
            continue
        still = (jt.travel == 0) & moves
        whole = still[:, moves].all(1) & (lengths > 1)
        for e in np.flatnonzero(whole):
            what = f"does not change through the whole episode ({int(lengths[e])} frames)"
            findings.append(
                _finding(data, FROZEN_STATE, "warning", key, None, int(starts[e]), int(ends[e] - 1), what)
            )
        if n_ep < 2:
            continue
        moving = _moves(jt)
        others = (moving.sum(0)[None, :] - moving) / (n_ep - 1)  # share of the other episodes it moves in
        suspicious = still & ~whole[:, None] & (lengths[:, None] > 1) & (others >= DATASET_SHARE)
        for e, j in zip(*np.nonzero(suspicious), strict=True):
            what = (
                f"stays at {jt.emin[e, j]:.6g} through the whole episode ({int(lengths[e])} frames) while it "
                f"moves in {round(others[e, j] * (n_ep - 1))} of the {n_ep - 1} other episodes"
            )
            findings.append(
                _finding(data, FROZEN_JOINT, "warning", key, int(j), int(starts[e]), int(ends[e] - 1), what)
            )
    return findings


def _idle(
    data: ValueData,
    joints: dict[str, _Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    lengths: np.ndarray,
    s: ValueCheckSettings,
) -> tuple[np.ndarray, np.ndarray, list[Finding]]:
    """Frames at each episode's head/tail identical to its first/last frame (all robot features)."""
    n = data.frames
    robot = _robot_keys(joints)
    head = np.ones(len(starts), dtype=np.int64)
    tail = np.ones(len(starts), dtype=np.int64)
    if not robot:
        return head, tail, []
    z = np.concatenate([joints[k].x for k in robot], axis=1)
    tolerance = np.concatenate([np.maximum(joints[k].rng * s.idle_tolerance, 0) for k in robot])
    keep = tolerance > 0  # constant columns say nothing about motion
    z, tolerance = z[:, keep], tolerance[keep]
    if not z.shape[1]:
        return head, tail, []
    rows = np.arange(n)
    moved = (np.abs(z - np.repeat(z[starts], lengths, axis=0)) > tolerance).any(1)
    first_moved = np.minimum.reduceat(np.where(moved, rows, n), starts)
    head = np.minimum(first_moved, ends) - starts
    moved = (np.abs(z - np.repeat(z[ends - 1], lengths, axis=0)) > tolerance).any(1)
    last_moved = np.maximum.reduceat(np.where(moved, rows, -1), starts)
    tail = ends - 1 - np.maximum(last_moved, starts - 1)
    limit = max(1, round(s.max_idle_s * data.fps))
    findings = []
    for e in range(len(starts)):
        if head[e] >= lengths[e]:
            continue  # nothing moves at all: the frozen checks report it
        for count, first, last, where in (
            (head[e], starts[e], starts[e] + head[e] - 1, "starts"),
            (tail[e], ends[e] - tail[e], ends[e] - 1, "ends"),
        ):
            if count > limit:
                what = (
                    f"are {int(count)} identical frames ({count / data.fps:.2f} s, more than "
                    f"values.max_idle_s={s.max_idle_s:g} s): the episode {where} idle"
                )
                findings.append(
                    _finding(data, IDLE, "warning", "/".join(robot), None, int(first), int(last), what)
                )
    return head, tail, findings


def _frozen_frames(
    data: ValueData,
    joints: dict[str, _Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    idle_head: np.ndarray,
    idle_tail: np.ndarray,
    s: ValueCheckSettings,
) -> list[Finding]:
    """Runs of rows inside an episode where every state and action value repeats the previous row exactly,
    ended by a catch-up step (the robot moved on while the recorder repeated itself)."""
    robot = _robot_keys(joints)
    if not robot or data.frames < 3 or not any(k in ACTION_KEYS for k in robot):
        return []
    z = np.concatenate([joints[k].x for k in robot], axis=1)
    typical = np.concatenate([np.maximum(joints[k].typical, joints[k].floor) for k in robot])
    period = max(int(joints[k].period.max()) for k in robot)
    minimum = max(s.frozen_min_frames, 2 * period + 1)
    repeat = np.r_[False, (z[1:] == z[:-1]).all(1) & (data.episode[1:] == data.episode[:-1])]
    breaks = np.zeros(data.frames, dtype=bool)
    breaks[starts] = True
    first, last = _runs(repeat, breaks)
    findings = []
    for a, b in zip(first, last, strict=True):
        frozen_from = a - 1  # the repeated frame itself
        e = int(np.searchsorted(starts, a, side="right") - 1)
        if b - frozen_from + 1 < minimum or b + 1 >= ends[e]:
            continue  # short, or it runs to the end (the idle check reports a tail)
        if frozen_from < starts[e] + idle_head[e]:
            continue  # the idle head
        catch_up = np.abs(z[b + 1] - z[b]) / typical
        if not (catch_up >= s.frozen_catch_up).any():
            continue  # a real pause: the motion resumes smoothly
        what = (
            f"repeat frame {int(data.frame[frozen_from])} exactly for {b - frozen_from} frames "
            f"({(b - frozen_from) / data.fps:.2f} s), then step at once: the recording froze"
        )
        findings.append(
            _finding(data, FROZEN_FRAMES, "warning", "/".join(robot), None, int(frozen_from), int(b), what)
        )
    return findings[:MAX_FINDINGS_PER_CHECK]


def _jumps(
    data: ValueData, key: str, jt: _Joint, starts: np.ndarray, same: np.ndarray, s: ValueCheckSettings
) -> list[Finding]:
    """Spikes (a large step and back: a dropped packet) and level shifts larger than the joint travels in
    any other episode (an encoder wrap), measured between a sensor's updates."""
    x = jt.x
    if x.shape[0] < 3:
        return []
    n_ep = len(starts)
    threshold = np.maximum.reduce([s.jump_factor * jt.typical, s.jump_min_fraction * jt.rng, 5 * jt.floor])
    travel = jt.travel
    order = np.sort(travel, axis=0)
    top1 = order[-1]
    top2 = order[-2] if n_ep > 1 else np.full(x.shape[1], np.inf)
    other = np.where(travel >= top1[None, :], top2[None, :], top1[None, :])  # (E, D) largest elsewhere
    episode_pos = np.searchsorted(starts, np.arange(x.shape[0]), side="right") - 1
    diff = np.diff(x, axis=0)
    findings = []
    for j in np.flatnonzero((np.abs(diff) > threshold).any(0) & (jt.rng > 0)):
        idx = np.flatnonzero((diff[:, j] != 0) & same)  # the sub-sampled series: one step per update
        step = diff[idx, j]
        big = np.flatnonzero(np.abs(step) > threshold[j])
        reported: list[tuple[int, int, float, str]] = []
        skip = -1
        for i in big:
            if i <= skip:
                continue
            r = int(idx[i])
            e = int(episode_pos[r])
            size = float(abs(step[i]))
            nxt = i + 1
            if (
                nxt < idx.size
                and episode_pos[idx[nxt]] == e
                and idx[nxt] - r <= 2 * int(jt.period[j]) + 1
                and np.sign(step[nxt]) == -np.sign(step[i])
                and abs(step[nxt]) > 0.5 * size
                and size > 0.5 * other[e, j]
            ):
                reported.append((r, int(idx[nxt]) + 1, size, "spike"))
                skip = nxt
            elif size > other[e, j] and not is_velocity(data.names[key][j]):
                reported.append((r, r + 1, size, "shift"))  # a velocity's level change is its ramp
        by_episode: dict[int, list[tuple[int, int, float, str]]] = {}
        for item in reported:
            by_episode.setdefault(int(episode_pos[item[0]]), []).append(item)
        for items in list(by_episode.values())[:MAX_FINDINGS_PER_CHECK]:
            a, b, size, kind = max(items, key=lambda t: t[2])
            e = int(episode_pos[a])
            shape = (
                f"jumps by {size:.4g} and back within {int(data.frame[b]) - int(data.frame[a])} frames "
                "(a spike: a dropped or garbled reading)"
                if kind == "spike"
                else f"jumps by {size:.4g} in one step and stays there, more than it travels in any other "
                f"episode ({other[e, j]:.4g}): an encoder wrap or offset"
            )
            more = f"; {len(items)} such jumps in the episode" if len(items) > 1 else ""
            what = f"{shape} (its usual change between updates is {jt.typical[j]:.3g}){more}"
            findings.append(_finding(data, JUMP, "warning", key, int(j), a, b, what))
    return findings


def _gripper_joints(data: ValueData, key: str, ctx: ScanContext) -> list[int]:
    index = ctx.settings.gripper_index if ctx.settings.gripper_index >= 0 else ctx.gripper_index
    width = data.features[key].shape[1]
    if index is not None and 0 <= index < width:
        return [index]
    return [j for j, name in enumerate(data.names[key]) if "gripper" in name.lower()]


def _runs(mask: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row, last row) of each run of True in ``mask`` (1-D), runs cut where ``breaks`` is True."""
    starts = mask & (breaks | ~np.r_[False, mask[:-1]])
    ends = mask & (np.r_[breaks[1:], True] | ~np.r_[mask[1:], False])
    return np.flatnonzero(starts), np.flatnonzero(ends)


def _saturation(
    data: ValueData,
    key: str,
    joints: dict[str, _Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    s: ValueCheckSettings,
    ctx: ScanContext,
) -> list[Finding]:
    """A state joint pinned at its dataset min/max for seconds, inside an episode, while its action goes
    past that limit: the joint is clipped. A joint resting at a limit (a hand open at 1.0, an arm at its
    rest pose at an episode's start or end) has an action that stays within it; a gripper holding an
    object is exempt."""
    action_key = _action_for(key, joints)
    jt = joints[key]
    limit = max(2, round(s.saturation_s * data.fps))
    if action_key is None or jt.x.shape[0] < limit:
        return []
    act = joints[action_key]
    breaks = np.zeros(jt.x.shape[0], dtype=bool)
    breaks[starts] = True
    grippers = set(_gripper_joints(data, key, ctx))
    episode_pos = np.searchsorted(starts, np.arange(jt.x.shape[0]), side="right") - 1
    findings = []
    for j in np.flatnonzero(jt.rng > 0):
        if j in grippers:
            continue
        for bound, label, sign in ((jt.mx[j], "maximum", 1.0), (jt.mn[j], "minimum", -1.0)):
            first, last = _runs(jt.x[:, j] == bound, breaks)
            long = (last - first + 1) >= limit
            for a, b in zip(first[long], last[long], strict=True):
                e = int(episode_pos[a])
                if a == starts[e] or b == ends[e] - 1:
                    continue  # resting at a limit at the episode's start or end (the rest pose)
                commanded = act.x[a : b + 1, j]
                beyond = float(sign * (commanded.max() if sign > 0 else commanded.min()) - sign * bound)
                if beyond <= max(act.floor[j], 0.05 * jt.rng[j]):
                    continue  # the action does not go past it: the joint is parked at its limit
                what = (
                    f"stays at its dataset {label} {bound:.6g} for {b - a + 1} frames "
                    f"({(b - a + 1) / data.fps:.2f} s) while {action_key}[{data.names[action_key][j]}] goes "
                    f"{beyond:.4g} past it: clipped at a limit"
                )
                findings.append(_finding(data, SATURATION, "warning", key, int(j), int(a), int(b), what))
    return findings


def _gripper(
    data: ValueData,
    joints: dict[str, _Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    ctx: ScanContext,
) -> list[Finding]:
    key = next((k for k in (*STATE_KEYS, *ACTION_KEYS) if k in joints), None)
    if key is None:
        return []
    jt = joints[key]
    findings = []
    for j in _gripper_joints(data, key, ctx):
        full = float(jt.rng[j])
        if full <= 0:
            continue  # constant over the dataset: the constant_joint check reports it
        travel = jt.travel[:, j]
        moves = jt.rng > 0
        frozen = (jt.travel[:, moves] == 0).all(1)  # the frozen_state check reports those
        for e in np.flatnonzero((travel < ctx.settings.gripper_min_fraction * full) & ~frozen):
            what = (
                f"never opens or closes: it travels {travel[e]:.4g}, "
                f"{100 * travel[e] / full:.1f}% of its range {full:.4g} over the dataset"
            )
            findings.append(
                _finding(data, GRIPPER, "warning", key, int(j), int(starts[e]), int(ends[e] - 1), what)
            )
    return findings


def _dataset_level(data: ValueData, warnings: list[Finding], n_episodes: int) -> list[Finding]:
    """Warnings shared by most episodes (same check, feature and joint) become one finding for the
    dataset: a property of the recording, not of some episodes, so it flags no episode."""
    if n_episodes < 2:
        return warnings
    groups: dict[tuple[str, str, str | None], list[Finding]] = {}
    for f in warnings:
        groups.setdefault((f.check, f.feature, f.joint), []).append(f)
    out = []
    need = max(2, math.ceil(DATASET_SHARE * n_episodes))
    for (_check, key, joint), found in groups.items():
        episodes = sorted({f.episode for f in found if f.episode is not None})
        if len(episodes) < need:
            out += found
            continue
        label = f"{key}[{joint}]" if joint is not None else key
        message = (
            f"{data.root}/data: {label} shows this in {len(episodes)} of {n_episodes} episodes, so it is a "
            f"property of the recording (said once, no episode flagged); the first: {found[0].message}"
        )
        out.append(replace(found[0], message=message, episode=None, first_frame=None, last_frame=None))
    return out


def _rates(data: ValueData, joints: dict[str, _Joint]) -> list[Finding]:
    """Information, once per feature and rate: joints streamed below the dataset fps."""
    findings = []
    for key, jt in joints.items():
        for k in sorted({int(p) for p in jt.period if p > 1}):
            members = [int(j) for j in np.flatnonzero(jt.period == k)]
            names = data.names[key]
            label = key if len(members) == len(names) else f"{key}[{_span(names, members)}]"
            message = (
                f"{label} ({len(members)} of {len(names)} joints) updates at ~{data.fps / k:.3g} Hz: each "
                f"value is held for ~{k} frames of the {data.fps:g} fps data, then steps (jumps are measured "
                "between its updates)."
            )
            findings.append(Finding(RATE, "ok", message, key, names[members[0]]))
    return findings


def _fmt_pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` printed with the fewest significant digits (at least 6) that tell them apart."""
    for digits in range(6, 18):
        fa, fb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if fa != fb:
            return fa, fb
    return repr(a), repr(b)


def _stats(
    data: ValueData,
    ctx: ScanContext,
    starts: np.ndarray,
    lengths: np.ndarray,
    floors: dict[str, np.ndarray],
) -> list[Finding]:
    """meta/stats.json against the whole data; a v2.1 source's per-episode stats against each episode.
    A value disagrees when it is off by more than ``stats_tolerance`` x the joint's std (at least its
    motion floor): what shifts or scales the normalised values materially, not a recorder's float32
    rounding on a joint that sits still at 152.4."""
    findings = []
    tol = ctx.settings.stats_tolerance
    for key, x in data.features.items():
        if not np.isfinite(x).all():
            continue  # the NaN check reports it; stats of NaN data are NaN anyway
        std = x.std(0)
        scale = np.maximum(std, floors[key]) * tol
        computed = {"mean": x.mean(0), "std": std, "min": x.min(0), "max": x.max(0)}
        given = (ctx.stats_json or {}).get(key)
        if isinstance(given, dict):
            for stat, value in computed.items():
                findings += _compare_stat(data, ctx.stats_label, key, stat, given.get(stat), value, scale)
            count = given.get("count")
            if isinstance(count, list) and count and count[0] != data.frames and not data.unreadable:
                findings.append(
                    Finding(
                        STATS,
                        "error",
                        f"{data.root}/{ctx.stats_label}: {key} count is {count[0]} but the data has "
                        f"{data.frames} frames.",
                        key,
                        file=ctx.stats_label,
                    )
                )
        table = ctx.episode_stats
        if table is None or key not in getattr(table, "columns", {}) or ctx.episode_stats_order is None:
            continue
        sums = np.add.reduceat(x, starts, axis=0)
        means = sums / lengths[:, None]
        squares = np.add.reduceat(x * x, starts, axis=0) / lengths[:, None]
        per_episode = {
            "mean": means,
            "std": np.sqrt(np.maximum(squares - means**2, 0)),
            "min": np.minimum.reduceat(x, starts, axis=0),
            "max": np.maximum.reduceat(x, starts, axis=0),
        }
        row_of = {ep: row for row, ep in enumerate(ctx.episode_stats_order)}
        ep_ids = data.episode[starts]
        for stat, values in per_episode.items():
            column = table.columns[key].get(stat)
            if column is None:
                continue
            rows = np.asarray([row_of.get(int(e), -1) for e in ep_ids])
            ok = rows >= 0
            ref = column[rows[ok]].reshape(int(ok.sum()), -1).astype(np.float64)
            got = values[ok]
            if ref.shape != got.shape:
                continue
            bad = ~(np.abs(ref - got) <= scale)
            for i, j in zip(*np.nonzero(bad), strict=True):
                e = int(ep_ids[ok][i])
                shown, real = _fmt_pair(float(ref[i, j]), float(got[i, j]))
                findings.append(
                    Finding(
                        STATS,
                        "error",
                        f"{data.root}/meta/episodes_stats.jsonl: episode {e} {key}[{data.names[key][j]}] "
                        f"{stat} is {shown} but the episode's data gives {real}.",
                        key,
                        data.names[key][j],
                        episode=e,
                        file="meta/episodes_stats.jsonl",
                    )
                )
    return findings


def _compare_stat(
    data: ValueData,
    label: str,
    key: str,
    stat: str,
    given: Any,
    value: np.ndarray,
    scale: np.ndarray,
) -> list[Finding]:
    try:
        ref = np.asarray(given, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        ref = None
    if ref is None or ref.shape != value.shape:
        shape = None if ref is None else list(ref.shape)
        return [
            Finding(
                STATS,
                "error",
                f"{data.root}/{label}: {key} {stat} is {given!r:.60} (shape {shape}), expected "
                f"{value.shape[0]} numbers.",
                key,
                file=label,
            )
        ]
    bad = ~(np.abs(ref - value) <= scale)
    out = []
    for j in np.flatnonzero(bad):
        shown, real = _fmt_pair(float(ref[j]), float(value[j]))
        out.append(
            Finding(
                STATS,
                "error",
                f"{data.root}/{label}: {key}[{data.names[key][j]}] {stat} is {shown} but the data gives "
                f"{real}.",
                key,
                data.names[key][j],
                file=label,
            )
        )
    return out


def is_velocity(name: str) -> bool:
    """A channel whose name says it is a velocity (``joint_4_vel``, ``left.velocity``, ``dq3``): it ramps and
    returns to 0, so a level change is motion, not an encoder wrap."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    return any(w in VELOCITY_WORDS or w.rstrip("0123456789") in VELOCITY_WORDS for w in words)


def _loo(values: np.ndarray, largest: bool) -> np.ndarray:
    """(E, D): for each episode, the max (or min) of ``values`` over the OTHER episodes."""
    order = np.sort(values, axis=0)
    if not largest:
        order = order[::-1]
    top1, top2 = order[-1], order[-2]
    return np.where(values == top1[None, :], top2[None, :], top1[None, :])


def _units(data: ValueData, joints: dict[str, _Joint], starts: np.ndarray) -> list[Finding]:
    """One episode's joint on another scale (radians as degrees: x57.3) or offset than in every other
    episode: its middle 90% lies outside what the joint reaches in all the others, and (for a scale) it
    spans many times the others' usual travel. Robust per-episode quantiles against the other episodes, so
    stale or recomputed stats do not matter."""
    n_ep = len(starts)
    if n_ep < 4:
        return []
    findings = []
    kinds: dict[tuple[str, int, int], str] = {}
    for key in _robot_keys(joints):
        jt = joints[key]
        q = np.stack(
            [np.quantile(seg, [0.05, 0.95], axis=0) for seg in np.split(jt.x, starts[1:], axis=0)]
        )  # (E, 2, D)
        lo, hi = q[:, 0], q[:, 1]
        width = hi - lo
        others_max = _loo(jt.emax, True)
        others_min = _loo(jt.emin, False)
        envelope = np.maximum(others_max - others_min, jt.floor[None, :])
        usual = np.stack([np.median(np.delete(width, e, axis=0), axis=0) for e in range(n_ep)])
        usual = np.maximum(usual, jt.floor[None, :])
        above = lo > others_max + 0.25 * envelope
        below = hi < others_min - 0.25 * envelope
        ratio = np.maximum(width, jt.floor[None, :]) / usual
        scaled = (ratio > 8) & ((jt.emax > others_max + envelope) | (jt.emin < others_min - envelope))
        for e, j in zip(*np.nonzero((above | below | scaled) & (jt.rng > 0)[None, :]), strict=True):
            a, b = int(starts[e]), int(starts[e + 1] - 1 if e + 1 < n_ep else data.frames - 1)
            name = data.names[key][j]
            if scaled[e, j]:
                r = float(ratio[e, j])
                hint = " (radians recorded as degrees?)" if 40 < r < 80 else ""
                what = (
                    f"spans {r:.3g} times its usual travel ({width[e, j]:.4g} vs {usual[e, j]:.4g} in the "
                    f"other episodes) and reaches {jt.emin[e, j]:.4g}..{jt.emax[e, j]:.4g}, far outside "
                    f"{others_min[e, j]:.4g}..{others_max[e, j]:.4g} of every other episode: "
                    f"another scale{hint}"
                )
                severity = "error" if r > 20 else "warning"
            else:
                what = (
                    f"sits at {lo[e, j]:.4g}..{hi[e, j]:.4g} (90% of its frames), outside "
                    f"{others_min[e, j]:.4g}..{others_max[e, j]:.4g} where it moves in every other episode: "
                    "an offset (recalibrated, or another zero)"
                )
                severity = "warning"
            findings.append(_finding(data, UNITS, severity, key, int(j), a, b, what))
            kinds[(key, int(e), int(j))] = "scale" if scaled[e, j] else "offset"
            if not is_velocity(name) and len(findings) >= MAX_FINDINGS_PER_CHECK:
                break
    # the action-vs-state relation: an offset that the joint's command and reading share in the episode is
    # where the arm went (a real pose), not a recorder's change of zero; a 10x scale is never a pose
    pair = _state_action(joints)
    if pair is None or joints[pair[0]].x.shape[1] != joints[pair[1]].x.shape[1]:
        return findings
    other = {pair[0]: pair[1], pair[1]: pair[0]}
    keep = []
    for f, ((key, e, j), kind) in zip(findings, kinds.items(), strict=True):
        if kind == "offset" and kinds.get((other.get(key, ""), e, j)) == "offset":
            continue
        keep.append(f)
    return keep


def _state_action(joints: dict[str, _Joint]) -> tuple[str, str] | None:
    state = next((k for k in (*STATE_KEYS,) if k in joints), None)
    if state is None:
        state = next((k for k in joints if k.startswith("observation.state")), None)
    action = next((a for a in ACTION_KEYS if a in joints), None)
    return (state, action) if state and action else None


def _swapped(
    data: ValueData, joints: dict[str, _Joint], starts: np.ndarray, ends: np.ndarray
) -> list[Finding]:
    """An episode whose state leads its action, while in the other episodes the action (the command) leads
    the state (the robot follows): state and action were swapped there. Measured on the frame-to-frame
    changes, lagged 1..K frames both ways, summed over the joints that move."""
    pair = _state_action(joints)
    if pair is None or len(starts) < 4:
        return []
    state, action = pair
    s_x, a_x = joints[state].x, joints[action].x
    if s_x.shape[1] != a_x.shape[1]:
        return []
    k_max = max(2, round(0.2 * data.fps))
    lead = np.full(len(starts), np.nan)
    for e, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if b - a < 4 * k_max:
            continue
        ds, da = np.diff(s_x[a:b], axis=0), np.diff(a_x[a:b], axis=0)
        moving = (ds.std(0) > 0) & (da.std(0) > 0)
        if not moving.any():
            continue
        ds = (ds[:, moving] - ds[:, moving].mean(0)) / ds[:, moving].std(0)
        da = (da[:, moving] - da[:, moving].mean(0)) / da[:, moving].std(0)
        forward = sum(float(np.mean(da[:-k] * ds[k:])) for k in range(1, k_max + 1))
        backward = sum(float(np.mean(ds[:-k] * da[k:])) for k in range(1, k_max + 1))
        lead[e] = forward - backward
    known = np.isfinite(lead)
    if known.sum() < 4:
        return []
    typical = float(np.median(lead[known]))
    if typical <= 0 or np.mean(lead[known] > 0) < DATASET_SHARE:
        return []  # no clear "the action leads" in this recording: nothing to compare with
    findings = []
    for e in np.flatnonzero(known & (lead < -0.5 * typical)):
        what = (
            f"follows {state} instead of leading it (lead {lead[e]:+.2f}, {typical:+.2f} in a typical "
            f"episode where the command leads the robot): {state} and {action} look swapped in this episode"
        )
        findings.append(
            _finding(data, SWAPPED, "warning", action, None, int(starts[e]), int(ends[e] - 1), what)
        )
    return findings


def _pinned(
    data: ValueData, joints: dict[str, _Joint], starts: np.ndarray, ctx: ScanContext
) -> list[Finding]:
    """An action joint held exactly at its dataset min (or max) in many frames while its state never gets
    there: the command is clipped at a limit the arm does not reach (a calibration mismatch); grippers,
    which are commanded past the object they hold, are exempt."""
    pair = _state_action(joints)
    if pair is None:
        return []
    state, action = pair
    st, ac = joints[state], joints[action]
    if st.x.shape[1] != ac.x.shape[1]:
        return []
    grippers = set(_gripper_joints(data, action, ctx)) | set(_gripper_joints(data, state, ctx))
    episode_pos = np.searchsorted(starts, np.arange(ac.x.shape[0]), side="right") - 1
    findings = []
    for j in np.flatnonzero((ac.rng > 0) & (st.rng > 0)):
        if j in grippers or "gripper" in data.names[action][j].lower():
            continue
        for bound, gap, label in (
            (ac.mn[j], st.mn[j] - ac.mn[j], "minimum"),
            (ac.mx[j], ac.mx[j] - st.mx[j], "maximum"),
        ):
            at = ac.x[:, j] == bound
            share = float(at.mean())
            if share < 0.01 or at.sum() < 5 or gap <= max(st.floor[j], 0.02 * st.rng[j]):
                continue
            if gap > 0.25 * st.rng[j]:
                continue  # far from anything the joint reads: a grasp (the fingers stop at the object)
            rows = np.flatnonzero(at)
            held = st.x[rows, j]
            if np.quantile(held, 0.95) - np.quantile(held, 0.05) <= 0.02 * st.rng[j]:
                continue  # the joint rests while commanded there: a gripper or hand holding an object
            n_eps = int(np.unique(episode_pos[rows]).size)
            what = (
                f"is exactly {bound:.6g} (its dataset {label}) in {at.sum()} frames ({100 * share:.1f}%, "
                f"{n_eps} of {len(starts)} episodes) while {state}[{data.names[state][j]}] never goes past "
                f"{(st.mn[j] if label == 'minimum' else st.mx[j]):.6g}: the command is pinned at a limit "
                "the arm does not reach"
            )
            first = _finding(data, PINNED, "warning", action, int(j), int(rows[0]), int(rows[0]), what)
            # a calibration of the recording, not an episode's fault: said once, no episode to drop
            findings.append(replace(first, episode=None, first_frame=None, last_frame=None))
    return findings


def _widths(data: ValueData, joints: dict[str, _Joint]) -> list[Finding]:
    """Action and state of different widths: said once, with the checks that compare them joint by joint
    (and so are skipped)."""
    pair = _state_action(joints)
    if pair is None:
        return []
    state, action = pair
    ws, wa = joints[state].x.shape[1], joints[action].x.shape[1]
    if ws == wa:
        return []
    message = (
        f"{data.root}/data: {action} has {wa} values and {state} {ws}, so the checks that compare a joint's "
        "command with its reading (saturation, pinned command, swapped state/action) are skipped; the "
        "others check each feature on its own."
    )
    return [Finding(WIDTHS, "ok", message, action)]
