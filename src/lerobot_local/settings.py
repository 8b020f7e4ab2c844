"""lerobot-local's own settings: the ``lerobot_local`` section of the train config file.

Override them on the command line like LeRobot flags (``--lerobot_local.keep_last_n=3``). They are saved with
every checkpoint (``lerobot_local.json``) and restored on ``--resume=true``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import draccus

from lerobot_local.validation.config import ValidationSettings
from lerobot_local.values.settings import ValueCheckSettings

SECTION = "lerobot_local"
FLAG_PREFIX = f"--{SECTION}."
CHECKPOINT_SETTINGS_FILE = "lerobot_local.json"
SEVERITY_CHOICES = ("error", "warning", "off")


@dataclass
class SpeedSettings:
    """How a training step is computed (never what it computes: tests/test_speed.py compares the losses)."""

    # Mixed precision (policy.use_amp=true) in bf16 instead of fp16 on a CUDA card that supports it: the
    # range of fp32, so no GradScaler (the `precision` row says which one the run uses).
    bf16: bool = True
    # AdamW/Adam through PyTorch's fused CUDA kernel (one launch for all parameters; CUDA only).
    fused_optimizer: bool = True
    # SmolVLA's expert attention through scaled_dot_product_attention instead of its eager matmuls.
    sdpa_attention: bool = True
    # torch.compile SmolVLA's frozen vision encoder (costs compile time at the first step).
    compile_vision_encoder: bool = False


@dataclass
class LocalSettings:
    # Dataset profile the dataset must match (see `lerobot-local doctor`); empty for none.
    profile: str = ""
    # Allow policy.push_to_hub / save_checkpoint_to_hub (uploads to the Hugging Face Hub).
    allow_hub_push: bool = False
    # Allow wandb in online mode (sends metrics to wandb.ai).
    allow_online_wandb: bool = False
    # Keep only the newest N checkpoints (0 keeps all); never deletes the one `last` points to.
    keep_last_n: int = 0
    # Per-check severity overrides: {"check name": "error" | "warning" | "off"}.
    severity: dict[str, str] = field(default_factory=dict)
    # Open every video file and compare its stream with the episodes (slower on big datasets).
    deep_video_check: bool = True
    # Free disk space (GB) to require beyond the estimated size of the checkpoints to keep.
    min_free_disk_gb: float = 1.0
    # Write and verify a sha256 manifest beside every checkpoint.
    manifests: bool = True
    # Thresholds of the value checks (values:*), e.g. --lerobot_local.values.max_idle_s=0.5.
    values: ValueCheckSettings = field(default_factory=ValueCheckSettings)
    # Held-out episodes, validation at every checkpoint, the run report (see lerobot_local.validation).
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    # Size the run to the card and the CPU (lerobot_local.sizing): the file's batch_size, num_workers,
    # policy.optimizer_lr and policy.scheduler_warmup_steps are the baseline; command-line values win.
    fill_gpu: bool = False
    # How a training step is computed on the card (lerobot_local.speed; the `speed` row says what applies).
    speed: SpeedSettings = field(default_factory=SpeedSettings)
    # What fill_gpu chose and why (filled in by lerobot-local when the run starts; shown in the sizing row).
    sizing: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.severity = parse_severity(self.severity)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_severity(overrides: dict[str, Any]) -> dict[str, str]:
    """Severity overrides as given (``{name: off}`` from YAML arrives as false), validated."""
    parsed = {
        str(k): "off" if v is False or v in ("False", "false") else str(v) for k, v in overrides.items()
    }
    bad = {k: v for k, v in parsed.items() if v not in SEVERITY_CHOICES}
    if bad:
        raise ValueError(
            f"{SECTION}.severity has invalid values {bad}; use one of {', '.join(SEVERITY_CHOICES)}"
        )
    return parsed


def parse_settings(section: dict[str, Any] | None, flags: list[str]) -> LocalSettings:
    """Build settings from a config-file section and ``--lerobot_local.*`` flags (flags win)."""
    args = ["--" + flag[len(FLAG_PREFIX) :] for flag in flags]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(section or {}, handle)
    try:
        settings = draccus.parse(LocalSettings, config_path=handle.name, args=args)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return settings


def write_checkpoint_settings(checkpoint_dir: Path, settings: LocalSettings) -> Path:
    """Save the settings (the held-out episodes among them) with a checkpoint; ``--resume=true`` restores
    them. Written through a temporary file: a kill leaves the old file or the new one, never half of one."""
    path = checkpoint_dir / CHECKPOINT_SETTINGS_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(settings.to_dict(), indent=2))
    partial.replace(path)
    return path


def load_checkpoint_settings(checkpoint_dir: Path) -> dict[str, Any] | None:
    """The settings section saved with a checkpoint, if any."""
    path = checkpoint_dir / CHECKPOINT_SETTINGS_FILE
    return json.loads(path.read_text()) if path.is_file() else None
