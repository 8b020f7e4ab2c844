"""Check: nothing is pushed to the Hugging Face Hub unless the settings allow it."""

from __future__ import annotations

from lerobot_local import compat
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "hub_push"


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    fields = compat.push_fields(facts.config, facts.policy)
    unknown = facts.policy is None and facts.policy_error is not None
    pushing = [name for name, value in fields if value]
    if not pushing:
        shown = ", ".join(f"{n}=false" for n, _ in fields)
        if unknown:
            return [
                CheckResult(
                    NAME,
                    "skipped",
                    f"cannot tell whether policy.push_to_hub is set: the pretrained config at "
                    f"{facts.policy_path} is unreadable (see offline_models)"
                    + (f"; {shown}." if shown else "."),
                )
            ]
        return [CheckResult(NAME, "ok", f"no upload to the Hub ({shown}).")]
    if settings.allow_hub_push:
        return [
            CheckResult(
                NAME,
                "warning",
                f"{', '.join(pushing)} will upload to the Hub (allowed by lerobot_local.allow_hub_push)",
            )
        ]
    flags = " ".join(f"--{n}=false" for n in pushing)
    return [
        CheckResult(
            NAME,
            "error",
            f"{', '.join(pushing)} is true: the run would upload to the Hugging Face Hub",
            f"pass {flags} (or set lerobot_local.allow_hub_push=true to allow uploads)",
        )
    ]
