"""Timestamps against ``info.json``'s fps, episode by episode: what LeRobot's loader would reject, and why.

LeRobot checks that consecutive timestamps of an episode are ``1/fps`` apart within ``tolerance_s``
(1e-4 s) and raises ``FrameTimestampError`` otherwise. This module says which of the causes it is, because
each has its own fix: a wrong fps in ``info.json`` (every episode steps at another rate), a gap or a
backwards step at one frame (drop or re-record that episode), timestamps taken from the recorder's wall
clock (jitter, a start at 0.03 s instead of 0: re-time the rows from ``frame_index / fps``), rows dropped or
duplicated (``frame_index`` not contiguous). float32 timestamps on ``k/fps`` are normal and say nothing.
A pure function of :class:`~lerobot_local.values.data.ValueData` (its ``timestamp``, ``frame``, ``episode``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lerobot_local.results import CheckResult
from lerobot_local.values.data import ValueData
from lerobot_local.values.scan import Finding

TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s
FPS = "fps"  # the dataset-level verdict: info.json's fps against the episodes' rate
TIMESTAMPS = "fps:timestamps"  # wall-clock/jittered timestamps, a start offset, an episode at another rate
GAP = "fps:gap"  # a gap or a backwards step at one frame
FRAMES = "fps:frames"  # rows dropped or duplicated (frame_index not contiguous)
TIMING_CHECKS = (FPS, TIMESTAMPS, GAP, FRAMES)
DATASET_SHARE = 0.75  # a timing problem in this share of the episodes (or more) is the dataset's, said once
MAX_FINDINGS = 1000
RETIME_FIX = (
    "re-time the rows from frame_index / fps (lerobot-convert-local --retime=true writes a re-timed copy "
    "and reports how far each timestamp moved); LeRobot's loader raises FrameTimestampError on them"
)
FIXES = {
    FPS: "set fps in meta/info.json to the rate the episodes were recorded at",
    TIMESTAMPS: RETIME_FIX,
    GAP: "drop or re-record the episode(s): frames are missing or out of order there, so LeRobot's loader "
    "raises FrameTimestampError and re-timing would misalign them with the video",
    FRAMES: "drop or re-record the episode(s): rows are missing or repeated (frame_index is not 0, 1, 2, "
    "...), so LeRobot's loader raises FrameTimestampError on them",
}


def _rate(step: float) -> str:
    """A step in seconds as a rate: ``15`` when it is within 1% of an integer, else ``14.73``."""
    if step <= 0:
        return "no"
    fps = 1.0 / step
    return f"{round(fps)}" if abs(fps - round(fps)) < 0.01 * fps else f"{fps:.2f}"


def _s(value: float) -> str:
    """Seconds with enough digits to show a 1e-4 s difference."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) >= 1e-4 else f"{value:.2g}"


def check_timing(data: ValueData, tolerance_s: float = TOLERANCE_S) -> list[Finding]:
    """Every timing finding of ``data`` (episode, frame and file named), cheapest when all is well."""
    if not data.frames:
        return []
    ep_ids, starts, ends = data.bounds()
    findings = _frame_rows(data, ep_ids, starts, ends)
    if data.timestamp is None:
        return findings
    ts = data.timestamp.astype(np.float64)
    period = 1.0 / data.fps
    same = data.episode[1:] == data.episode[:-1]
    step = np.diff(ts)
    frame_step = np.diff(data.frame)
    off = same & (np.abs(step - period) > tolerance_s)
    first_off = np.abs(ts[starts]) > tolerance_s
    if not off.any() and not first_off.any():
        return findings
    # a step explained by a dropped or duplicated row is reported by _frame_rows, once
    explained = same & (frame_step != 1) & (np.abs(step - frame_step * period) <= tolerance_s)
    lengths = ends - starts
    medians = _episode_medians(step, same, starts, ends)
    rate_ok = np.abs(medians - period) <= max(tolerance_s, 0.05 * period)
    measured = lengths > 2
    if measured.any() and not rate_ok[measured].any():
        return [*findings, _wrong_fps(data, medians[measured], period, tolerance_s)]
    jitter, gaps = [], []
    for e in range(len(starts)):
        a, b = int(starts[e]), int(ends[e])
        bad = np.flatnonzero(off[a : b - 1] & ~explained[a : b - 1]) + a
        if not rate_ok[e] and measured[e]:
            jitter.append((e, "rate", bad))
            continue
        small = bad[(step[bad] > 0) & (step[bad] <= 1.5 * period)]
        many = small.size >= max(2, 0.01 * (b - a))
        if many or first_off[e]:
            jitter.append((e, "clock" if many else "offset", bad))
        elif bad.size:
            gaps.append((e, bad))
    findings += _jitter(data, jitter, starts, ends, step, ts, period, len(starts))
    findings += [_gap(data, bad, step, ts, period) for _, bad in gaps[:MAX_FINDINGS]]
    return findings


