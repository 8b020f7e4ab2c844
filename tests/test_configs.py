"""configs/*.json: each equals its preset and parses with the installed LeRobot (through our translation)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import REPO, run_cli
from lerobot_local import compat
from lerobot_local.config_file import prepare_argv
from lerobot_local.presets import get_preset

CONFIGS = {
    "grasp_smolvla": "local_grasp",
    "grasp_smolvla_lowmem": "local_grasp_lowmem",
    "grasp_smolvla_scratch": "local_grasp_scratch",
}


def parse_with_lerobot(argv: list[str]) -> dict[str, Any]:
    """Parse a lerobot-train command line as lerobot-train does (LeRobot's own parser), without training."""
    prepared = prepare_argv(argv)
    cfg = compat.parse_train_config(prepared.argv)
    with compat.argv_as(prepared.argv):
        path = compat.parser_module().get_path_arg("policy")
    return {
        "settings": prepared.settings,
        "translations": prepared.translations,
        "cfg": cfg,
        "path": path,
        "overrides": compat.policy_cli_overrides(prepared.argv),
    }


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_file_is_its_preset(name: str) -> None:
    preset = get_preset(CONFIGS[name])
    expected = preset.to_config("data/grasp_v30", output_dir=f"outputs/train/{name}", job_name=name)
    assert json.loads((REPO / "configs" / f"{name}.json").read_text()) == expected


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_file_parses_with_installed_lerobot(name: str) -> None:
    preset = get_preset(CONFIGS[name])
    seen = parse_with_lerobot([f"--config_path={REPO / 'configs' / f'{name}.json'}"])
    cfg = seen["cfg"]
    assert (cfg.batch_size, cfg.steps, cfg.save_freq) == (preset.batch_size, preset.steps, preset.save_freq)
    assert cfg.dataset.video_backend == "pyav" and cfg.wandb.enable is False
    assert seen["settings"].profile == "local_grasp" and seen["settings"].allow_hub_push is False
    if preset.policy_path:
        assert seen["path"] == preset.policy_path
        overrides = set(seen["overrides"])
        for flag in (
            "--push_to_hub=false",
            f"--use_amp={str(preset.use_amp).lower()}",
            f"--chunk_size={preset.chunk_size}",
            f"--scheduler_decay_steps={preset.steps}",
        ):
            assert flag in overrides, (flag, overrides)
    else:
        policy = cfg.policy
        assert policy.type == "smolvla" and policy.push_to_hub is False
        assert tuple(policy.resize_imgs_with_padding) == (preset.image_size, preset.image_size)
        assert policy.scheduler_decay_steps == preset.steps == 200_000


def test_scheduler_decay_matches_steps_in_every_preset() -> None:
    """LeRobot rescales warmup when decay steps exceed the run; our presets never rely on that."""
    for preset_name in CONFIGS.values():
        preset = get_preset(preset_name)
        assert preset.decay_steps() == preset.steps
        assert preset.steps % preset.save_freq == 0


def test_preset_command_prints_a_config_for_a_dataset(tmp_path) -> None:
    proc = run_cli("lerobot-local", "preset", "local_grasp_lowmem", f"--dataset_root={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert config["dataset"]["root"] == str(tmp_path) and config["batch_size"] == 8
    assert config["policy"]["resize_imgs_with_padding"] == [384, 384]
