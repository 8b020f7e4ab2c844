"""The layout of a LeRobot run's checkpoints: ``<output_dir>/checkpoints/<step>/pretrained_model``, ``last``.

Where a resume starts, which step a folder holds, what a checkpoint's ``train_config.json`` says, and how many
model-sized files one checkpoint writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHECKPOINTS_DIR = "checkpoints"
LAST_CHECKPOINT = "last"
PRETRAINED_DIR = "pretrained_model"
TRAIN_CONFIG_FILE = "train_config.json"


def run_dir_of_checkpoint(checkpoint_dir: Path) -> Path:
    """The run's output directory of a checkpoint folder (``<output_dir>/checkpoints/<step>``)."""
    return Path(checkpoint_dir).parent.parent


def checkpoint_step(checkpoint_dir: Path) -> int:
    """The training step of a checkpoint folder (LeRobot names it by its zero-padded step), else -1."""
    try:
        return int(Path(checkpoint_dir).name)
    except ValueError:
        return -1


def checkpoint_of_train_config(config_path: Path) -> Path:
    """The checkpoint folder of ``<checkpoint>/pretrained_model/train_config.json``."""
    return Path(config_path).parent.parent


def resume_config_path(output_dir: Path | str) -> Path:
    """The ``--config_path`` that resumes the run in ``output_dir``: its ``last`` checkpoint's, else (a run
    killed before LeRobot pointed ``last`` at its first checkpoint) the newest checkpoint's that has one;
    the ``last`` spelling when the folder holds no checkpoint yet (see :func:`resumable_config_path`)."""
    return resumable_config_path(output_dir) or (
        Path(output_dir) / CHECKPOINTS_DIR / LAST_CHECKPOINT / PRETRAINED_DIR / TRAIN_CONFIG_FILE
    )


def resumable_config_path(output_dir: Path | str) -> Path | None:
    """The ``train_config.json`` of the checkpoint a resume of ``output_dir`` starts from, when one exists."""
    checkpoints = Path(output_dir) / CHECKPOINTS_DIR
    last = checkpoints / LAST_CHECKPOINT / PRETRAINED_DIR / TRAIN_CONFIG_FILE
    if last.is_file():
        return last
    if not checkpoints.is_dir():
        return None
    for checkpoint in reversed(step_checkpoints(checkpoints)):
        config = checkpoint / PRETRAINED_DIR / TRAIN_CONFIG_FILE
        if config.is_file():
            return config
    return None


def step_checkpoints(checkpoints: Path) -> list[Path]:
    """Numbered checkpoint folders of a run's ``checkpoints`` folder, oldest first."""
    return sorted(
        (p for p in checkpoints.iterdir() if p.is_dir() and not p.is_symlink() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The checkpoint LeRobot's ``last`` link points at, if any."""
    link = checkpoints / LAST_CHECKPOINT
    return link.resolve() if link.exists() else None


def weight_copies_per_checkpoint(config: Any) -> int:
    """How many model-sized files a checkpoint holds: weights + Adam's two moments, + EMA weights (main)."""
    ema = getattr(getattr(config, "ema", None), "enable", False)
    return 3 + (1 if ema else 0)


def pretrained_dir_of(checkpoint: Path) -> Path | None:
    """The ``pretrained_model`` folder of a checkpoint (or the folder itself when it is one), or None."""
    checkpoint = Path(checkpoint)
    for candidate in (checkpoint / PRETRAINED_DIR, checkpoint):
        if (candidate / "config.json").is_file() and (candidate / "model.safetensors").is_file():
            return candidate
    return None


def read_train_config(pretrained_dir: Path) -> dict[str, Any]:
    """The checkpoint's ``train_config.json`` as a dict (empty when absent)."""
    import json

    path = Path(pretrained_dir) / TRAIN_CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def train_config_dict(cfg: Any) -> dict[str, Any]:
    """The parsed train config (what LeRobot saves as train_config.json)."""
    try:
        return cfg.to_dict()
    except Exception:
        return {}
