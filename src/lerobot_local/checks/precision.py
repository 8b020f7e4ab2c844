"""Check: say the precision the run will really train in, and where it comes from (every LeRobot line)."""

from __future__ import annotations

from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult

NAME = "precision"


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    plan = facts.precision
    if plan.warning:
        return [
            CheckResult(
                NAME,
                "warning",
                f"{plan.label}: {plan.source}; {plan.warning}",
                "set the precision in one place: policy.use_amp, or the launcher's --mixed_precision",
            )
        ]
    return [CheckResult(NAME, "ok", f"{plan.label}: {plan.source}")]
