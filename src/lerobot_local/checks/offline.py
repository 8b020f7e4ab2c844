"""Checks: the run is offline (HF_HUB_OFFLINE), every model it loads is local, wandb does not go online."""

from __future__ import annotations

import os
from typing import Any

from lerobot_local import compat
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

FETCH = (
    "on a connected machine run `hf download {name}` (or `huggingface-cli download {name}`), then copy "
    "its HF_HOME cache here, or point the config at a local folder"
)


def check_models(facts: RunFacts) -> list[CheckResult]:
    needed: list[tuple[str, str]] = []
    if facts.policy_path:
        needed.append(("policy.path", facts.policy_path))
    policy, why = facts.policy, facts.policy_error
    if policy is not None:
        vlm = getattr(policy, "vlm_model_name", None)
        if vlm:
            needed.append(("policy.vlm_model_name", vlm))
    missing = [(what, name) for what, name in needed if not compat.local_model_present(name)]
    if missing:
        return [
            CheckResult(
                "offline_models",
                "error",
                f"{what}={name} is not available offline (no local folder, not in the Hugging Face cache)",
                FETCH.format(name=name),
            )
            for what, name in missing
        ]
    if policy is None and why:
        return [
            CheckResult(
                "offline_models",
                "error",
                f"cannot read the policy config offline ({why})",
                "check policy.path",
            )
        ]
    shown = ", ".join(f"{w}={n}" for w, n in needed) or "no pretrained model or backbone"
    return [CheckResult("offline_models", "ok", f"available offline: {shown}")]


def check_wandb(config: Any, settings: LocalSettings) -> CheckResult:
    wandb = getattr(config, "wandb", None)
    if wandb is None or not getattr(wandb, "enable", False):
        return CheckResult("wandb", "ok", "wandb is disabled")
    mode = getattr(wandb, "mode", None) or os.environ.get("WANDB_MODE", "online")
    if mode in ("offline", "disabled"):
        return CheckResult("wandb", "ok", f"wandb logs locally (mode={mode})")
    if settings.allow_online_wandb:
        return CheckResult("wandb", "warning", "wandb will send metrics online (allowed by the settings)")
    return CheckResult(
        "wandb",
        "error",
        f"wandb is enabled in {mode} mode and would send data to wandb.ai",
        "pass --wandb.enable=false, or --wandb.mode=offline, or set lerobot_local.allow_online_wandb=true",
    )


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    compat.force_offline()
    results = [CheckResult("offline", "ok", "HF_HUB_OFFLINE=1 for this run: no Hugging Face downloads")]
    return results + check_models(facts) + [check_wandb(facts.config, settings)]
