"""``accelerate launch`` with two CPU processes (torch DDP over gloo on loopback): the checks run once per
node (here one), the checkpoint actions once on the main process; the other process waits for the verdict;
a failing check stops both. (``torchrun`` and ``python -m torch.distributed.run`` start the same processes
with the same variables: accelerate launches through torch.distributed.run; test_multinode runs torchrun.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN
from reliability_log import record
from train_helpers import tiny_act_config, write_config

pytestmark = pytest.mark.slow


def launch_two_processes(config: Path) -> subprocess.CompletedProcess[str]:
    """``accelerate launch`` of the native lerobot-train, 2 processes (``--multi_gpu`` without GPU: gloo)."""
    command = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes=2", "--num_machines=1"]
    command += [
        "--mixed_precision=no",
        "--dynamo_backend=no",
        str(BIN / "lerobot-train"),
        f"--config_path={config}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=config.parent)


def test_checks_and_manifests_run_once_on_the_main_process(v30_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = launch_two_processes(write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, run)))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert log.count("lerobot-local before-train checks") == 1
    assert "rank 1/2, node 0/1 waits for the checks of its node's main process" in log
    assert "rank 1/2, node 0/1 goes on: the checks passed on every node (1)" in log
    for step in ("000002", "000004"):
        assert (run / "checkpoints" / step / "lerobot_local_manifest.json").is_file()
        assert log.count(f"checkpoints/{step}/lerobot_local_manifest.json written and verified") == 1


def test_a_failing_check_stops_both_processes(v30_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = tiny_act_config(v30_dataset, run, **{"policy.push_to_hub": True, "policy.repo_id": "lab/grasp"})
    proc = launch_two_processes(write_config(tmp_path / "cfg.json", config))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert log.count("lerobot-local before-train checks") == 1 and "hub_push" in log
    assert "rank 1/2, node 0/1 waits for the checks of its node's main process" in log
    assert "rank 1/2, node 0/1 stops: the checks failed on node 0" in log and "goes on" not in log
    assert not (run / "checkpoints").exists()
    record(
        "network",
        "accelerate launch, 2 processes, config with push_to_hub=true",
        "one check table, both processes stop before the model is built, nothing uploaded",
        "as expected",
    )
