"""After-checkpoint: write the checkpoint's sha256 manifest, then re-read it to verify."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lerobot_local.hookspecs import hookimpl
from lerobot_local.manifest import verify_manifest, write_manifest
from lerobot_local.settings import LocalSettings

logger = logging.getLogger("lerobot_local")


@hookimpl
def lerobot_local_after_checkpoint(
    config: Any, settings: LocalSettings, step: int, checkpoint_dir: Path
) -> None:
    if not settings.manifests:
        return
    path = write_manifest(checkpoint_dir)
    problems = verify_manifest(checkpoint_dir)
    if problems:
        raise RuntimeError(
            f"lerobot-local: checkpoint {checkpoint_dir} does not verify: {'; '.join(problems)}"
        )
    logger.info("lerobot-local: manifest %s written and verified (step %d)", path, step)
