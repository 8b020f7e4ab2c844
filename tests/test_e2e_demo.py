"""The README's main flow end to end on this LeRobot line (offline): convert the bundled v2.1 sample,
preflight, train SmolVLA (tiny local backbone) through the native lerobot-train, resume."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, REPO
from lerobot_local.manifest import verify_manifest
from reliability_log import record

pytestmark = pytest.mark.slow


def test_demo_flow_converts_trains_and_resumes(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts/demo_flow.sh"), str(BIN), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    checkpoints = tmp_path / "train" / "checkpoints"
    names = {p.name for p in checkpoints.iterdir()}
    best = (checkpoints / "best").resolve().name  # lowest validation loss, kept beside keep_last_n=2
    assert names - {best} == {"000004", "000006", "last", "best"} - {best}, names
    assert (checkpoints / "last").resolve() == (checkpoints / "000006").resolve()
    for step in ("000004", "000006"):
        assert verify_manifest(checkpoints / step) == []
        assert (checkpoints / step / "pretrained_model" / "model.safetensors").is_file()
    train_log = (tmp_path / "train.log").read_text()
    resume_log = (tmp_path / "resume.log").read_text()
    losses = [float(x) for x in re.findall(r"step:\d+ .*?loss:([-\w.]+)", train_log + resume_log)]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses), losses
    assert re.findall(r"step:(\d+) ", resume_log) == ["5", "6"]
    assert "lerobot-local before-train checks" in train_log and "profile:local_grasp" in train_log
    assert "where everything is" in proc.stdout
    assert "validation at step 6 on" in proc.stdout and "run report        :" in proc.stdout
    assert (tmp_path / "train" / "lerobot_local_report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "eval_plots").glob("*.png"))  # the held-out episode's plot
    record(
        "network",
        "whole flow (convert, preflight, train SmolVLA, checkpoint, resume), network closed, every "
        "subprocess's connect() to a non-loopback address refused and logged",
        "completes without a single connection attempt",
        f"completed: {len(losses)} finite losses, 2 verified checkpoints, 0 connection attempts",
    )
