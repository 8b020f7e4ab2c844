"""The value checks of how the joints move within an episode: frozen joints and frames, idle heads and tails,
jumps (spikes and encoder wraps), a joint pinned at its limit while its action moves on, a gripper that never
opens or closes."""

from __future__ import annotations

import numpy as np

from lerobot_local.values.data import ValueData
from lerobot_local.values.findings import (
    ACTION_KEYS,
    DATASET_SHARE,
    FROZEN_FRAMES,
    FROZEN_JOINT,
    FROZEN_STATE,
    GRIPPER,
    IDLE,
    JUMP,
    MAX_FINDINGS_PER_CHECK,
    SATURATION,
    STATE_KEYS,
    Finding,
    Joint,
    ScanContext,
    action_for,
    is_velocity,
    make_finding,
    moves_mask,
    robot_keys,
    true_runs,
)
from lerobot_local.values.settings import ValueCheckSettings


def check_frozen(
    data: ValueData,
    joints: dict[str, Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    lengths: np.ndarray,
) -> list[Finding]:
    """A whole feature, or one joint, exactly constant through an episode while it moves in most others."""
    findings = []
    n_ep = len(starts)
    for key in robot_keys(joints):
        jt = joints[key]
        moves = jt.rng > 0
        if not moves.any():
            continue
        still = (jt.travel == 0) & moves
        whole = still[:, moves].all(1) & (lengths > 1)
        for e in np.flatnonzero(whole):
            what = f"does not change through the whole episode ({int(lengths[e])} frames)"
            findings.append(
                make_finding(data, FROZEN_STATE, "warning", key, None, int(starts[e]), int(ends[e] - 1), what)
            )
        if n_ep < 2:
            continue
        moving = moves_mask(jt)
        others = (moving.sum(0)[None, :] - moving) / (n_ep - 1)  # share of the other episodes it moves in
        suspicious = still & ~whole[:, None] & (lengths[:, None] > 1) & (others >= DATASET_SHARE)
        for e, j in zip(*np.nonzero(suspicious), strict=True):
            what = (
                f"stays at {jt.emin[e, j]:.6g} through the whole episode ({int(lengths[e])} frames) while it "
                f"moves in {round(others[e, j] * (n_ep - 1))} of the {n_ep - 1} other episodes"
            )
            findings.append(
                make_finding(
                    data, FROZEN_JOINT, "warning", key, int(j), int(starts[e]), int(ends[e] - 1), what
                )
            )
    return findings


def check_idle(
    data: ValueData,
    joints: dict[str, Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    lengths: np.ndarray,
    s: ValueCheckSettings,
) -> tuple[np.ndarray, np.ndarray, list[Finding]]:
    """Frames at each episode's head/tail identical to its first/last frame (all robot features)."""
    n = data.frames
    robot = robot_keys(joints)
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
                    make_finding(data, IDLE, "warning", "/".join(robot), None, int(first), int(last), what)
                )
    return head, tail, findings


def check_frozen_frames(
    data: ValueData,
    joints: dict[str, Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    idle_head: np.ndarray,
    idle_tail: np.ndarray,
    s: ValueCheckSettings,
) -> list[Finding]:
    """Runs of rows inside an episode where every state and action value repeats the previous row exactly,
    ended by a catch-up step (the robot moved on while the recorder repeated itself)."""
    robot = robot_keys(joints)
    if not robot or data.frames < 3 or not any(k in ACTION_KEYS for k in robot):
        return []
    z = np.concatenate([joints[k].x for k in robot], axis=1)
    typical = np.concatenate([np.maximum(joints[k].typical, joints[k].floor) for k in robot])
    period = max(int(joints[k].period.max()) for k in robot)
    minimum = max(s.frozen_min_frames, 2 * period + 1)
    repeat = np.r_[False, (z[1:] == z[:-1]).all(1) & (data.episode[1:] == data.episode[:-1])]
    breaks = np.zeros(data.frames, dtype=bool)
    breaks[starts] = True
    first, last = true_runs(repeat, breaks)
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
            make_finding(
                data, FROZEN_FRAMES, "warning", "/".join(robot), None, int(frozen_from), int(b), what
            )
        )
    return findings[:MAX_FINDINGS_PER_CHECK]


def check_jumps(
    data: ValueData, key: str, jt: Joint, starts: np.ndarray, same: np.ndarray, s: ValueCheckSettings
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
            findings.append(make_finding(data, JUMP, "warning", key, int(j), a, b, what))
    return findings


def gripper_joints(data: ValueData, key: str, ctx: ScanContext) -> list[int]:
    index = ctx.settings.gripper_index if ctx.settings.gripper_index >= 0 else ctx.gripper_index
    width = data.features[key].shape[1]
    if index is not None and 0 <= index < width:
        return [index]
    return [j for j, name in enumerate(data.names[key]) if "gripper" in name.lower()]


def check_saturation(
    data: ValueData,
    key: str,
    joints: dict[str, Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    s: ValueCheckSettings,
    ctx: ScanContext,
) -> list[Finding]:
    """A state joint pinned at its dataset min/max for seconds, inside an episode, while its action goes
    past that limit: the joint is clipped. A joint resting at a limit (a hand open at 1.0, an arm at its
    rest pose at an episode's start or end) has an action that stays within it; a gripper holding an
    object is exempt."""
    action_key = action_for(key, joints)
    jt = joints[key]
    limit = max(2, round(s.saturation_s * data.fps))
    if action_key is None or jt.x.shape[0] < limit:
        return []
    act = joints[action_key]
    breaks = np.zeros(jt.x.shape[0], dtype=bool)
    breaks[starts] = True
    grippers = set(gripper_joints(data, key, ctx))
    episode_pos = np.searchsorted(starts, np.arange(jt.x.shape[0]), side="right") - 1
    findings = []
    for j in np.flatnonzero(jt.rng > 0):
        if j in grippers:
            continue
        for bound, label, sign in ((jt.mx[j], "maximum", 1.0), (jt.mn[j], "minimum", -1.0)):
            first, last = true_runs(jt.x[:, j] == bound, breaks)
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
                findings.append(make_finding(data, SATURATION, "warning", key, int(j), int(a), int(b), what))
    return findings


def check_gripper(
    data: ValueData,
    joints: dict[str, Joint],
    starts: np.ndarray,
    ends: np.ndarray,
    ctx: ScanContext,
) -> list[Finding]:
    key = next((k for k in (*STATE_KEYS, *ACTION_KEYS) if k in joints), None)
    if key is None:
        return []
    jt = joints[key]
    findings = []
    for j in gripper_joints(data, key, ctx):
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
                make_finding(data, GRIPPER, "warning", key, int(j), int(starts[e]), int(ends[e] - 1), what)
            )
    return findings
