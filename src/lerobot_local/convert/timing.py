"""Timestamps LeRobot's loader accepts: row k of an episode at k / fps, within LeRobot's tolerance.

Which rows are off, and why (a wrong fps, a clock, a gap), is decided in one place,
:mod:`lerobot_local.values.timing` (the fps check); this module only writes ``frame_index / fps`` for
``--retime=true`` and measures how far that moved each episode's timestamps.
"""

from __future__ import annotations

import numpy as np


def retimed(length: int, fps: float) -> np.ndarray:
    """The timestamps LeRobot writes: frame k at k / fps, as float32."""
    return (np.arange(length, dtype=np.float64) / fps).astype(np.float32)


def moved(timestamps: np.ndarray | None, fps: float) -> tuple[float, float]:
    """(max, mean) absolute change of an episode's timestamps when re-timed to k / fps."""
    if timestamps is None or not np.asarray(timestamps).size:
        return 0.0, 0.0
    ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    delta = np.abs(np.where(np.isfinite(ts), ts, 0.0) - retimed(ts.size, fps).astype(np.float64))
    return float(delta.max()), float(delta.mean())
