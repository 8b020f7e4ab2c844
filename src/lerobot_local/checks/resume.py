"""Check: on ``--resume=true`` the checkpoint's manifest verifies before LeRobot loads it."""

from __future__ import annotations

from pathlib import Path

from lerobot_local import compat
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.manifest import MANIFEST_FILE, verify_manifest
from lerobot_local.results import CheckResult
from lerobot_local.settings import CHECKPOINT_SETTINGS_FILE
from lerobot_local.validation.config import METRICS_FILE


def _written_without_plugin(checkpoint: Path) -> bool:
    """No checkpoint of the run has a manifest or saved settings and the run has no lerobot-local metrics
    file: it predates the plugin's install."""
    checkpoints = [p for p in checkpoint.resolve().parent.iterdir() if p.is_dir() and not p.is_symlink()]
    if (compat.run_dir_of_checkpoint(checkpoint.resolve()) / METRICS_FILE).is_file():
        return False
    return not any(
        (p / MANIFEST_FILE).exists() or (p / CHECKPOINT_SETTINGS_FILE).exists() for p in checkpoints
    )


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    if not facts.resume:
        return []
    checkpoint = facts.resume_checkpoint
    if checkpoint is None or not checkpoint.is_dir():
        return [
            CheckResult(
                "resume",
                "error",
                f"--resume=true but the checkpoint {checkpoint} does not exist",
                f"pass --config_path={compat.resume_config_path('<output_dir>')}",
            )
        ]
    problems = verify_manifest(checkpoint)
    if problems and _written_without_plugin(checkpoint):
        return [
            CheckResult(
                "resume",
                "error",
                f"checkpoint {checkpoint.resolve()} was written without lerobot-local (no checkpoint of "
                f"this run has a {MANIFEST_FILE}), so it cannot be verified",
                "to resume it unverified, as LeRobot alone would, add "
                "--lerobot_local.severity='{resume: warning}'; its next checkpoints get manifests",
            )
        ]
    if problems and not (checkpoint / MANIFEST_FILE).is_file():
        return [
            CheckResult(
                "resume",
                "error",
                f"checkpoint {checkpoint.resolve()} has no {MANIFEST_FILE}: the run stopped while LeRobot "
                "was writing it (lerobot-local marks a checkpoint as soon as LeRobot has written it), and no "
                "earlier checkpoint of the run verifies",
                "train again with a new --output_dir, or resume it unverified, as LeRobot alone would, with "
                "--lerobot_local.severity='{resume: warning}'",
            )
        ]
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
