"""Train presets: the runs the lab's plan recommends, as LeRobot train configs (draccus registry).

A preset renders a config file for the native ``lerobot-train --config_path=...``; fields LeRobot renamed
between versions are translated when the file is loaded (see :mod:`lerobot_local.config_file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import draccus

from lerobot_local.registries import load_from_plugins

DEFAULT_PRETRAINED = "lerobot/smolvla_base"


@dataclass
class TrainPreset(draccus.ChoiceRegistry):
    """A complete LeRobot training recipe; ``to_config`` renders it for one dataset."""

    policy_path: str | None = DEFAULT_PRETRAINED  # fine-tune from this checkpoint; None trains from scratch
    policy_type: str = "smolvla"
    batch_size: int = 16
    steps: int = 20_000
    save_freq: int = 5_000
    log_freq: int = 100
    num_workers: int = 4
    use_amp: bool = True
    device: str = "cuda"
    video_backend: str = "pyav"
    image_size: int = 512
    chunk_size: int = 50
    n_action_steps: int = 50
    # Cosine decay length: LeRobot decays over min(steps, this) only on some versions, so keep it = steps.
    scheduler_decay_steps: int | None = None
    scheduler_warmup_steps: int = 1_000
    optimizer_lr: float = 1e-4  # SmolVLA's own default, written out: fill_gpu scales it with the batch
    keep_last_n: int = 2
    # Size batch, lr, warmup and workers to the card and the CPU when the run starts (lerobot_local.sizing);
    # the values above are the baseline for a 12-16 GB card, and command-line values always win.
    fill_gpu: bool = True

    def decay_steps(self) -> int:
        return self.scheduler_decay_steps if self.scheduler_decay_steps is not None else self.steps

    def to_config(
        self,
        dataset_root: str,
        repo_id: str = "local/grasp",
        output_dir: str | None = None,
        job_name: str | None = None,
        profile: str = "local_grasp",
    ) -> dict[str, Any]:
        """The LeRobot train config (plus our ``lerobot_local`` section) for ``dataset_root``."""
        name = job_name or self.get_choice_name(type(self))
        policy: dict[str, Any] = {
            "device": self.device,
            "use_amp": self.use_amp,
            "push_to_hub": False,
            "chunk_size": self.chunk_size,
            "n_action_steps": self.n_action_steps,
            "resize_imgs_with_padding": [self.image_size, self.image_size],
            "optimizer_lr": self.optimizer_lr,
            "scheduler_warmup_steps": self.scheduler_warmup_steps,
            "scheduler_decay_steps": self.decay_steps(),
        }
        # A pretrained policy brings its own type; LeRobot takes the other fields as overrides.
        policy = (
            {"path": self.policy_path, **policy} if self.policy_path else {"type": self.policy_type, **policy}
        )
        return {
            "dataset": {"repo_id": repo_id, "root": dataset_root, "video_backend": self.video_backend},
            "policy": policy,
            "output_dir": output_dir or f"outputs/train/{name}",
            "job_name": name,
            "resume": False,
            "seed": 1000,
            "num_workers": self.num_workers,
            "batch_size": self.batch_size,
            "steps": self.steps,
            "eval_freq": 0,
            "log_freq": self.log_freq,
            "save_checkpoint": True,
            "save_freq": self.save_freq,
            "wandb": {"enable": False},
            "lerobot_local": {
                "profile": profile,
                "allow_hub_push": False,
                "keep_last_n": self.keep_last_n,
                "fill_gpu": self.fill_gpu,
            },
        }


@TrainPreset.register_subclass("local_grasp")
@dataclass
class LocalGraspPreset(TrainPreset):
    """Fine-tune lerobot/smolvla_base: batch 16 (more on a bigger card: fill_gpu), 20k steps, checkpoint every
    5k, use_amp, pyav (torchcodec in the data workers where it loads), wandb off."""


@TrainPreset.register_subclass("local_grasp_lowmem")
@dataclass
class LocalGraspLowMemPreset(TrainPreset):
    """Low-memory fine-tune: 384x384 images, chunk_size and n_action_steps 10, batch 8, fp32."""

    batch_size: int = 8
    image_size: int = 384
    chunk_size: int = 10
    n_action_steps: int = 10
    # fp32: measured faster (0.156 vs 0.179 s/step) and no larger (3.00 vs 3.21 GB) than fp16 (docs/gpu.md)
    use_amp: bool = False
    # Its numbers are what a 12 GB card holds: it is not scaled up (use local_grasp on a bigger card).
    fill_gpu: bool = False


@TrainPreset.register_subclass("local_grasp_scratch")
@dataclass
class LocalGraspScratchPreset(TrainPreset):
    """SmolVLA from scratch (policy.type=smolvla, no pretrained checkpoint), 200k steps."""

    policy_path: str | None = None
    steps: int = 200_000
    save_freq: int = 20_000


def get_preset(name: str) -> TrainPreset:
    """Instantiate the registered preset ``name``."""
    choices = known_presets()
    if name not in choices:
        raise KeyError(f"train preset {name!r} is not registered; known: {', '.join(choices)}")
    return choices[name]()


def known_presets() -> dict[str, type[TrainPreset]]:
    """Every registered preset (built-in and from plugins), by name."""
    load_from_plugins(TrainPreset, "lerobot_local_register_presets", "preset")
    return dict(TrainPreset.get_known_choices())
