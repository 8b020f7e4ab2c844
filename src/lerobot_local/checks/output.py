"""Checks: the output dir would not clobber an earlier run; the disk has room for the checkpoints kept."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

GB = 1024**3


def check_output_dir(config: Any) -> CheckResult:
    out = getattr(config, "output_dir", None)
    if out is None:
        return CheckResult("output_dir", "ok", "LeRobot will create a new timestamped output directory")
    out = Path(out)
    if getattr(config, "resume", False):
        return CheckResult("output_dir", "ok", f"resuming in {out}")
    if out.exists() and any(out.iterdir()):
        resumable = compat.resumable_config_path(out)
        fix = (
            f"choose a new --output_dir, or resume it with --resume=true --config_path={resumable}"
            if resumable is not None
            else f"choose a new --output_dir, or delete {out} (it holds no checkpoint to resume from)"
        )
        message = f"output_dir {out} already holds a run; it would be clobbered"
        return CheckResult("output_dir", "error", message, fix)
    return CheckResult("output_dir", "ok", f"{out} is new")


def _model_bytes(path: str | None) -> int | None:
    if path and Path(path).is_dir():
        return sum(p.stat().st_size for p in Path(path).glob("*.safetensors")) or None
    return None


def check_disk(facts: RunFacts, settings: LocalSettings) -> CheckResult:
    config = facts.config
    out = Path(getattr(config, "output_dir", None) or "outputs")
    probe = out.absolute()
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    steps, freq = getattr(config, "steps", 0), max(getattr(config, "save_freq", 1), 1)
    saved = (
        max(1, steps // freq + (1 if steps % freq else 0)) if getattr(config, "save_checkpoint", True) else 0
    )
    keep = min(saved, settings.keep_last_n) if settings.keep_last_n > 0 else saved
    model = _model_bytes(facts.policy_path)
    copies = compat.weight_copies_per_checkpoint(config)
    need = settings.min_free_disk_gb * GB + (keep * copies * model if model else 0)
    detail = f"{free / GB:.1f} GB free at {probe}, {keep} checkpoint(s) kept"
    if model:
        detail += f" of about {copies * model / GB:.2f} GB each"
    if free < need:
        return CheckResult(
            "disk",
            "error",
            f"not enough disk: {detail}, need {need / GB:.1f} GB",
            "free disk space, use another --output_dir, or set lerobot_local.keep_last_n",
        )
    return CheckResult("disk", "ok", detail)


@hookimpl
def lerobot_local_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    return [check_output_dir(facts.config), check_disk(facts, settings)]
