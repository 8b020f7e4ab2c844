"""``lerobot-local doctor`` and ``preflight`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, REPO, run_cli
from train_helpers import tiny_act_config, write_config


def test_doctor_reports_the_truth(lerobot_version: str) -> None:
    proc = run_cli("lerobot-local", "doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"LeRobot {lerobot_version}: supported" in proc.stdout
    assert "inside lerobot-train: ACTIVE" in proc.stdout
    for name in (
        "local_v21",
        "local_v20",
        "local_grasp",
        "local_grasp_lowmem",
        "local_grasp_scratch",
        "lerobot_local_before_train",
        "check_hub",
    ):
        assert name in proc.stdout


def test_doctor_says_when_switched_off() -> None:
    proc = run_cli("lerobot-local", "doctor", env={"LEROBOT_LOCAL_DISABLE": "1"})
    assert "switched off by LEROBOT_LOCAL_DISABLE=1 (safety checks OFF)" in proc.stdout


def test_doctor_into_a_closed_pipe_stops_quietly() -> None:
    """``lerobot-local doctor | head -1``: the reader is gone before the output; no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [str(BIN / "lerobot-local"), "doctor"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            timeout=600,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr


def test_preflight_runs_the_checks_without_training(tmp_path: Path) -> None:
    v21 = REPO / "tests/fixtures/v21_video"
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v21, tmp_path / "run"))
    proc = run_cli("lerobot-local", "preflight", f"--config_path={cfg}")
    assert proc.returncode == 1
    assert "lerobot-convert-local --input=" in proc.stdout and "ERROR" in proc.stdout
    assert not (tmp_path / "run").exists()
    out = tmp_path / "v30"
    converted = run_cli("lerobot-convert-local", f"--input={v21}", f"--output={out}", "--verify=none")
    assert converted.returncode == 0, converted.stderr
    proc = run_cli("lerobot-local", "preflight", f"--config_path={cfg}", f"--dataset.root={out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 error" not in proc.stdout and "dataset" in proc.stdout
    assert json.loads(cfg.read_text())["dataset"]["root"] == str(v21)  # the user's file is never modified


def test_unknown_command_is_a_usage_error() -> None:
    assert run_cli("lerobot-local", "frobnicate").returncode == 2


def test_help_names_every_subcommand_and_flag_one_line_each() -> None:
    from lerobot_local.cli import HELP, SUBCOMMAND_MODULES

    proc = run_cli("lerobot-local", "--help")
    assert proc.returncode == 0
    first = proc.stdout.split("usage:")[0]
    commands = sorted([*HELP, *SUBCOMMAND_MODULES])
    assert commands == ["check", "doctor", "eval", "preflight", "preset"]
    for command in commands:  # each named on a line of its own, with what it does
        assert any(line.strip().startswith(command + " ") for line in first.splitlines()), command
        sub = run_cli("lerobot-local", command, "--help")
        assert sub.returncode == 0 and "usage: lerobot-local " + command in sub.stdout, command
    preset = run_cli("lerobot-local", "preset", "--help").stdout
    for flag in ("--dataset_root=", "--repo_id=", "--output_dir=", "--job_name=", "--out="):
        assert any(line.strip().startswith(flag) for line in preset.splitlines()), flag


@pytest.mark.any_line
def test_check_takes_a_bare_switch_as_argparse_users_type_it(tmp_path: Path) -> None:
    from lerobot_local.dataset_check import parse_args

    assert parse_args([str(tmp_path), "--deep_video_check"]).deep_video_check is True
    assert parse_args([str(tmp_path), "--deep-video-check=false"]).deep_video_check is False


@pytest.mark.any_line
def test_eval_takes_a_bare_switch_as_argparse_users_type_it(tmp_path: Path) -> None:
    from lerobot_local.validation.eval_args import parse_args

    opts = parse_args([f"--checkpoint={tmp_path}", "--untrained", "--progress=false"])
    assert opts.untrained is True and opts.progress is False
