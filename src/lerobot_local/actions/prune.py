"""After-checkpoint: keep the newest N checkpoints (never ``last``'s target, never unverified ones)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.hookspecs import hookimpl
from lerobot_local.manifest import verify_manifest
from lerobot_local.settings import LocalSettings

logger = logging.getLogger("lerobot_local")


def prune(checkpoints: Path, keep_last_n: int) -> list[Path]:
    """Delete old checkpoints beyond ``keep_last_n``; return what was deleted."""
    dirs = compat.step_checkpoints(checkpoints)
    last = compat.last_checkpoint(checkpoints)
    verified = [d for d in dirs if not verify_manifest(d)]
    if not verified:
        return []
    newest_verified = int(verified[-1].name)
    keep = set(verified[-keep_last_n:]) | {d for d in dirs if int(d.name) > newest_verified}
    removed = []
    for d in dirs:
        if d in keep or (last is not None and d.resolve() == last):
            continue
        shutil.rmtree(d)
        removed.append(d)
    return removed


@hookimpl(trylast=True)
def lerobot_local_after_checkpoint(
    config: Any, settings: LocalSettings, step: int, checkpoint_dir: Path
) -> None:
    if settings.keep_last_n <= 0:
        return
    for removed in prune(checkpoint_dir.parent, settings.keep_last_n):
        logger.info(
            "lerobot-local: removed old checkpoint %s (keep_last_n=%d)", removed, settings.keep_last_n
        )
