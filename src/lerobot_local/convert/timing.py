"""Timestamps LeRobot's loader accepts: row k of an episode at k / fps, within LeRobot's tolerance.

LeRobot looks each frame up in the video by its ``timestamp``; a row more than ``tolerance_s`` from its
frame makes the loader raise ``FrameTimestampError`` (or return a neighbouring frame). This module names such
rows before anything is written: a gap or a backwards step (the recording lost time: drop or re-record the
episode) or clock jitter/offset (``--retime=true`` writes ``frame_index / fps`` into the new copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s (LeRobotDataset, every supported release)
GAP_FACTOR = 1.5  # a step over 1.5 frame periods that shifts the rows after it (or <= 0) is a gap


@dataclass(frozen=True)
class TimingIssue:
    """Why one episode's timestamps are not k / fps: ``kind`` is "gap" or "clock"."""

    kind: str
    frame: int  # first row concerned
    message: str


def retimed(length: int, fps: float) -> np.ndarray:
    """The timestamps LeRobot writes: frame k at k / fps, as float32."""
    return (np.arange(length, dtype=np.float64) / fps).astype(np.float32)


def timing_issue(timestamps: np.ndarray, fps: float, tolerance_s: float = TOLERANCE_S) -> TimingIssue | None:
    """None when every row k sits at k / fps (within tolerance), else what is wrong, in one phrase."""
    ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if not ts.size:
        return None
    expected = np.arange(ts.size) / fps
    off = np.abs(ts - expected)
    finite = np.isfinite(ts)
    bad = ~finite | (off > tolerance_s)
    if not bad.any():
        return None
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        return TimingIssue("gap", row, f"timestamp of frame {row} is {ts[row]} (not a number)")
    steps = np.diff(ts)
    gaps = _persistent_gaps(ts - expected, steps, fps)
    if gaps.any():
        row = int(np.flatnonzero(gaps)[0]) + 1
        kind = "goes backwards" if steps[row - 1] <= 0 else "jumps"
        count = int(gaps.sum())
        more = f" ({count} such steps)" if count > 1 else ""
        return TimingIssue(
            "gap",
            row,
            f"timestamp {kind} from {ts[row - 1]:.4f} s to {ts[row]:.4f} s at frame {row}{more}, a step of "
            f"{steps[row - 1]:+.4f} s where 1/{fps:g} = {1 / fps:.4f} s is expected",
        )
    row = int(np.flatnonzero(bad)[0])
    return TimingIssue(
        "clock",
        row,
        f"{int(bad.sum())} of {ts.size} timestamps are more than {tolerance_s:g} s from frame_index / fps "
        f"(up to {off.max():.4f} s, first at frame {row}: {ts[row]:.4f} s instead of {expected[row]:.4f} s); "
        "they look taken from a clock, not from the frame count",
    )


def _persistent_gaps(offset: np.ndarray, steps: np.ndarray, fps: float, window: int = 15) -> np.ndarray:
    """Steps that go backwards, or are long and shift the rows after them for good (the recording lost
    time); a long step that the next rows make up for is clock jitter, not a gap."""
    gaps = steps <= 0
    for row in np.flatnonzero(steps > GAP_FACTOR / fps):
        before = np.median(offset[max(0, row + 1 - window) : row + 1])
        after = np.median(offset[row + 1 : row + 1 + window])
        gaps[row] |= abs(after - before) > 0.5 / fps
    return gaps


def moved(timestamps: np.ndarray | None, fps: float) -> tuple[float, float]:
    """(max, mean) absolute change of an episode's timestamps when re-timed to k / fps."""
    if timestamps is None or not np.asarray(timestamps).size:
        return 0.0, 0.0
    ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    delta = np.abs(np.where(np.isfinite(ts), ts, 0.0) - retimed(ts.size, fps).astype(np.float64))
    return float(delta.max()), float(delta.mean())
