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
    # the file's plan (20,000 steps at batch 16, checkpoint every 5,000) kept in samples at batch 128
    assert (cfg.steps, cfg.save_freq, cfg.log_freq) == (2500, 625, 12)
    assert cfg.steps * cfg.batch_size == 20000 * 16
    assert "--scheduler_decay_steps=2500" in overrides
    assert prepared.settings.sizing["steps"].startswith("2500 (fill_gpu: 20000 x 16/128")


def test_the_plan_is_kept_in_samples_and_typed_values_win() -> None:
    base = Baseline(16, 4, 1e-4, 1000, steps=20000, save_freq=5000, log_freq=100, decay=20000, eval_freq=0)
    got = {c.key: c.value for c in decide(Machine(150.0, 16), base, set())}
    assert got["batch_size"] * got["steps"] == 16 * 20000
    assert (got["save_freq"], got["log_freq"], got["decay"], got["warmup"]) == (625, 12, 2500, 125)
    assert got["eval_freq"] == 0  # off stays off
    typed = {c.key: c for c in decide(Machine(150.0, 16), base, {"steps", "save_freq"})}
    assert typed["steps"].value == 20000 and typed["steps"].source == "set on the command line"
    assert typed["save_freq"].value == 5000 and typed["decay"].value == 2500
    cpu = {c.key: c for c in decide(Machine(None, 16), base, set())}
    assert cpu["steps"].value == 20000 and not cpu["steps"].changed


def test_a_plan_not_divisible_by_the_factor_never_trains_fewer_samples() -> None:
    base = Baseline(16, 4, None, None, steps=1001, save_freq=3, log_freq=1)
    got = {c.key: c.value for c in decide(Machine(150.0, 16), base, set())}
    assert got["steps"] * got["batch_size"] >= 1001 * 16 and got["save_freq"] >= 1 and got["log_freq"] == 1


def test_lowmem_is_left_alone(tmp_path: Path) -> None:
    prepared = prepare_argv([f"--config_path={_config(tmp_path, 'local_grasp_lowmem')}"])
    assert not prepared.settings.fill_gpu and prepared.settings.sizing == {}
    assert compat.parse_train_config(prepared.argv).batch_size == 8


def test_a_schedule_left_to_the_policys_defaults_is_scaled_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No warmup/decay in the file: SmolVLA's own defaults (1,000 / 30,000) are the baseline, so LeRobot's
    rescaling of a schedule longer than the run sees the same proportions at batch 128 as at 16."""
    import lerobot_local.sizing as sizing

    monkeypatch.setattr(sizing, "this_machine", lambda device: Machine(150.0, 16, 1, "NVIDIA H200"))
    monkeypatch.setattr(sizing, "worker_decoder", lambda *a: "pyav (test)")
    config = json.loads(_config(tmp_path, "local_grasp_scratch").read_text())
    for key in ("scheduler_warmup_steps", "scheduler_decay_steps"):
        config["policy"].pop(key, None)
    path = tmp_path / "no_schedule.json"
    path.write_text(json.dumps(config))
    prepared = prepare_argv([f"--config_path={path}"])
    cfg = compat.parse_train_config(prepared.argv)
    assert cfg.batch_size == 128
    assert (cfg.policy.scheduler_warmup_steps, cfg.policy.scheduler_decay_steps) == (125, 3750)
    assert cfg.steps == config["steps"] // 8


def test_validations_between_checkpoints_keep_their_spacing_in_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lerobot_local.sizing as sizing

    monkeypatch.setattr(sizing, "this_machine", lambda device: Machine(150.0, 16, 1, "NVIDIA H200"))
    monkeypatch.setattr(sizing, "worker_decoder", lambda *a: "pyav (test)")
    config = json.loads(_config(tmp_path, "local_grasp").read_text())
    config["lerobot_local"]["validation"] = {"holdout": 0.25, "every_n_steps": 400}
    path = tmp_path / "every.json"
    path.write_text(json.dumps(config))
    assert prepare_argv([f"--config_path={path}"]).settings.validation.every_n_steps == 50
    typed = prepare_argv([f"--config_path={path}", "--lerobot_local.validation.every_n_steps=300"])
    assert typed.settings.validation.every_n_steps == 300
