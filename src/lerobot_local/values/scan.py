"""The value checks: one vectorised pass over the state/action arrays of a dataset (see :mod:`.data`). This
module computes each joint's facts once and calls the checks by family: :mod:`.errors` (what breaks
training), :mod:`.motion` (how joints move within an episode), :mod:`.consistency` (episodes against each
other, state against action); what they share is in :mod:`.findings`.

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
from dataclasses import replace

import numpy as np

from lerobot_local.values.consistency import check_pinned, check_swapped, check_units, check_widths
from lerobot_local.values.data import ValueData
from lerobot_local.values.errors import check_constant, check_non_finite, check_stats
from lerobot_local.values.findings import (
    DATASET_SHARE,
    JUMP,
    RATE,
    STATE_KEYS,
    UNITS,
    Finding,
    Joint,
    ScanContext,
    joint_span,
)
from lerobot_local.values.motion import (
    check_frozen,
    check_frozen_frames,
    check_gripper,
    check_idle,
    check_jumps,
    check_saturation,
)
from lerobot_local.values.settings import ValueCheckSettings


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
    joints: dict[str, Joint] = {}
    for key, x in data.features.items():
        findings += check_non_finite(data, key, x, starts)
        joints[key] = _facts(_finite(x), starts, same, seg, s)
    for key, jt in joints.items():
        findings += check_constant(data, key, jt, ctx)
    findings += check_stats(data, ctx, starts, lengths, {k: jt.floor for k, jt in joints.items()})
    warnings: list[Finding] = []
    warnings += check_frozen(data, joints, starts, ends, lengths)
    idle_head, idle_tail, idle = check_idle(data, joints, starts, ends, lengths, s)
    warnings += idle
    warnings += check_frozen_frames(data, joints, starts, ends, idle_head, idle_tail, s)
    for key, jt in joints.items():
        warnings += check_jumps(data, key, jt, starts, same, s)
        if key in STATE_KEYS or key.startswith("observation.state"):
            warnings += check_saturation(data, key, joints, starts, ends, s, ctx)
    warnings += check_gripper(data, joints, starts, ends, ctx)
    swapped = check_swapped(data, joints, starts, ends)
    # an episode whose state and action are swapped shows each on the other's scale: said as the swap; a
    # joint that jumps and stays there (an encoder wrap) sits outside its usual range after it: said as the
    # jump, at its frame
    jumped = {(f.episode, f.feature, f.joint) for f in warnings if f.check == JUMP}
    warnings += [
        f
        for f in check_units(data, joints, starts)
        if f.episode not in {w.episode for w in swapped} and (f.episode, f.feature, f.joint) not in jumped
    ]
    warnings += swapped
    warnings += check_pinned(data, joints, starts, ctx)
    findings += [f for f in warnings if f.check == UNITS and f.severity == "error"]
    warnings = [f for f in warnings if not (f.check == UNITS and f.severity == "error")]
    findings += _dataset_level(data, warnings, len(starts))
    findings += check_widths(data, joints)
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
) -> Joint:
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
    return Joint(x, mn, mx, rng, emin, emax, emax - emin, floor, typical, period)


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


def _rates(data: ValueData, joints: dict[str, Joint]) -> list[Finding]:
    """Information, once per feature and rate: joints streamed below the dataset fps."""
    findings = []
    for key, jt in joints.items():
        for k in sorted({int(p) for p in jt.period if p > 1}):
            members = [int(j) for j in np.flatnonzero(jt.period == k)]
            names = data.names[key]
            label = key if len(members) == len(names) else f"{key}[{joint_span(names, members)}]"
            message = (
                f"{label} ({len(members)} of {len(names)} joints) updates at ~{data.fps / k:.3g} Hz: each "
                f"value is held for ~{k} frames of the {data.fps:g} fps data, then steps (jumps are measured "
                "between its updates)."
            )
            findings.append(Finding(RATE, "ok", message, key, names[members[0]]))
    return findings
