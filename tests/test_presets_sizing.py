"""fill_gpu (issue 25): the local_grasp family sized to the card and CPU; the user's explicit values win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lerobot_local import compat
from lerobot_local.config_file import prepare_argv
from lerobot_local.presets import get_preset
from lerobot_local.sizing import Baseline, Machine, decide, estimated_memory_gb

BASE = Baseline(batch_size=16, num_workers=4, lr=1e-4, warmup_steps=1000)


def values(machine: Machine, user_set: set[str] = frozenset()) -> dict[str, object]:
    return {c.key: c.value for c in decide(machine, BASE, set(user_set))}


def test_an_h200_gets_a_big_batch_scaled_lr_shorter_warmup_and_its_cores() -> None:
    got = values(Machine(150.0, 16))
    assert got == {"batch_size": 128, "lr": 0.000283, "warmup": 125, "num_workers": 14}


@pytest.mark.parametrize(
    ("memory_gb", "batch"), [(12.0, 16), (16.0, 32), (24.0, 64), (40.0, 128), (80.0, 128)]
)
def test_batch_follows_the_card_and_never_exceeds_its_share(memory_gb: float, batch: int) -> None:
    got = values(Machine(memory_gb, 8))
    assert got["batch_size"] == batch
    assert estimated_memory_gb(batch) <= 0.7 * memory_gb or batch == BASE.batch_size


def test_no_gpu_and_few_cores_keep_the_file() -> None:
    assert values(Machine(None, 4)) == {"batch_size": 16, "lr": 1e-4, "warmup": 1000, "num_workers": 4}


def test_workers_are_shared_between_the_processes_of_a_machine() -> None:
    assert values(Machine(80.0, 32, local_processes=2))["num_workers"] == 14


def test_explicit_values_win_and_the_rest_still_follows() -> None:
    choices = {c.key: c for c in decide(Machine(150.0, 16), BASE, {"batch_size", "num_workers"})}
    assert choices["batch_size"].value == 16 and choices["batch_size"].source == "set on the command line"
    assert choices["num_workers"].value == 4 and not choices["num_workers"].changed
    assert choices["lr"].value == 1e-4 and not choices["lr"].changed  # batch unchanged: lr unchanged
    user_lr = {c.key: c for c in decide(Machine(150.0, 16), BASE, {"lr"})}
    assert user_lr["batch_size"].value == 128 and user_lr["lr"].value == 1e-4


def test_every_choice_says_where_it_came_from() -> None:
    for choice in decide(Machine(150.0, 16), BASE, set()):
        assert choice.source.startswith("fill_gpu: ")
    assert "150 GB card" in decide(Machine(150.0, 16), BASE, set())[0].source


def test_presets_ask_for_it_except_lowmem() -> None:
    assert get_preset("local_grasp").fill_gpu and get_preset("local_grasp_scratch").fill_gpu
    assert not get_preset("local_grasp_lowmem").fill_gpu  # its numbers are what a 12 GB card holds


def _config(tmp_path: Path, preset: str) -> Path:
    config = get_preset(preset).to_config(str(tmp_path / "data"), output_dir=str(tmp_path / "out"))
    config["policy"]["device"] = "cpu"
    path = tmp_path / "train.json"
    path.write_text(json.dumps(config))
    return path


def test_the_real_config_parses_with_fill_gpu_on_a_machine_without_gpu(tmp_path: Path) -> None:
    """On the CPU the file's values stay; the settings say so, and LeRobot parses the result."""
    prepared = prepare_argv([f"--config_path={_config(tmp_path, 'local_grasp')}", "--num_workers=2"])
    assert prepared.settings.fill_gpu
    assert prepared.settings.sizing["batch_size"].startswith("16 (config file (no CUDA GPU")
    assert prepared.settings.sizing["num_workers"] == "2 (set on the command line)"
    assert prepared.settings.sizing["video decoding"] == "pyav (config; no CUDA GPU seen here)"
    cfg = compat.parse_train_config(prepared.argv)
    assert (cfg.batch_size, cfg.num_workers) == (16, 2)


def test_fill_gpu_overrides_reach_lerobots_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on an H200 with 16 cores (the machine stated as input): LeRobot parses the sized values."""
    import lerobot_local.sizing as sizing

    monkeypatch.setattr(sizing, "this_machine", lambda device: Machine(150.0, 16, 1, "NVIDIA H200"))
    monkeypatch.setattr(sizing, "worker_decoder", lambda *a: "pyav (test)")
    argv = [f"--config_path={_config(tmp_path, 'local_grasp')}", "--policy.optimizer_lr=5e-5"]
    prepared = prepare_argv(argv)
    cfg = compat.parse_train_config(prepared.argv)
    assert (cfg.batch_size, cfg.num_workers) == (128, 14)
    with compat.argv_as(prepared.argv):
        overrides = compat.policy_cli_overrides(prepared.argv)
    assert "--optimizer_lr=5e-5" in overrides  # the user's value, not the scaled one
    assert "--scheduler_warmup_steps=125" in overrides
    assert any("fill_gpu (NVIDIA H200, 16 CPU cores)" in line for line in prepared.translations)


def test_lowmem_is_left_alone(tmp_path: Path) -> None:
    prepared = prepare_argv([f"--config_path={_config(tmp_path, 'local_grasp_lowmem')}"])
    assert not prepared.settings.fill_gpu and prepared.settings.sizing == {}
    assert compat.parse_train_config(prepared.argv).batch_size == 8
