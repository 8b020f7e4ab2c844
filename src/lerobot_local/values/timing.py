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
from lerobot_local.values.findings import Finding

TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s
FPS = "fps"  # the dataset-level verdict: info.json's fps against the episodes' rate
TIMESTAMPS = "fps:timestamps"  # wall-clock/jittered timestamps, a start offset, an episode at another rate
GAP = "fps:gap"  # a gap or a backwards step at one frame
FRAMES = "fps:frames"  # rows dropped or duplicated (frame_index not contiguous)
TIMING_CHECKS = (FPS, TIMESTAMPS, GAP, FRAMES)
FLAG_FIXED = (TIMESTAMPS,)  # fixed by a converter flag (--retime=true), not by leaving episodes out
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


def check_timing(
    data: ValueData, tolerance_s: float = TOLERANCE_S, video_fps: float | None = None
) -> list[Finding]:
    """Every timing finding of ``data`` (episode, frame and file named), cheapest when all is well.

    ``video_fps``: the rate the dataset's videos hold (frames / duration of one stream), when there are
    videos: with timestamps that step steadily at another rate it tells a wrong fps in ``info.json`` (the
    videos run at the timestamps' rate) from timestamps written with a wrong period (the videos run at
    info.json's rate).
    """
    if not data.frames:
        return []
    ep_ids, starts, ends = data.bounds()
    findings = _frame_rows(data, ep_ids, starts, ends)
    if data.timestamp is None:
        return findings
    ts = data.timestamp.astype(np.float64)
    period = 1.0 / data.fps
    nan = ~np.isfinite(ts)
    if nan.any():
        findings += _not_a_number(data, nan, starts, ends)
        ts = np.where(nan, data.frame * period, ts)
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
    medians, spreads = _episode_steps(step, starts, ends)
    rate_ok = np.abs(medians - period) <= max(tolerance_s, 0.05 * period)
    measured = lengths > 2
    if measured.any() and not rate_ok[measured].any():
        return [
            *findings,
            _other_rate(data, medians[measured], spreads[measured], period, tolerance_s, video_fps),
        ]
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
    if len(jitter) >= max(2, DATASET_SHARE * len(starts)):
        # a recording stamped by a clock: its long steps are the same clock's (re-timing keeps row k on
        # video frame k, which the dataset check counts), so they are said with it, not as episodes to drop
        jitter += [(e, "clock", bad) for e, bad in gaps]
        gaps = []
    findings += _jitter(data, jitter, starts, ends, step, ts, period, len(starts))
    findings += [_gap(data, bad, step, ts, period) for _, bad in gaps[:MAX_FINDINGS]]
    return findings


def _not_a_number(data: ValueData, nan: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[Finding]:
    """Episodes whose timestamp column holds NaN/Inf (re-timing writes frame_index / fps there)."""
    out = []
    for a, b in zip(starts, ends, strict=True):
        rows = np.flatnonzero(nan[a:b]) + a
        if rows.size:
            what = (
                f"has {rows.size} timestamp(s) that are not numbers (first at frame "
                f"{int(data.frame[rows[0]])}), which LeRobot cannot look a video frame up by."
            )
            out.append(_finding(data, TIMESTAMPS, int(rows[0]), int(rows[-1]), what))
    return out[:MAX_FINDINGS]


def _episode_steps(step: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each episode's median timestamp step and the median distance of its steps from it (the jitter of
    a clock; ~0 for steps computed as k / rate), NaN for an episode of one row."""
    medians = np.full(len(starts), np.nan)
    spreads = np.full(len(starts), np.nan)
    for e, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if b - a > 1:
            steps = step[a : b - 1]
            medians[e] = float(np.median(steps))
            spreads[e] = float(np.median(np.abs(steps - medians[e])))
    return medians, spreads


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


def _other_rate(
    data: ValueData,
    medians: np.ndarray,
    spreads: np.ndarray,
    period: float,
    tolerance_s: float,
    video_fps: float | None,
) -> Finding:
    """No episode steps by 1/fps: either info.json's fps is wrong (the steps are steady at one integer rate,
    and the videos, if any, run at it) or the timestamps are (a clock's jitter, a rate no integer fps
    gives, or videos that run at info.json's rate): decided here, once, with the reason said."""
    lo, hi = float(np.min(medians)), float(np.max(medians))
    step = float(np.median(medians))
    rate = 1.0 / step if step > 0 else 0.0
    whole = round(rate)
    integer = whole > 0 and abs(rate - whole) <= 0.01 * rate
    consistent = hi - lo <= max(tolerance_s, 0.01 * hi)
    jitter = float(np.max(spreads)) if spreads.size else 0.0
    steady = jitter <= max(tolerance_s, 0.002 * step)
    said = f"meta/info.json says fps={data.fps:g} (a step of {_s(period)} s)"
    if consistent and steady and integer and (video_fps is None or abs(video_fps - whole) < 0.5):
        video = (
            f", and the videos hold {video_fps:.4g} frames per second, the same rate"
            if video_fps is not None
            else " (no video to compare with)"
        )
        what = (
            f"every episode's timestamps step steadily by {_s(step)} s ({whole} fps) but {said}; the steps "
            f"do not jitter (median deviation {_s(jitter)} s){video}, so the recording was made at "
            f"{whole} fps and meta/info.json's fps is wrong; LeRobot's loader raises FrameTimestampError on "
            "every episode"
        )
        fix = f"set fps in meta/info.json to {whole} (the rate the timestamps and videos were recorded at)"
        return Finding(
            FPS, "error", f"{data.root}/meta/info.json: {what}.", "timestamp", file="meta/info.json", fix=fix
        )
    if not steady:
        why = f"their steps jitter (median deviation up to {_s(jitter)} s): they were read from a clock"
    elif not consistent:
        why = f"their median steps differ between episodes ({_s(lo)} s to {_s(hi)} s), as a clock's do"
    elif not integer:
        why = f"they step steadily at {rate:.2f} fps, a rate no integer fps in meta/info.json can hold"
    else:
        why = (
            f"the videos hold {video_fps:.4g} frames per second, the rate meta/info.json says, so the "
            "timestamps, not the fps, are wrong"
        )
    what = (
        f"no episode's timestamps step by 1/{data.fps:g} s: they step by {_s(step)} s "
        f"({rate:.4g} fps) while {said}; {why}; LeRobot's loader raises FrameTimestampError on every episode"
    )
    return Finding(TIMESTAMPS, "error", f"{data.root}/data: {what}.", "timestamp")


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
        if any(
            f.check == TIMESTAMPS and f.episode is None and f.file is None
            for f in by_check.get(TIMESTAMPS, [])
        ):
            what = (
                f"{data.fps:g} fps in meta/info.json is kept: the fps:timestamps row says why the "
                "timestamps, not the fps, are wrong"
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
        fix = next((f.fix for f in found if f.fix), FIXES[check])
        if check in FLAG_FIXED:
            # re-timing fixes every episode: none is left out for it (the rows still name them)
            results.append(
                CheckResult(check, "error", message, fix, details=tuple(f.to_dict() for f in found))
            )
            continue
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
