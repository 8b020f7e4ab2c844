"""The value checks that compare: one episode's joint on another scale or offset than in the other episodes,
state and action swapped in an episode, an action held at a value its state never reaches, action and state
of different widths."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lerobot_local.values.data import ValueData
from lerobot_local.values.findings import (
    ACTION_KEYS,
    DATASET_SHARE,
    MAX_FINDINGS_PER_CHECK,
    PINNED,
    STATE_KEYS,
    SWAPPED,
    UNITS,
    WIDTHS,
    Finding,
    Joint,
    ScanContext,
    is_velocity,
    make_finding,
    robot_keys,
)
from lerobot_local.values.motion import gripper_joints


def _loo(values: np.ndarray, largest: bool) -> np.ndarray:
    """(E, D): for each episode, the max (or min) of ``values`` over the OTHER episodes."""
    order = np.sort(values, axis=0)
    if not largest:
        order = order[::-1]
    top1, top2 = order[-1], order[-2]
    return np.where(values == top1[None, :], top2[None, :], top1[None, :])


def check_units(data: ValueData, joints: dict[str, Joint], starts: np.ndarray) -> list[Finding]:
    """One episode's joint on another scale (radians as degrees: x57.3) or offset than in every other
    episode: its middle 90% lies outside what the joint reaches in all the others, and (for a scale) it
    spans many times the others' usual travel. Robust per-episode quantiles against the other episodes, so
    stale or recomputed stats do not matter."""
    n_ep = len(starts)
    if n_ep < 4:
        return []
    findings = []
    kinds: dict[tuple[str, int, int], str] = {}
    for key in robot_keys(joints):
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
            findings.append(make_finding(data, UNITS, severity, key, int(j), a, b, what))
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


def _state_action(joints: dict[str, Joint]) -> tuple[str, str] | None:
    state = next((k for k in (*STATE_KEYS,) if k in joints), None)
    if state is None:
        state = next((k for k in joints if k.startswith("observation.state")), None)
    action = next((a for a in ACTION_KEYS if a in joints), None)
    return (state, action) if state and action else None


def check_swapped(
    data: ValueData, joints: dict[str, Joint], starts: np.ndarray, ends: np.ndarray
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
            make_finding(data, SWAPPED, "warning", action, None, int(starts[e]), int(ends[e] - 1), what)
        )
    return findings


def check_pinned(
    data: ValueData, joints: dict[str, Joint], starts: np.ndarray, ctx: ScanContext
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
    grippers = set(gripper_joints(data, action, ctx)) | set(gripper_joints(data, state, ctx))
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
            first = make_finding(data, PINNED, "warning", action, int(j), int(rows[0]), int(rows[0]), what)
            # a calibration of the recording, not an episode's fault: said once, no episode to drop
            findings.append(replace(first, episode=None, first_frame=None, last_frame=None))
    return findings


def check_widths(data: ValueData, joints: dict[str, Joint]) -> list[Finding]:
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
