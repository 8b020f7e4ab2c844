"""Check: how the run was sized to this machine (``lerobot_local.fill_gpu``), why, and the plan it keeps."""

from __future__ import annotations

from lerobot_local.dataset import episodes_table
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "sizing"


def training_frames(facts: RunFacts) -> int | None:
    """Frames of the episodes the run trains on (the held-out ones and those outside dataset.episodes left
    out); None when the dataset cannot be read."""
    dataset = facts.dataset
    table = episodes_table(dataset.root, columns=["episode_index", "length"]) if dataset else None
    if table is None:
        return None
    lengths = dict(
        zip(table.column("episode_index").to_pylist(), table.column("length").to_pylist(), strict=True)
    )
    chosen = getattr(getattr(facts.config, "dataset", None), "episodes", None)
    keep = set(chosen) if chosen else set(lengths)
    if facts.split is not None:
        keep -= set(facts.split.holdout)
    return int(sum(n for ep, n in lengths.items() if ep in keep))


def plan_text(facts: RunFacts) -> str:
    """The run's plan in samples and epochs, from the values LeRobot will actually use."""
    steps, batch = getattr(facts.config, "steps", None), getattr(facts.config, "batch_size", None)
    if not isinstance(steps, int) or not isinstance(batch, int):
        return ""
    samples = steps * batch
    text = f"plan: {steps:,} steps x batch {batch} = {samples:,} samples"
    frames = training_frames(facts)
    if frames:
        text += f" = {samples / frames:.1f} epochs of the {frames:,} training frames"
    return text


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    if not settings.fill_gpu:
        return []
    plan = plan_text(facts)
    if not settings.sizing:
        said = "fill_gpu: a resumed run keeps the values of its checkpoint"
        return [CheckResult(NAME, "ok", f"{said}; {plan}" if plan else said)]
    parts = [f"{k}={v}" for k, v in settings.sizing.items()]
    return [CheckResult(NAME, "ok", "; ".join([*parts, plan] if plan else parts))]
