"""The value checks: one vectorised pass over the state/action arrays of a dataset (see :mod:`.data`).

Every finding names the file, the episode, the frame range and the joint (its name in ``info.json``).
Errors are what breaks training: NaN/Inf (the mean/std LeRobot normalises with become NaN, then the loss),
a joint constant over the whole dataset in a normalised feature (std 0), ``meta/stats.json`` disagreeing
with the data. Warnings are what a recording can legitimately show but usually should not: a frozen
state or joint through an episode, idle frames at an episode's head or tail, jumps, saturation, a gripper
that never opens or closes.
"""

from __future__ import annotations

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
IDLE = "values:idle"
JUMP = "values:jump"
SATURATION = "values:saturation"
GRIPPER = "values:gripper"
STATS = "values:stats"
ALL_CHECKS = (NAN, CONSTANT, STATS, FROZEN_STATE, FROZEN_JOINT, IDLE, JUMP, SATURATION, GRIPPER)
MAX_FINDINGS_PER_CHECK = 1000  # bounds time and report size on a badly broken dataset

FIXES = {
    NAN: "re-record or drop the episode(s); LeRobot's mean/std (and so the loss) become NaN otherwise",
    CONSTANT: "drop the joint from the feature, or record data where it moves; its std is 0, so "
    "normalisation divides by ~0",
    STATS: "recompute the stats (lerobot-convert-local --stats=recompute from the v2.x source, or "
    "LeRobot's dataset tools); training normalises with them",
    FROZEN_STATE: "check the robot's state stream (cable, driver) and drop the episode(s)",
    FROZEN_JOINT: "check that joint's encoder/cable and drop the episode(s)",
    IDLE: "trim the idle frames or drop the episode(s); raise lerobot_local.values.max_idle_s if it is "
    "intended",
    JUMP: "check for an encoder wrap or dropped serial packets and drop the episode(s); raise "
    "values.jump_factor if the motion is real",
    SATURATION: "check the joint's limits/calibration and drop the episode(s)",
    GRIPPER: "check that the gripper is recorded (and which index it has) and drop the episode(s)",
}


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    message: str  # one sentence: file, episode, frames, joint, what is wrong
    feature: str
    joint: str | None = None
    episode: int | None = None
    first_frame: int | None = None
    last_frame: int | None = None
    file: str | None = None

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


def _where(data: ValueData, row: int, last_row: int | None = None) -> str:
    file = data.files[int(data.file_of_row[row])]
    a = int(data.frame[row])
    b = int(data.frame[last_row]) if last_row is not None else a
    frames = f"frame {a}" if a == b else f"frames {a}-{b}"
    return f"{file}: episode {int(data.episode[row])}, {frames}"


