"""Check: nothing is pushed to the Hugging Face Hub unless the settings allow it."""

from __future__ import annotations

from typing import Any

from lerobot_local import compat
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "hub_push"


@hookimpl
def lerobot_local_before_train(config: Any, settings: LocalSettings) -> list[CheckResult]:
    policy, why = compat.policy_config(config)
    fields = compat.push_fields(config)
    if policy is not None and getattr(config, "policy", None) is None and hasattr(policy, "push_to_hub"):
        fields = [
            ("policy.push_to_hub", bool(policy.push_to_hub)),
            *[f for f in fields if f[0] != "policy.push_to_hub"],
        ]
    if policy is None and why is not None:
        fields.append(
            ("policy.push_to_hub", True)
        )  # LeRobot's default when the pretrained config cannot be read
    pushing = [name for name, value in fields if value]
    if not pushing:
        return [
            CheckResult(
                NAME, "ok", "no upload to the Hub (" + ", ".join(f"{n}=false" for n, _ in fields) + ")"
            )
        ]
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
