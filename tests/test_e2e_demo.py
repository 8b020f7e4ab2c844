"""The README's main flow end to end on this LeRobot line (offline): check and convert the bundled v2.1
sample, preflight, train SmolVLA (tiny local backbone) through the native lerobot-train, resume, evaluate
from another working directory; a terminal a newcomer reads to the end (under 60 lines, the verdict, what
to run next); eval of a checkpoint whose local backbone is gone refused with the offline_models message."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, REPO, run_cli
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
    out = proc.stdout.splitlines()
    assert len(out) < 60, proc.stdout  # LeRobot's config dumps went to the logs
    assert "=== 1/7 check the bundled v2.1 sample (lerobot-local check) ===" in out
    assert any(line.strip().startswith("dataset") and "OK" in line for line in out)  # the check table
    assert "where everything is" in proc.stdout and "run report (open it) :" in proc.stdout
    assert "verdict at step 6: not learned yet" in proc.stdout  # 6 steps on 4 episodes cannot learn
    verdict = next(i for i, line in enumerate(out) if line.startswith("verdict: "))
    assert "not learned yet" in out[verdict] and "untrained initialisation" in out[verdict]
    assert out[-5:] == [
        "=== next: your own data ===",
        "  (in the demo's environment: the 'source .../bin/activate' line printed last, or 'make shell')",
        "  lerobot-local check /path/to/your_dataset_v21",
        "  lerobot-convert-local --input=/path/to/your_dataset_v21 --output=data/grasp_v30",
        "  lerobot-train --config_path=configs/grasp_smolvla.json --dataset.root=data/grasp_v30",
    ]
    assert (tmp_path / "train" / "lerobot_local_report.html").is_file()
    assert list((tmp_path / "train").glob("events.out.tfevents.*"))  # TensorBoard, live during the run
    assert f"TensorBoard (live)   : {BIN}/tensorboard --logdir {tmp_path}/train" in proc.stdout
    # eval ran from the repo root: the checkpoint's relative dataset.root and backbone resolved as in training
    assert sorted(p.name for p in (tmp_path / "eval_plots").glob("*.png"))  # the held-out episode's plot
    assert "verdict 000006: not learned yet" in (tmp_path / "eval.out").read_text()

    # the local backbone gone: refused with training's offline_models message, never a traceback
    (tmp_path / "tiny_smolvlm").rename(tmp_path / "moved_away")
    refused = run_cli(
        "lerobot-local",
        "eval",
        f"--checkpoint={tmp_path / 'train/checkpoints/last'}",
        "--device=cpu",
        cwd=REPO,
    )
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert "offline_models: policy.vlm_model_name=tiny_smolvlm is not available offline" in refused.stderr
    assert "hf download tiny_smolvlm" in refused.stderr and "Traceback" not in refused.stderr
    record(
        "network",
        "whole flow (convert, preflight, train SmolVLA, checkpoint, resume), network closed, every "
        "subprocess's connect() to a non-loopback address refused and logged",
        "completes without a single connection attempt",
        f"completed: {len(losses)} finite losses, 2 verified checkpoints, 0 connection attempts",
    )
