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


BACKBONE_FIX = (
    "pass --policy.pretrained_backbone_weights=null (the {backbone} backbone then starts from random "
    "weights), or download {url} on a connected machine and put it at exactly {file}"
)


def _missing(download: compat.ModelDownload) -> CheckResult:
    if download.file is not None:
        return CheckResult(
            "offline_models",
            "error",
            f"{download.field}={download.name} is not available offline: torchvision would download the "
            f"ImageNet weights of the {download.backbone} vision backbone to {download.file} when the policy "
            "is built (the network is closed)",
            BACKBONE_FIX.format(backbone=download.backbone, url=download.url, file=download.file),
        )
    return CheckResult(
        "offline_models",
        "error",
        f"{download.field}={download.name} is not available offline (no local folder, not in the Hugging "
        "Face cache)",
        FETCH.format(name=download.name),
    )


def check_models(facts: RunFacts, backbone: bool = True) -> list[CheckResult]:
    """One row per model, processor, tokenizer or backbone weight file the policy would download (with
    ``backbone=False``: not the backbone's weights, for a policy whose weights all come from a checkpoint)."""
    data = getattr(facts, "data", None)
    features = (data.info or {}).get("features") if data is not None and data.info else None
    needed: list[compat.ModelDownload] = []
    if facts.policy_path:
        needed.append(compat.ModelDownload("policy.path", facts.policy_path))
    policy, why = facts.policy, facts.policy_error
    if policy is not None:
        needed.extend(d for d in compat.policy_downloads(policy, features) if backbone or d.file is None)
    missing = [d for d in needed if not d.present]
    if missing:
        return [_missing(d) for d in missing]
    if policy is None and why:
        return [
            CheckResult(
                "offline_models",
                "error",
                f"cannot read the policy config offline ({why})",
                "check policy.path",
            )
        ]
    shown = ", ".join(f"{d.field}={d.file or d.name}" for d in needed) or "no pretrained model or backbone"
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
