"""Check: say how each training step will be computed on this card (``lerobot_local.speed``)."""

from __future__ import annotations

from lerobot_local import compat, speed
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "speed"


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    policy = facts.policy
    device = getattr(policy, "device", None) or getattr(getattr(facts.config, "policy", None), "device", None)
    said = speed.planned(settings.speed, compat.policy_type(policy) if policy is not None else None, device)
    if not said:
        return []
    return [CheckResult(NAME, "ok", "; ".join(said))]
