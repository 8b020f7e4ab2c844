"""Which episodes are held out: per task, deterministic with a seed, every task keeps a training episode.

The split is computed here from the dataset's own ``meta/episodes`` files (not by LeRobot), so it is the same
on every LeRobot line; training then sees only the training episodes through LeRobot's ``dataset.episodes``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from lerobot_local.dataset import EPISODES_DIR, episodes_table
from lerobot_local.validation.config import ValidationSettings


class SplitError(ValueError):
    """The holdout cannot be applied as asked (the message names the fix)."""


@dataclass(frozen=True)
class Split:
    train: list[int]
    holdout: list[int]
    tasks: dict[int, list[str]]  # episode -> its tasks

    def to_dict(self) -> dict[str, list[int]]:
        return {"train_episodes": self.train, "holdout_episodes": self.holdout}


def episode_tasks(root: Path) -> dict[int, list[str]]:
    """Episode index -> its task strings, from ``meta/episodes/*/*.parquet``."""
    table = episodes_table(root, columns=["episode_index", "tasks"])
    if table is None:
        raise SplitError(f"{root / EPISODES_DIR} holds no episodes; convert or record the dataset again")
    rows = table.to_pydict()
    return {
        int(e): [str(t) for t in (tasks or [""])]
        for e, tasks in zip(rows["episode_index"], rows["tasks"], strict=True)
    }


def compute_split(
    tasks: dict[int, list[str]], settings: ValidationSettings, candidates: list[int] | None = None
) -> Split:
    """Split ``candidates`` (default: every episode) into training and held-out episodes.

    An explicit ``settings.episodes`` list is used as given; otherwise ``holdout`` (a fraction) picks episodes
    in a seeded shuffle, skipping any whose removal would leave one of its tasks without a training episode.
    """
    pool = sorted(tasks) if candidates is None else sorted(int(e) for e in candidates)
    unknown = [e for e in pool if e not in tasks]
    if unknown:
        raise SplitError(
            f"dataset.episodes lists episodes {unknown} that meta/episodes does not have; "
            "fix --dataset.episodes"
        )
    if settings.episodes:
        holdout = sorted({int(e) for e in settings.episodes})
        missing = [e for e in holdout if e not in tasks]
        if missing:
            raise SplitError(
                f"lerobot_local.validation.episodes lists episodes {missing} the dataset does not have "
                f"(it has {len(tasks)}: 0..{max(tasks)}); fix --lerobot_local.validation.episodes"
            )
        train = [e for e in pool if e not in set(holdout)]
    else:
        if not 0 < settings.holdout < 1:
            raise SplitError(
                f"lerobot_local.validation.holdout={settings.holdout} must be a fraction between 0 and 1 "
                "(e.g. --lerobot_local.validation.holdout=0.1)"
            )
        wanted = max(1, round(settings.holdout * len(pool)))
        order = list(pool)
        random.Random(settings.seed).shuffle(order)
        left = {}
        for e in pool:
            for t in tasks[e]:
                left[t] = left.get(t, 0) + 1
        chosen: list[int] = []
        for e in order:
            if len(chosen) == wanted:
                break
            if all(left[t] > 1 for t in tasks[e]):
                chosen.append(e)
                for t in tasks[e]:
                    left[t] -= 1
        if not chosen:
            raise SplitError(
                f"lerobot_local.validation.holdout={settings.holdout} cannot hold out any of the "
                f"{len(pool)} episodes without leaving a task with no training episode (each task has "
                "one episode); record more episodes per task, or list held-out episodes with "
                "--lerobot_local.validation.episodes=[...]"
            )
        holdout = sorted(chosen)
        train = [e for e in pool if e not in set(holdout)]
    trained_tasks = {t for e in train for t in tasks[e]}
    orphaned = sorted({t for e in holdout for t in tasks[e]} - trained_tasks)
    if orphaned:
        raise SplitError(
            f"the held-out episodes {holdout} leave task(s) {orphaned} without a training episode; "
            "keep at least one episode of every task for training (change "
            "--lerobot_local.validation.episodes, or use --lerobot_local.validation.holdout=FRACTION, "
            "which keeps one per task)"
        )
    if not train:
        raise SplitError(
            "the holdout leaves no training episode; hold out fewer episodes "
            "(--lerobot_local.validation.holdout / .episodes)"
        )
    return Split(train=train, holdout=holdout, tasks={e: tasks[e] for e in pool})
