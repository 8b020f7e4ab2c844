"""Per-episode stats held column-wise aggregate exactly as LeRobot's own ``aggregate_stats`` does."""

from __future__ import annotations

import numpy as np
import pytest

from lerobot_local.convert.stats_table import EpisodeStatsTable, aggregate

SHAPES = {"action": (6,), "timestamp": (1,), "observation.images.top": (3, 1, 1)}


def _episode(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    stats = {}
    for key, shape in SHAPES.items():
        low = rng.normal(size=shape)
        stats[key] = {
            "min": low,
            "max": low + rng.uniform(0.1, 2.0, size=shape),
            "mean": low + rng.uniform(0.0, 0.1, size=shape),
            "std": rng.uniform(0.01, 1.0, size=shape),
            "count": np.array([int(rng.integers(5, 500))]),
        }
    return stats


def test_aggregate_matches_lerobot() -> None:
    from lerobot.datasets.compute_stats import aggregate_stats

    rng = np.random.default_rng(7)
    episodes = [_episode(rng) for _ in range(9)]
    table = EpisodeStatsTable(len(episodes))
    for row, stats in enumerate(episodes):
        table.set_episode(row, stats)
    ours, theirs = aggregate(table), aggregate_stats(episodes)
    assert set(ours) == set(SHAPES)
    for key in SHAPES:
        for stat in ("min", "max", "mean", "std", "count"):
            np.testing.assert_allclose(
                ours[key][stat], theirs[key][stat], rtol=1e-12, err_msg=f"{key}/{stat}"
            )
    for row, stats in enumerate(episodes):  # each episode reads back as stored
        for key, values in stats.items():
            for stat, value in values.items():
                np.testing.assert_array_equal(table.episode(row)[key][stat], value)


def test_types_widen_and_shapes_are_kept() -> None:
    table = EpisodeStatsTable(2)
    table.set(0, "frame_index", {"min": [0], "count": [3]})
    table.set(1, "frame_index", {"min": [0.5], "count": [4]})
    assert table.columns["frame_index"]["min"].dtype == np.float64
    assert table.episode(0)["frame_index"]["min"].tolist() == [0.0]
    assert table.columns["frame_index"]["count"].dtype == np.int64
    with pytest.raises(ValueError, match="shape"):
        table.set(1, "frame_index", {"min": [0.0, 1.0]})
    assert table.episode(1)["frame_index"]["min"].tolist() == [0.5]  # the refused value left no trace