def _episode_medians(step: np.ndarray, same: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each episode's median timestamp step (NaN for an episode of one row)."""
    out = np.full(len(starts), np.nan)
    for e, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if b - a > 1:
            out[e] = float(np.median(step[a : b - 1]))
    return out


def _where(data: ValueData, row: int) -> str:
    return f"{data.files[int(data.file_of_row[row])]}: episode {int(data.episode[row])}"


def _finding(
    data: ValueData, check: str, row: int, last: int, what: str, feature: str = "timestamp"
) -> Finding:
    return Finding(
        check=check,
        severity="error",
        message=f"{_where(data, row)} {what}",
        feature=feature,
        episode=int(data.episode[row]),
        first_frame=int(data.frame[row]),
        last_frame=int(data.frame[last]),
        file=data.files[int(data.file_of_row[row])],
    )


def _wrong_fps(data: ValueData, medians: np.ndarray, period: float, tolerance_s: float) -> Finding:
    lo, hi = float(np.min(medians)), float(np.max(medians))
    consistent = hi - lo <= max(tolerance_s, 0.01 * hi)
    if consistent:
        what = (
            f"every episode's timestamps step by {_s(float(np.median(medians)))} s "
            f"({_rate(float(np.median(medians)))} fps), but meta/info.json says fps={data.fps:g} "
            f"(a step of {_s(period)} s), so LeRobot's loader raises FrameTimestampError on every episode"
        )
    else:
        what = (
            f"no episode's timestamps step by 1/{data.fps:g} s as meta/info.json's fps={data.fps:g} says: "
            f"their median steps range from {_s(lo)} s to {_s(hi)} s ({_rate(hi)} to {_rate(lo)} fps)"
        )
    return Finding(FPS, "error", f"{data.root}/meta/info.json: {what}.", "timestamp", file="meta/info.json")


def _jitter(
    data: ValueData,
    episodes: list[tuple[int, str, np.ndarray]],
    starts: np.ndarray,
    ends: np.ndarray,
    step: np.ndarray,
    ts: np.ndarray,
    period: float,
    total: int,
) -> list[Finding]:
    """Wall-clock or offset timestamps: once for the dataset when most episodes have them, else each."""
    if not episodes:
        return []
    details = []
    for e, kind, bad in episodes:
        a, b = int(starts[e]), int(ends[e])
        worst = float(np.max(np.abs(step[bad] - period))) if bad.size else 0.0
        details.append((e, kind, bad.size, b - a - 1, worst, float(ts[a])))
    if len(episodes) >= max(2, DATASET_SHARE * total):
        n_off = sum(d[2] for d in details)
        n_steps = sum(d[3] for d in details)
        worst = max(d[4] for d in details)
        first = [d[5] for d in details]
        start = (
            f"they start at {_s(min(first))}-{_s(max(first))} s instead of 0"
            if max(abs(f) for f in first) > TOLERANCE_S
            else "they start at 0"
        )
        what = (
            f"{data.root}/data: the timestamps of {len(episodes)} of {total} episodes are not "
            f"1/{data.fps:g} s apart: {n_off} of {n_steps} steps ({100 * n_off / max(n_steps, 1):.1f}%) are "
            "off by more than "
            f"LeRobot's {TOLERANCE_S:g} s tolerance (up to {_s(worst)} s) and {start}; they were taken from "
            "the recorder's clock, and LeRobot's loader raises FrameTimestampError on them."
        )
        return [Finding(TIMESTAMPS, "error", what, "timestamp")]
    out = []
    for (e, kind, n_bad, n_steps, worst, first), _ in zip(details, episodes, strict=True):
        a, b = int(starts[e]), int(ends[e])
        if kind == "rate":
            median = float(np.median(step[a : b - 1]))
            what = (
                f"steps by {_s(median)} s ({_rate(median)} fps) while meta/info.json says fps={data.fps:g}: "
                "this episode was recorded at another rate."
            )
        elif kind == "clock":
            what = (
                f"has {n_bad} of {n_steps} timestamp steps off 1/{data.fps:g} s by more than LeRobot's "
                f"{TOLERANCE_S:g} s tolerance (up to {_s(worst)} s) and starts at {_s(first)} s: its "
                "timestamps were taken from the recorder's clock."
            )
        else:
            what = (
                f"starts at timestamp {_s(first)} s instead of 0, so its frames are looked up "
                f"{_s(first)} s late in the video."
            )
        out.append(_finding(data, TIMESTAMPS, a, b - 1, what))
    return out[:MAX_FINDINGS]


def _gap(data: ValueData, bad: np.ndarray, step: np.ndarray, ts: np.ndarray, period: float) -> Finding:
    """A gap or backwards step (the first named with its frames, the others counted)."""
    r = int(bad[0])
    d = float(step[r])
    a, b = int(data.frame[r]), int(data.frame[r + 1])
    if d <= 0:
        kind = "goes backwards" if d < 0 else "repeats"
        what = (
            f"timestamp {kind} from {_s(float(ts[r]))} s at frame {a} to {_s(float(ts[r + 1]))} s at "
            f"frame {b}"
        )
    elif d > 1.5 * period:
        what = (
            f"has a timestamp gap of {_s(d)} s between frames {a} and {b} ({_s(float(ts[r]))} s -> "
            f"{_s(float(ts[r + 1]))} s, about {round(d / period) - 1} frame(s) of time missing)"
        )
    else:
        what = f"has a timestamp step of {_s(d)} s between frames {a} and {b} instead of 1/{data.fps:g} s"
    more = (
        f", and {bad.size - 1} more such step(s) up to frame {int(data.frame[int(bad[-1]) + 1])}"
        if bad.size > 1
        else ""
    )
    return _finding(data, GAP, r, r + 1, f"{what}{more}.")


def _frame_rows(data: ValueData, ep_ids: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[Finding]:
    """frame_index of each episode is 0, 1, 2, ...: missing rows (dropped) and repeated rows (duplicated)."""
    frame = data.frame
    same = data.episode[1:] == data.episode[:-1]
    fstep = np.diff(frame)
    broken = same & (fstep != 1)
    head = frame[starts] != 0
    if not broken.any() and not head.any():
        return []
    findings = []
    for e in np.flatnonzero((np.add.reduceat(np.r_[broken, False].astype(np.int64), starts) > 0) | head)[
        :MAX_FINDINGS
    ]:
        a, b = int(starts[e]), int(ends[e])
        rows = np.flatnonzero(broken[a : b - 1]) + a
        dropped = rows[fstep[rows] > 1]
        repeated = rows[fstep[rows] <= 0]
        parts = []
        missing = int((fstep[dropped] - 1).sum()) + (int(frame[a]) if frame[a] > 0 else 0)
        if dropped.size or frame[a] > 0:
            where = (
                f"after frame {int(frame[dropped[0]])} (next is {int(frame[dropped[0] + 1])})"
                if dropped.size
                else f"at its start (it begins at frame {int(frame[a])})"
            )
            parts.append(f"{missing} row(s) are missing, first {where}")
        if repeated.size:
            r = int(repeated[0])
            parts.append(
                f"{repeated.size} row(s) repeat a frame_index, first frame {int(frame[r + 1])}"
                + (" (out of order)" if fstep[r] < 0 else "")
            )
        first = int(dropped[0] if dropped.size else (repeated[0] if repeated.size else a))
        last = min(first + 1, b - 1)
        what = "has " + " and ".join(parts) if parts else "has a frame_index that is not 0, 1, 2, ..."
        findings.append(
            _finding(data, FRAMES, first, last, f"{what}: frame_index is not 0, 1, 2, ....", "frame_index")
        )
    return findings


def timing_results(
    data: ValueData,
    findings: list[Finding],
    exclude_fix: Callable[[list[int]], str] | None = None,
    max_listed: int = 3,
) -> list[CheckResult]:
    """The ``fps`` row (info.json's fps against the episodes' rate) and one row per kind of timing problem."""
    by_check: dict[str, list[Finding]] = {}
    for f in findings:
        by_check.setdefault(f.check, []).append(f)
    total = len(np.unique(data.episode)) if data.frames else 0
    results = []
    if FPS not in by_check:
        what = (
            f"{data.fps:g} fps in meta/info.json agrees with the timestamps of every episode "
            f"({data.frames} frames)"
            if not by_check
            else f"{data.fps:g} fps in meta/info.json is the rate the episodes were recorded at (other rows "
            "say where their timestamps break)"
        )
        if data.timestamp is None and data.frames:
            what = (
                f"the data files have no timestamp column to compare with {data.fps:g} fps in meta/info.json"
            )
            results.append(CheckResult(FPS, "skipped", what + "."))
        elif data.frames:
            results.append(CheckResult(FPS, "ok", what + "."))
    for check in TIMING_CHECKS:
        found = by_check.get(check)
        if not found:
            continue
        episodes = sorted({f.episode for f in found if f.episode is not None})
        shown = " ".join(f.message for f in found[:max_listed])
        more = f" (and {len(found) - max_listed} more)" if len(found) > max_listed else ""
        where = f" in {len(episodes)} of {total} episode(s)" if episodes else ""
        message = f"{len(found)} problem(s){where}: {shown}{more}"
        fix = FIXES[check]
        if episodes and exclude_fix is not None:
            fix += "; " + (
                exclude_fix(episodes)
                if len(episodes) < total
                else "every episode has it, so leaving episodes out is no fix"
            )
        results.append(
            CheckResult(
                check,
                "error",
                message,
                fix,
                episodes=tuple(episodes),
                details=tuple(f.to_dict() for f in found),
            )
        )
    return results
