"""After-checkpoint: save the lerobot-local settings with the checkpoint (restored on --resume=true)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lerobot_local.hookspecs import hookimpl
from lerobot_local.settings import LocalSettings, write_checkpoint_settings


@hookimpl(tryfirst=True)
def lerobot_local_after_checkpoint(
    config: Any, settings: LocalSettings, step: int, checkpoint_dir: Path
) -> None:
    write_checkpoint_settings(checkpoint_dir, settings)
