"""Helpers for tests that run the real ``lerobot-train``: a tiny ACT config on a converted fixture."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conftest import run_cli


def tiny_act_config(dataset_root: Path, output_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A 4-step ACT run that needs no download (no pretrained backbone) and runs in seconds on a CPU."""
    config: dict[str, Any] = {
        "dataset": {"repo_id": "local/fixture", "root": str(dataset_root), "video_backend": "pyav"},
        "policy": {
            "type": "act",
            "device": "cpu",
            "push_to_hub": False,
            "pretrained_backbone_weights": None,
            "dim_model": 32,
            "n_heads": 2,
            "dim_feedforward": 64,
            "n_encoder_layers": 1,
            "n_decoder_layers": 1,
            "chunk_size": 5,
            "n_action_steps": 5,
            "use_vae": False,
        },
        "output_dir": str(output_dir),
        "job_name": "test",
        "batch_size": 2,
        "steps": 4,
        "save_freq": 2,
        "log_freq": 1,
        "num_workers": 0,
        "eval_freq": 0,
        "wandb": {"enable": False},
        # a checkpoint of this model is ~1 MB: the 1 GB default margin would refuse a CI disk near full
        "lerobot_local": {"keep_last_n": 0, "min_free_disk_gb": 0.05},
    }
    for dotted, value in overrides.items():
        target = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return config


def without_plugin(config: dict[str, Any]) -> dict[str, Any]:
    """The config as plain LeRobot reads it: no plugin section, this LeRobot line's field names."""
    from lerobot_local import compat

    plain = {k: v for k, v in config.items() if k != "lerobot_local"}
    for rename in compat.field_renames(compat.train_config_fields()):
        if rename.old in plain:
            plain[rename.new] = plain.pop(rename.old)
    return plain


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config, indent=2))
    return path


def train(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the real lerobot-train console script."""
    return run_cli("lerobot-train", *args, cwd=cwd, env=env)


def tiny_run_facts(dataset_root: Path, work: Path) -> tuple[Any, Any]:
    """(run facts, plugin settings) of the tiny ACT config, gathered as preflight and lerobot-train do."""
    from lerobot_local.cli import gather_facts

    cfg = write_config(work / "cfg.json", tiny_act_config(dataset_root, work / "run"))
    facts, settings, _ = gather_facts([f"--config_path={cfg}"])
    return facts, settings
