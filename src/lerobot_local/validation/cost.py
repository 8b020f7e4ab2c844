"""What validation costs and how much of it a run can afford: the held-out frames that fit a time budget (a
share of the training time between validations), and durations said in words before a long step starts."""

from __future__ import annotations

# The fewest held-out frames a time budget may leave (fewer say little): all of them when there are fewer.
MIN_FRAMES = 32


def budget_frames(
    *,
    seconds_per_step: float,
    steps_between: int,
    seconds_per_frame: float,
    share: float,
    max_frames: int,
    min_frames: int = MIN_FRAMES,
) -> int:
    """Held-out frames one validation may score so that it costs ``share`` of the training time between two
    validations (``steps_between`` steps of ``seconds_per_step``), at ``seconds_per_frame``; between
    ``min(min_frames, max_frames)`` and ``max_frames``."""
    floor = min(min_frames, max_frames)
    if seconds_per_frame <= 0 or share <= 0:
        return max_frames
    affordable = int(share * max(0, steps_between) * max(0.0, seconds_per_step) / seconds_per_frame)
    return max(floor, min(max_frames, affordable))


def steps_between(every_n_steps: int, save_freq: int | None, steps: int | None) -> int:
    """Training steps between two validations: the smaller of the validation cadence and the checkpoints'."""
    cadences = [int(n) for n in (every_n_steps, save_freq, steps) if n and int(n) > 0]
    return min(cadences) if cadences else 0


def duration(seconds: float | None) -> str:
    """'about 12 s', 'about 3.5 min', 'about 1.2 h'; 'unknown' when not measured yet."""
    if seconds is None:
        return "unknown until the first batch"
    if seconds < 90:
        return f"about {max(seconds, 0.1):.1f} s" if seconds < 10 else f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.1f} min"
    return f"about {seconds / 3600:.1f} h"
