"""How each LeRobot release turns a run's config into accelerate's mixed precision, and how lerobot-local
makes ``policy.use_amp`` real where a release ignores it (its release table:
``versions.PRECISION_BY_RELEASE``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lerobot_local.compat.versions import PRECISION_BY_RELEASE, lerobot_version

PRECISION_ENV = "ACCELERATE_MIXED_PRECISION"
_DTYPE_TO_PRECISION = {"bfloat16": "bf16", "float16": "fp16", "float32": "no"}


@dataclass(frozen=True)
class PrecisionPlan:
    """The precision a run will train in, where that comes from, and what lerobot-local must do for it."""

    mode: str  # accelerate's mixed_precision: "no", "bf16" or "fp16"
    source: str
    # "env" (ACCELERATE_MIXED_PRECISION), "config" (accelerator.mixed_precision) or "autocast_dtype" (torch's
    # CUDA autocast dtype, which LeRobot 0.6.1 maps use_amp to)
    apply: str | None = None
    warning: str | None = None

    @property
    def label(self) -> str:
        return "fp32" if self.mode == "no" else self.mode


def precision_mapping(config: Any) -> str:
    """How the installed LeRobot chooses accelerate's mixed precision.

    ``accelerator_field``: from ``accelerator.mixed_precision`` only (LeRobot main, 0.6.2-dev);
    ``policy_dtype_or_use_amp``: from ``policy.dtype``, else ``policy.use_amp`` (0.6.1);
    ``none``: it passes none, so accelerate reads ACCELERATE_MIXED_PRECISION (0.4.0-0.6.0); ``unknown``.
    """
    from packaging.version import InvalidVersion, Version

    if hasattr(getattr(config, "accelerator", None), "mixed_precision"):
        return "accelerator_field"
    try:
        installed = Version(lerobot_version())
    except InvalidVersion:
        return "unknown"
    return next((how for first, how in PRECISION_BY_RELEASE if installed >= Version(first)), "unknown")


def autocast_precision(device: str | None) -> str:
    """accelerate's name for torch.autocast's default dtype on ``device`` (what LeRobot maps use_amp to)."""
    return "bf16" if (device or "cuda").split(":")[0] == "cpu" else "fp16"


def cuda_bf16_supported() -> bool:
    """True when this machine has a CUDA card that computes in bf16 (Ampere and newer)."""
    import torch  # heavy: only when a run may train in mixed precision

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def precision_plan(
    config: Any,
    policy: Any | None,
    use_amp: bool | None = None,
    device: str | None = None,
    prefer_bf16: bool = False,
) -> PrecisionPlan:
    """What precision this run trains in on the installed LeRobot, and how to make ``use_amp`` real.
    ``use_amp``/``device``: as the config file or command line set them, when the policy config itself
    cannot be read (a pretrained policy that is not on this machine). ``prefer_bf16``: ``use_amp`` means
    bf16 rather than fp16 on a CUDA card that supports it (``lerobot_local.speed.bf16``)."""
    version = lerobot_version()
    use_amp = bool(getattr(policy, "use_amp", False)) if use_amp is None else use_amp
    amp = autocast_precision(getattr(policy, "device", None) or device)
    bf16, because = False, ""
    if use_amp and prefer_bf16 and amp == "fp16":
        bf16 = cuda_bf16_supported()
        amp = "bf16" if bf16 else amp
        because = (
            " as bf16 (lerobot_local.speed.bf16: the card supports it; no GradScaler)"
            if bf16
            else " (fp16: lerobot_local.speed.bf16 needs a CUDA card with bf16, none seen here)"
        )
    launcher = os.environ.get(PRECISION_ENV, "").strip().lower()
    launcher = launcher if launcher in ("bf16", "fp16", "fp8") else ""
    mapping = precision_mapping(config)
    if mapping == "accelerator_field":
        field = str(config.accelerator.mixed_precision or "no").lower()
        if field != "no":
            return PrecisionPlan(field, f"accelerator.mixed_precision={field}")
        if use_amp:
            if amp == "fp16" and getattr(getattr(config, "parallelism", None), "is_sharded", False):
                amp = "bf16"  # LeRobot main refuses fp16 with sharded (FSDP2) training
            return PrecisionPlan(
                amp,
                f"policy.use_amp=true{because}, set as accelerator.mixed_precision={amp} by lerobot-local "
                f"(LeRobot {version} reads only accelerator.mixed_precision)",
                apply="config",
            )
        return PrecisionPlan("no", "accelerator.mixed_precision=no")
    if mapping == "policy_dtype_or_use_amp":
        if hasattr(policy, "dtype") and getattr(policy, "dtype", None) in _DTYPE_TO_PRECISION:
            mode = _DTYPE_TO_PRECISION[policy.dtype]
            return PrecisionPlan(mode, f"policy.dtype={policy.dtype} (LeRobot {version} maps it itself)")
        if use_amp and bf16:  # LeRobot maps use_amp to torch's CUDA autocast dtype, which lerobot-local sets
            return PrecisionPlan(
                amp, f"policy.use_amp=true{because}, via torch's CUDA autocast dtype", apply="autocast_dtype"
            )
        if use_amp:
            return PrecisionPlan(amp, f"policy.use_amp=true{because} (LeRobot {version} maps it itself)")
    if launcher:
        warning = None
        if use_amp and launcher != amp:
            warning = (
                f"policy.use_amp=true asks for {amp}, but the launcher's {PRECISION_ENV}={launcher} wins"
            )
        return PrecisionPlan(
            launcher, f"{PRECISION_ENV}={launcher} (the launcher's --mixed_precision)", None, warning
        )
    if not use_amp:
        return PrecisionPlan("no", "policy.use_amp=false")
    if mapping == "none":
        return PrecisionPlan(
            amp,
            f"policy.use_amp=true{because}, via accelerate ({PRECISION_ENV}={amp} set by lerobot-local; "
            f"LeRobot {version} ignores use_amp by itself)",
            apply="env",
        )
    return PrecisionPlan(
        amp,
        f"policy.use_amp=true, via accelerate ({PRECISION_ENV}={amp} set by lerobot-local)",
        apply="env",
        warning=f"cannot tell how LeRobot {version} sets mixed precision: its log shows the one used",
    )


def apply_precision(plan: PrecisionPlan, config: Any) -> None:
    """Make ``plan`` take effect before LeRobot builds its Accelerator."""
    if plan.apply == "autocast_dtype":
        import torch  # heavy: a CUDA run in bf16

        torch.set_autocast_dtype("cuda", torch.bfloat16)
    elif plan.apply == "env":
        os.environ[PRECISION_ENV] = plan.mode
    elif plan.apply == "config":
        config.accelerator.mixed_precision = plan.mode
