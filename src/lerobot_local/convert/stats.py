"""Per-episode statistics for v2.0 sources (which have none), computed as LeRobot does them.

Numeric features: min/max/mean/std over the episode's frames, shape of the feature. Image and video features:
per-channel values over sampled frames scaled to [0, 1], shape (3, 1, 1). ``count`` is the number of frames
(sampled frames for images), as in LeRobot's ``compute_episode_stats``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STAT_KEYS = ("min", "max", "mean", "std", "count")


def sample_indices(
    length: int, min_samples: int = 100, max_samples: int = 10_000, power: float = 0.75
) -> list[int]:
    """Frame indices LeRobot samples to compute image statistics of an episode of ``length`` frames."""
    lower = min(min_samples, length)
    count = max(lower, min(int(length**power), max_samples))
    return np.round(np.linspace(0, length - 1, count)).astype(int).tolist()


def downsample(image_chw: np.ndarray, target: int = 150, threshold: int = 300) -> np.ndarray:
    """Stride-downsample large images as LeRobot does before computing image statistics."""
    _, height, width = image_chw.shape
    if max(width, height) < threshold:
        return image_chw
    factor = int(width / target) if width > height else int(height / target)
    return image_chw[:, ::factor, ::factor]


def numeric_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of an ``(frames, ...)`` array over its first axis; scalars become shape (1,)."""
    raw = np.asarray(values)
    if raw.ndim == 1:
        raw = raw[:, None]
    array = raw.astype(np.float64)
    return {
        "min": raw.min(axis=0),
        "max": raw.max(axis=0),
        "mean": array.mean(axis=0),
        "std": array.std(axis=0),
        "count": np.array([array.shape[0]]),
    }


def image_stats(images_nchw: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel statistics of uint8 ``(n, c, h, w)`` images scaled to [0, 1], shape (c, 1, 1)."""
    array = images_nchw.astype(np.float64) / 255.0
    axes = (0, 2, 3)
    return {
        "min": array.min(axis=axes, keepdims=True)[0],
        "max": array.max(axis=axes, keepdims=True)[0],
        "mean": array.mean(axis=axes, keepdims=True)[0],
        "std": array.std(axis=axes, keepdims=True)[0],
        "count": np.array([array.shape[0]]),
    }


def to_jsonable(stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, list]]:
    """Turn numpy stats into nested lists (what LeRobot writes to JSON and parquet)."""
    return {k: {s: np.asarray(v).tolist() for s, v in d.items()} for k, d in stats.items()}