def _finding(
    data: ValueData, check: str, severity: str, key: str, j: int | None, row: int, last: int, what: str
) -> Finding:
    joint = data.names[key][j] if j is not None else None
    label = f"{key}[{joint}]" if joint is not None else key
    return Finding(
        check=check,
        severity=severity,
        message=f"{_where(data, row, last)}: {label} {what}",
        feature=key,
        joint=joint,
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
    clean: dict[str, np.ndarray] = {}
    for key, x in data.features.items():
        findings += _non_finite(data, key, x, starts, ends)
        clean[key] = _finite(x)
    stats: dict[str, dict[str, np.ndarray]] = {}
    for key, x in clean.items():
        mn, mx = x.min(0), x.max(0)
        stats[key] = {"min": mn, "max": mx, "range": mx - mn, "emin": None, "emax": None}
        stats[key]["emin"] = np.minimum.reduceat(x, starts, axis=0)
        stats[key]["emax"] = np.maximum.reduceat(x, starts, axis=0)
        findings += _constant(data, key, stats[key], ctx)
    findings += _stats(data, ctx, starts, lengths)
    findings += _frozen(data, clean, stats, starts, ends, lengths)
    idle_head, idle_tail, idle = _idle(data, clean, stats, starts, ends, lengths, s)
    findings += idle
    for key, x in clean.items():
        findings += _jumps(data, key, x, stats[key], s)
        if _is_robot(key):
            findings += _saturation(data, key, x, stats[key], starts, idle_head, idle_tail, s)
    findings += _gripper(data, clean, stats, starts, ends, ctx)
    return findings


def _finite(x: np.ndarray) -> np.ndarray:
    """``x`` with non-finite values replaced by the column's median of finite values (checked apart)."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    x = x.copy()
    for j in np.flatnonzero(bad.any(0)):
        good = x[~bad[:, j], j]
        x[bad[:, j], j] = np.median(good) if good.size else 0.0
    return x


def _non_finite(data: ValueData, key: str, x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list:
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


def _constant(data: ValueData, key: str, st: dict[str, np.ndarray], ctx: ScanContext) -> list[Finding]:
    findings = []
    for j in np.flatnonzero(st["range"] == 0):
        severity = "error" if _is_normalised(key, ctx) else "warning"
        value = float(st["min"][j])
        what = f"is {value:g} in every frame of the dataset (std 0" + (
            ", and the policy normalises it)" if severity == "error" else ")"
        )
        finding = _finding(data, CONSTANT, severity, key, int(j), 0, data.frames - 1, what)
        findings.append(
            Finding(
                **{
                    **finding.to_dict(),
                    "message": f"{data.root}/data: {key}[{data.names[key][j]}] {what}",
                    "episode": None,
                    "first_frame": None,
                    "last_frame": None,
                    "file": None,
                }
            )
        )
    return findings


def _is_robot(key: str) -> bool:
    """The robot's own joints (proprioception and commands), as opposed to e.g. a goal in
    observation.environment_state, which is legitimately constant through an episode."""
    return key == "action" or key.startswith("observation.state")


def _state_keys(clean: dict[str, np.ndarray]) -> list[str]:
    return [k for k in clean if k.startswith("observation.state")]


def _frozen(
    data: ValueData,
    clean: dict[str, np.ndarray],
    stats: dict[str, dict[str, np.ndarray]],
    starts: np.ndarray,
    ends: np.ndarray,
    lengths: np.ndarray,
) -> list[Finding]:
    findings = []
    action = stats.get("action")
    for key in _state_keys(clean):
        st = stats[key]
        moves = st["range"] > 0
        if not moves.any():
            continue
        erange = st["emax"] - st["emin"]
        still = (erange == 0) & moves  # (E, D): constant through the episode, though it moves elsewhere
        whole = still[:, moves].all(1) & (lengths > 1)
        for e in np.flatnonzero(whole):
            what = f"does not change through the whole episode ({int(lengths[e])} frames)"
            findings.append(
                _finding(data, FROZEN_STATE, "warning", key, None, int(starts[e]), int(ends[e] - 1), what)
            )
        if action is None or action["range"].shape != st["range"].shape:
            continue
        action_moves = (action["emax"] - action["emin"]) > 0.05 * np.where(
            action["range"] > 0, action["range"], np.inf
        )
        for e, j in zip(
            *np.nonzero(still & action_moves & ~whole[:, None] & (lengths[:, None] > 1)), strict=True
        ):
            what = (
                f"does not change through the whole episode ({int(lengths[e])} frames) while "
                f"action[{data.names['action'][j]}] moves"
            )
            findings.append(
                _finding(data, FROZEN_JOINT, "warning", key, int(j), int(starts[e]), int(ends[e] - 1), what)
            )
    return findings


def _idle(
    data: ValueData,
    clean: dict[str, np.ndarray],
    stats: dict[str, dict[str, np.ndarray]],
    starts: np.ndarray,
    ends: np.ndarray,
    lengths: np.ndarray,
    s: ValueCheckSettings,
) -> tuple[np.ndarray, np.ndarray, list[Finding]]:
    """Frames at each episode's head/tail identical to its first/last frame (all checked features)."""
    n = data.frames
    robot = [k for k in clean if _is_robot(k)]
    head = np.ones(len(starts), dtype=np.int64)
    tail = np.ones(len(starts), dtype=np.int64)
    if not robot:
        return head, tail, []
    columns = [clean[k] for k in robot]
    tolerance = np.concatenate([stats[k]["range"] for k in robot]) * s.idle_tolerance
    z = np.concatenate(columns, axis=1)
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
                    f"values.max_idle_s={s.max_idle_s}): the episode {where} idle"
                )
                findings.append(
                    _finding(data, IDLE, "warning", "state/action", None, int(first), int(last), what)
                )
    return head, tail, findings


