"""Before-train check ``validation``: the holdout can be applied (every task keeps a training episode)."""

from __future__ import annotations

from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult


def _settings(settings):
    return getattr(settings, "validation", None)


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings) -> list[CheckResult]:
    validation = _settings(settings)
    if validation is None or not validation.enabled:
        return [
            CheckResult(
                "validation",
                "ok",
                "no held-out episodes (add --lerobot_local.validation.holdout=0.1 for a validation loss and "
                "per-joint action error at every checkpoint)",
            )
        ]
    if facts.dataset is None:
        return [CheckResult("validation", "skipped", "the dataset cannot be read (see the dataset row)")]
    split = facts.split
    if split is None:
        message, _, fix = (facts.split_error or "the held-out split could not be computed").partition("; ")
        return [CheckResult("validation", "error", f"{facts.dataset.root}: {message}", fix)]
    how = f"episodes={validation.episodes}" if validation.episodes else f"holdout={validation.holdout}"
    extra = []
    if (getattr(facts.config.dataset, "eval_split", 0) or 0) > 0:  # LeRobot >= 0.6's own split, on top
        extra.append(
            CheckResult(
                "validation",
                "warning",
                f"dataset.eval_split={facts.config.dataset.eval_split} holds out further episodes of the "
                "training episodes, with LeRobot's own split",
                "use one of the two: drop --dataset.eval_split, or lerobot_local.validation",
            )
        )
    return [
        *extra,
        CheckResult(
            "validation",
            "ok",
            f"{len(split.holdout)} of {len(split.holdout) + len(split.train)} episodes held out "
            f"({how}, seed={validation.seed}): {split.holdout}; up to {validation.max_samples} frames "
            "validated at every checkpoint",
        ),
    ]
