"""After-checkpoint: point ``best`` at the checkpoint with the lowest validation loss, and keep the newest N
checkpoints (never ``last``'s target, never ``best``'s, never unverified ones)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.hookspecs import hookimpl
from lerobot_local.manifest import verify_manifest
from lerobot_local.settings import LocalSettings
from lerobot_local.validation.best import best_checkpoint, point_best

logger = logging.getLogger("lerobot_local")


def prune(checkpoints: Path, keep_last_n: int) -> list[Path]:
    """Delete old checkpoints beyond ``keep_last_n``; return what was deleted."""
    dirs = compat.step_checkpoints(checkpoints)
    last = compat.last_checkpoint(checkpoints)
    best = best_checkpoint(checkpoints)
    verified = [d for d in dirs if not verify_manifest(d)]
    if not verified:
        return []
    newest_verified = int(verified[-1].name)
    keep = set(verified[-keep_last_n:]) | {d for d in dirs if int(d.name) > newest_verified}
    if best is not None:
        keep.add(best[0])
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
    best = point_best(checkpoint_dir.parent)
    if best is not None:
        logger.info(
            "lerobot-local: best checkpoint: %s (lowest validation loss %.5f); %s links to it",
            best[0].name,
            best[1],
            checkpoint_dir.parent / "best",
        )
    if settings.keep_last_n <= 0:
        return
    for removed in prune(checkpoint_dir.parent, settings.keep_last_n):
        logger.info(
            "lerobot-local: removed old checkpoint %s (keep_last_n=%d)", removed, settings.keep_last_n
        )
