"""lerobot-train killed while writing a checkpoint: resume starts from the newest checkpoint whose manifest
verifies and says which one it skipped; a changed file still refuses (test_train_hooks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import BIN
from lerobot_local.checks.output import check_output_dir
from reliability_log import record
from test_validation import ENV as REACH
from test_validation_split import GOLDEN_HOLDOUT
from train_helpers import tiny_act_config, train, write_config
from validation_helpers import make_reach_dataset

pytestmark = pytest.mark.slow
MANIFEST = "lerobot_local_manifest.json"


def resume(run: Path, steps: int) -> subprocess.CompletedProcess:
    last = run / "checkpoints/last/pretrained_model/train_config.json"
    return train("--resume=true", f"--config_path={last}", f"--steps={steps}")


def test_checkpoint_without_manifest_is_skipped(v30_dataset: Path, tmp_path: Path) -> None:
    """The state a kill leaves between LeRobot pointing ``last`` at a checkpoint and the manifest."""
    run = tmp_path / "run"
    assert (
        train(
            f"--config_path={write_config(tmp_path / 'c.json', tiny_act_config(v30_dataset, run))}"
        ).returncode
        == 0
    )
    (run / "checkpoints/000004" / MANIFEST).unlink()
    proc = resume(run, 6)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipped checkpoints/000004" in proc.stderr and "resuming from checkpoints/000002" in proc.stderr
    assert "step:3 " in proc.stderr  # training went on from step 2
    assert (run / "checkpoints/000006" / MANIFEST).is_file()


def test_real_kill_during_checkpoint_then_resume(v30_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = write_config(tmp_path / "c.json", tiny_act_config(v30_dataset, run, steps=40, save_freq=2))
    proc = subprocess.Popen(
        [str(BIN / "lerobot-train"), f"--config_path={cfg}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.time() + 300
    while not (run / "checkpoints/000004").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)  # while LeRobot writes checkpoint 4 (or right after)
    proc.wait()
    resumed = resume(run, 6)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    newest = sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.isdigit())[-1]
    assert (run / "checkpoints" / newest / MANIFEST).is_file()
    skipped = "skipped checkpoints/" in resumed.stderr
    record(
        "faults",
        "lerobot-train killed with SIGKILL while writing a checkpoint, then --resume=true",
        "resume from the newest checkpoint whose manifest verifies, saying which one was skipped",
        "resumed" + (" after skipping the unverified checkpoint" if skipped else " from the intact `last`"),
    )


def test_kill_during_the_first_validation_then_resume_on_the_same_holdout(tmp_path: Path) -> None:
    """Killed after LeRobot wrote checkpoint 2, during its validation (before ``last`` exists): the
    checkpoint already carries the holdout and a manifest, the output_dir row names a fix that exists, and
    --resume=true from it validates on the same held-out episodes."""
    data = make_reach_dataset(tmp_path / "reach")
    run = tmp_path / "run"
    validation = {"holdout": 0.25, "max_samples": 32}
    config = tiny_act_config(
        data, run, steps=40, save_freq=2, **REACH, **{"lerobot_local.validation": validation}
    )
    cfg = write_config(tmp_path / "c.json", config)
    proc = subprocess.Popen(
        [str(BIN / "lerobot-train"), f"--config_path={cfg}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    first = run / "checkpoints/000002"
    deadline = time.time() + 300
    while not (first / MANIFEST).exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)  # during the first validation
    proc.wait()
    assert not (run / "checkpoints/last").exists() and not (first / "lerobot_local_validation.json").exists()
    saved = json.loads((first / "lerobot_local.json").read_text())
    assert saved["validation"]["episodes"] == GOLDEN_HOLDOUT
    row = check_output_dir(SimpleNamespace(output_dir=run, resume=False))  # the same command again
    fix = f"--config_path={first / 'pretrained_model/train_config.json'}"
    assert row.severity == "error" and row.fix.endswith(f"--resume=true {fix}"), row  # a fix that exists
    resumed = train("--resume=true", fix, "--steps=4")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "written without lerobot-local" not in resumed.stderr
    assert f"restored lerobot_local settings from {first}" in resumed.stderr
    assert "step:3 " in resumed.stderr  # training went on from step 2
    assert f"held out for validation: {GOLDEN_HOLDOUT}" in resumed.stderr
    record(
        "faults",
        "lerobot-train killed with SIGKILL during the validation of its first checkpoint, then --resume=true",
        "resume from that checkpoint on the same held-out episodes",
        "resumed on the same holdout",
    )
