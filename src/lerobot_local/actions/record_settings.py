"""After-checkpoint: save the lerobot-local settings with the checkpoint (restored on --resume=true)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lerobot_local.hookspecs import hookimpl
from lerobot_local.settings import CHECKPOINT_SETTINGS_FILE, LocalSettings


@hookimpl(tryfirst=True)
def lerobot_local_after_checkpoint(
    config: Any, settings: LocalSettings, step: int, checkpoint_dir: Path
) -> None:
    (checkpoint_dir / CHECKPOINT_SETTINGS_FILE).write_text(json.dumps(settings.to_dict(), indent=2))
