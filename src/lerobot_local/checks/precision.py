"""Check: say the precision the run will really train in, and where it comes from (every LeRobot line)."""

from __future__ import annotations

from lerobot_local.argv import arg_value
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult

NAME = "precision"


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    plan = facts.precision
    if facts.policy is None and arg_value(list(facts.argv), "policy.use_amp") is None:
        return [
            CheckResult(
                NAME,
                "skipped",
                f"cannot tell the precision: the pretrained config at {facts.policy_path} is unreadable (see "
                "offline_models) and neither the config file nor the command line sets policy.use_amp.",
            )
        ]
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
