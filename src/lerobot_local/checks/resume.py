"""Check: on ``--resume=true`` the checkpoint's manifest verifies before LeRobot loads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.hookspecs import hookimpl
from lerobot_local.manifest import verify_manifest
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings


def resume_checkpoint(config: Any) -> Path | None:
    """The checkpoint directory ``--resume=true --config_path=...`` points at."""
    import importlib

    parser = importlib.import_module("lerobot.configs.parser")
    config_path = parser.parse_arg("config_path")
    return Path(config_path).parent.parent if config_path else None


@hookimpl
def lerobot_local_before_train(config: Any, settings: LocalSettings) -> list[CheckResult]:
    if not getattr(config, "resume", False):
        return []
    checkpoint = resume_checkpoint(config)
    if checkpoint is None or not checkpoint.is_dir():
        return [
            CheckResult(
                "resume",
                "error",
                f"--resume=true but the checkpoint {checkpoint} does not exist",
                f"pass --config_path=<output_dir>/{compat.CHECKPOINTS_DIR}/last/"
                f"{compat.PRETRAINED_DIR}/{compat.TRAIN_CONFIG_FILE}",
            )
        ]
    problems = verify_manifest(checkpoint)
    if problems:
        return [
            CheckResult(
                "resume",
                "error",
                f"checkpoint {checkpoint.resolve()} does not verify: {problems[0]}",
                "resume from an earlier checkpoint whose manifest verifies (pass its "
                "pretrained_model/train_config.json as --config_path)",
            )
        ]
    return [CheckResult("resume", "ok", f"checkpoint {checkpoint.resolve()} verifies against its manifest")]
