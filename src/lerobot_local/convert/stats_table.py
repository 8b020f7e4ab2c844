"""Per-episode statistics of a whole dataset, held column-wise: one ``(episodes, *shape)`` array per stat.

One array per (feature, stat) instead of a small array per episode keeps memory proportional to the numbers
themselves: a 1,000-episode dataset's stats take about a megabyte, not tens of megabytes of Python objects,
so the converter's memory stays flat as datasets grow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


class EpisodeStatsTable:
    """Statistics ``{feature: {stat: array}}`` of ``episodes`` episodes, addressed by row (output order)."""

    def __init__(self, episodes: int) -> None:
        self.episodes = episodes
        self.columns: dict[str, dict[str, np.ndarray]] = {}
        self.present: dict[str, dict[str, np.ndarray]] = {}

    def set(self, row: int, key: str, values: Mapping[str, Any]) -> None:
        """Store one episode's stats of one feature; every stat keeps the shape it first had."""
        columns = self.columns.setdefault(key, {})
        present = self.present.setdefault(key, {})
        for stat, value in values.items():
            array = np.asarray(value)
            column = columns.get(stat)
            if column is None:
                dtype = np.float64 if array.dtype.kind == "f" else np.result_type(array.dtype, np.int64)
                column = columns[stat] = np.zeros((self.episodes, *array.shape), dtype=dtype)
                present[stat] = np.zeros(self.episodes, dtype=bool)
            elif column.shape[1:] != array.shape:
                expected = list(column.shape[1:])
                raise ValueError(
                    f"stats/{key}/{stat} has shape {list(array.shape)}, other episodes {expected}"
                )
            elif np.result_type(column.dtype, array.dtype) != column.dtype:
                column = columns[stat] = column.astype(np.result_type(column.dtype, array.dtype))
            column[row] = array
            present[stat][row] = True

    def set_episode(self, row: int, stats: Mapping[str, Mapping[str, Any]]) -> None:
        for key, values in stats.items():
            self.set(row, key, values)

    def has_row(self, row: int) -> bool:
        return any(mask[row] for stats in self.present.values() for mask in stats.values())

    def episode(self, row: int) -> dict[str, dict[str, np.ndarray]]:
        """One episode's stats (views into the columns)."""
        result: dict[str, dict[str, np.ndarray]] = {}
        for key, columns in self.columns.items():
            values = {s: c[row] for s, c in columns.items() if self.present[key][s][row]}
            if values:
                result[key] = values
        return result

    def subset(self, rows: list[int]) -> EpisodeStatsTable:
        """A table of the given rows only, in that order (copies of the selected rows)."""
        picked = EpisodeStatsTable(len(rows))
        index = np.asarray(rows, dtype=np.int64)
        picked.columns = {k: {s: c[index] for s, c in cols.items()} for k, cols in self.columns.items()}
        picked.present = {k: {s: m[index] for s, m in masks.items()} for k, masks in self.present.items()}
        return picked

    def without(self, keys: Iterable[str]) -> EpisodeStatsTable:
        """A table without the features ``keys`` (the others' columns shared, not copied)."""
        dropped = set(keys)
        kept = EpisodeStatsTable(self.episodes)
        kept.columns = {k: c for k, c in self.columns.items() if k not in dropped}
        kept.present = {k: m for k, m in self.present.items() if k not in dropped}
        return kept

    def with_features_from(self, other: EpisodeStatsTable, keys: Iterable[str]) -> EpisodeStatsTable:
        """A table with this one's features, ``keys`` taken from ``other`` (columns shared, not copied)."""
        merged = EpisodeStatsTable(self.episodes)
        merged.columns, merged.present = dict(self.columns), dict(self.present)
        for key in keys:
            if key in other.columns:
                merged.columns[key], merged.present[key] = other.columns[key], other.present[key]
        return merged


def aggregate(table: EpisodeStatsTable) -> dict[str, dict[str, np.ndarray]]:
    """Dataset stats from per-episode stats (count-weighted mean, pooled variance), like LeRobot's."""
    result: dict[str, dict[str, np.ndarray]] = {}
    for key in sorted(table.columns):
        columns, present = table.columns[key], table.present[key]
        rows = present["count"] & present["mean"] & present["std"] & present["min"] & present["max"]
        if not rows.any():
            continue
        means = columns["mean"][rows].astype(np.float64)
        counts = columns["count"][rows].reshape(-1).astype(np.float64)
        total = counts.sum()
        weights = counts.reshape((-1,) + (1,) * (means.ndim - 1))
        mean = (means * weights).sum(axis=0) / total
        stds = columns["std"][rows].astype(np.float64)
        variance = ((stds**2 + (means - mean) ** 2) * weights).sum(axis=0) / total
        agg = {
            "min": columns["min"][rows].min(axis=0).astype(np.float64),
            "max": columns["max"][rows].max(axis=0).astype(np.float64),
            "mean": mean,
            "std": np.sqrt(variance),
            "count": np.array([int(total)]),
        }
        for q in [s for s in columns if s.startswith("q") and s[1:].isdigit()]:
            if present[q][rows].all():
                agg[q] = (columns[q][rows].astype(np.float64) * weights).sum(axis=0) / total
        result[key] = agg
    return result