def _jumps(
    data: ValueData, key: str, x: np.ndarray, st: dict[str, np.ndarray], s: ValueCheckSettings
) -> list[Finding]:
    if x.shape[0] < 3:
        return []
    same = data.episode[1:] == data.episode[:-1]
    step = np.abs(np.diff(x, axis=0))
    within = step[same]
    if not within.size:
        return []
    typical = np.quantile(within, 0.9, axis=0)
    threshold = np.maximum(s.jump_factor * typical, s.jump_min_fraction * st["range"])
    hits = (step > threshold) & same[:, None] & (st["range"] > 0)
    if not hits.any():
        return []
    findings = []
    rows, cols = np.nonzero(hits)
    for j in np.unique(cols):
        picked = rows[cols == j]
        episodes = data.episode[picked]
        for e in np.unique(episodes)[:MAX_FINDINGS_PER_CHECK]:
            r = picked[episodes == e]
            biggest = float(step[r, j].max())
            what = (
                f"jumps by {biggest:.4g} between frames {len(r)} time(s) (its usual change is "
                f"{typical[j]:.3g}, range {st['range'][j]:.4g})"
            )
            findings.append(_finding(data, JUMP, "warning", key, int(j), int(r[0]), int(r[-1] + 1), what))
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
    x: np.ndarray,
    st: dict[str, np.ndarray],
    starts: np.ndarray,
    idle_head: np.ndarray,
    idle_tail: np.ndarray,
    s: ValueCheckSettings,
) -> list[Finding]:
    limit = max(2, round(s.saturation_s * data.fps))
    if x.shape[0] < limit:
        return []
    breaks = np.zeros(x.shape[0], dtype=bool)
    breaks[starts] = True
    grippers = set(_gripper_joints(data, key, ScanContext(settings=s)))
    ends = np.r_[starts[1:], x.shape[0]]
    findings = []
    for j in np.flatnonzero(st["range"] > 0):
        if j in grippers:
            continue  # a gripper fully open or closed for seconds is normal
        for bound, label in ((st["max"][j], "maximum"), (st["min"][j], "minimum")):
            first, last = _runs(x[:, j] == bound, breaks)
            long = (last - first + 1) >= limit
            for a, b in zip(first[long], last[long], strict=True):
                e = np.searchsorted(starts, a, side="right") - 1
                if b < starts[e] + idle_head[e] or a >= ends[e] - idle_tail[e]:
                    continue  # inside the episode's idle head/tail (the idle check reports those)
                what = (
                    f"stays at its dataset {label} {bound:.6g} for {b - a + 1} frames "
                    f"({(b - a + 1) / data.fps:.2f} s): saturated or clipped"
                )
                findings.append(_finding(data, SATURATION, "warning", key, int(j), int(a), int(b), what))
    return findings


def _gripper(
    data: ValueData,
    clean: dict[str, np.ndarray],
    stats: dict[str, dict[str, np.ndarray]],
    starts: np.ndarray,
    ends: np.ndarray,
    ctx: ScanContext,
) -> list[Finding]:
    key = next((k for k in ("observation.state", "action") if k in clean), None)
    if key is None:
        return []
    st = stats[key]
    findings = []
    for j in _gripper_joints(data, key, ctx):
        full = float(st["range"][j])
        if full <= 0:
            continue  # constant over the dataset: the constant_joint check reports it
        travel = st["emax"][:, j] - st["emin"][:, j]
        moves = st["range"] > 0
        frozen = ((st["emax"] - st["emin"])[:, moves] == 0).all(1)  # the frozen_state check reports those
        for e in np.flatnonzero((travel < ctx.settings.gripper_min_fraction * full) & ~frozen):
            what = (
                f"never opens or closes: it travels {travel[e]:.4g}, "
                f"{100 * travel[e] / full:.1f}% of its range {full:.4g} over the dataset"
            )
            findings.append(
                _finding(data, GRIPPER, "warning", key, int(j), int(starts[e]), int(ends[e] - 1), what)
            )
    return findings


def _stats(data: ValueData, ctx: ScanContext, starts: np.ndarray, lengths: np.ndarray) -> list[Finding]:
    """meta/stats.json against the whole data; a v2.1 source's per-episode stats against each episode."""
    findings = []
    tol = ctx.settings.stats_tolerance
    for key, x in data.features.items():
        if not np.isfinite(x).all():
            continue  # the NaN check reports it; stats of NaN data are NaN anyway
        std = x.std(0)
        computed = {"mean": x.mean(0), "std": std, "min": x.min(0), "max": x.max(0)}
        given = (ctx.stats_json or {}).get(key)
        if isinstance(given, dict):
            for stat, value in computed.items():
                findings += _compare_stat(data, ctx.stats_label, key, stat, given.get(stat), value, std, tol)
            count = given.get("count")
            if isinstance(count, list) and count and count[0] != data.frames and not data.unreadable:
                findings.append(
                    Finding(
                        STATS,
                        "error",
                        f"{data.root}/{ctx.stats_label}: {key} count is {count[0]} but the data has "
                        f"{data.frames} frames",
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
            scale = np.maximum(std, 1e-6) * tol + 1e-6 + 1e-6 * np.abs(got)
            bad = np.abs(ref - got) > scale
            for i, j in zip(*np.nonzero(bad), strict=True):
                e = int(ep_ids[ok][i])
                findings.append(
                    Finding(
                        STATS,
                        "error",
                        f"{data.root}/meta/episodes_stats.jsonl: episode {e} {key}[{data.names[key][j]}] "
                        f"{stat} is {ref[i, j]:.6g} but the episode's data gives {got[i, j]:.6g}",
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
    std: np.ndarray,
    tol: float,
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
                f"{value.shape[0]} numbers",
                key,
                file=label,
            )
        ]
    scale = np.maximum(std, 1e-6) * tol + 1e-6 + 1e-6 * np.abs(value)
    bad = ~(np.abs(ref - value) <= scale)
    return [
        Finding(
            STATS,
            "error",
            f"{data.root}/{label}: {key}[{data.names[key][j]}] {stat} is {ref[j]:.6g} but the data "
            f"gives {value[j]:.6g}",
            key,
            data.names[key][j],
            file=label,
        )
        for j in np.flatnonzero(bad)
    ]
