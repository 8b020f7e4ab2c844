"""Make a training step use the card: fused optimizer, fused attention, compiled vision encoder.

Each setting changes how a step is computed, never what it computes (CPU tests compare the losses of a tiny
SmolVLA with and without it, tests/test_speed.py). LeRobot's internals (which module is SmolVLA's vision
encoder, where its attention is chosen) are reached through ``compat``; this module only decides and says.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from lerobot_local import compat
from lerobot_local.settings import SpeedSettings

logger = logging.getLogger("lerobot_local")


def use_fused_optimizer(optimizer: Any) -> str | None:
    """Switch an Adam/AdamW optimizer whose parameters all live on CUDA to PyTorch's fused kernel (one launch
    for every parameter instead of a loop). Returns None when done, else why not."""
    import torch  # heavy: only on a run that trains

    if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
        return f"{type(optimizer).__name__} has no fused kernel"
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not params or not all(p.is_cuda and p.is_floating_point() for p in params):
        return "its parameters are not all on a CUDA device"
    for group in optimizer.param_groups:
        group["fused"], group["foreach"] = True, False
    optimizer.defaults["fused"], optimizer.defaults["foreach"] = True, False
    optimizer._step_supports_amp_scaling = True  # what AdamW(fused=True) sets: GradScaler steps it directly
    return None


def compile_vision_encoder(policy: Any) -> str | None:
    """``torch.compile`` SmolVLA's frozen vision encoder (fixed image size: compiled once). Returns None when
    done, else why not."""
    encoder = compat.smolvla_vision_encoder(policy)
    if encoder is None:
        return "the policy has no SmolVLA vision encoder"
    if any(p.requires_grad for p in encoder.parameters()):
        return "the vision encoder is trained (policy.freeze_vision_encoder=false)"
    started = time.perf_counter()
    encoder.compile()
    wrap_s = time.perf_counter() - started
    logger.info("lerobot-local: vision encoder compiled at its first call (%.1f s to wrap)", wrap_s)
    return None


def use_sdpa_attention(policy: Any) -> str | None:
    """SmolVLA's expert attention through fused SDPA kernels. Returns None when done, else why not."""
    return None if compat.smolvla_use_sdpa(policy) else "the policy is not SmolVLA"


def planned(settings: SpeedSettings, policy_type: str | None, device: str | None) -> list[str]:
    """What the run will do, in words, before it starts (the ``speed`` row); each entry says why where a
    setting cannot apply."""
    cuda = (device or "cuda").split(":")[0] == "cuda"
    said = []
    if settings.fused_optimizer:
        said.append("fused AdamW" if cuda else "fused AdamW off (CUDA only; this run is on the CPU)")
    if settings.sdpa_attention or settings.compile_vision_encoder:
        smolvla = policy_type == "smolvla"
        if settings.sdpa_attention:
            off = f"SDPA attention off (SmolVLA only; policy {policy_type})"
            said.append("SDPA attention" if smolvla else off)
        if settings.compile_vision_encoder:
            said.append(
                "compiled vision encoder (compile time at the first step)"
                if smolvla
                else f"compiled vision encoder off (SmolVLA only; policy {policy_type})"
            )
    return said


def install(train_globals: dict[str, Any], settings: SpeedSettings) -> None:
    """Apply ``settings`` inside LeRobot's own train script: on the policy it builds and on its optimizer.
    A setting that cannot apply is logged as a warning with the reason; the run goes on without it."""

    def wrap_policy(make_policy: Any) -> Any:
        def make(*args: Any, **kwargs: Any) -> Any:
            policy = make_policy(*args, **kwargs)
            steps = []
            if settings.sdpa_attention:
                steps.append(("SDPA attention", use_sdpa_attention))
            if settings.compile_vision_encoder:
                steps.append(("compiled vision encoder", compile_vision_encoder))
            for name, apply in steps:
                _said(name, apply(policy))
            return policy

        return make

    def wrap_optimizer(make_optimizer: Any) -> Any:
        def make(*args: Any, **kwargs: Any) -> Any:
            optimizer, scheduler = make_optimizer(*args, **kwargs)
            if settings.fused_optimizer:
                _said("fused AdamW", use_fused_optimizer(optimizer))
            return optimizer, scheduler

        return make

    if settings.sdpa_attention or settings.compile_vision_encoder:
        compat.wrap_train_global(train_globals, compat.MAKE_POLICY_NAME, wrap_policy)
    if settings.fused_optimizer:
        compat.wrap_train_global(train_globals, compat.OPTIMIZER_FACTORY_NAME, wrap_optimizer)


def _said(name: str, why_not: str | None) -> None:
    if why_not is None:
        logger.info("lerobot-local: speed: %s on", name)
    else:
        logger.warning("lerobot-local: speed: %s not used: %s", name, why_not)
