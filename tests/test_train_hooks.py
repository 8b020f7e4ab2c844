"""The plugin inside the real ``lerobot-train`` (subprocess, CPU, network closed): the check table, a
failing run per check with no dataset or model built, manifests, pruning, resume, opt-out, third parties."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli, tree_digest
from train_helpers import tiny_act_config, train, without_plugin, write_config

pytestmark = pytest.mark.slow
BUILT_NOTHING = ("Creating dataset", "Creating policy")


def test_passing_run_shows_the_table_and_writes_verified_manifests(v30_dataset: Path, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "cfg.json",
        tiny_act_config(v30_dataset, tmp_path / "run", **{"lerobot_local.keep_last_n": 1}),
    )
    proc = train(f"--config_path={cfg}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stderr
    assert "lerobot-local before-train checks" in log
    for name in ("dataset", "fps", "hub_push", "offline", "wandb", "output_dir", "disk"):
        assert f"\n  {name} " in log
    checkpoints = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "000004",
        "last",
    ]  # 000002 pruned (keep_last_n=1)
    assert "removed old checkpoint" in log and log.count("written and verified") == 2
    manifest = json.loads((checkpoints / "000004" / "lerobot_local_manifest.json").read_text())
    assert "pretrained_model/model.safetensors" in manifest["files"]
    assert json.loads((checkpoints / "000004" / "lerobot_local.json").read_text())["keep_last_n"] == 1

    resume = train(
        "--resume=true",
        f"--config_path={checkpoints / 'last/pretrained_model/train_config.json'}",
        "--steps=6",
    )
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert "restored lerobot_local settings" in resume.stderr
    assert "checkpoint" in resume.stderr and "verifies against its manifest" in resume.stderr
    assert sorted(p.name for p in checkpoints.iterdir()) == ["000006", "last"]


@pytest.fixture(scope="module")
def dash_m_run(v30_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 2-step run started as ``python -m lerobot.scripts.lerobot_train``: (its output dir, its log)."""
    work = tmp_path_factory.mktemp("dash_m")
    cfg = write_config(work / "cfg.json", tiny_act_config(v30_dataset, work / "run", **{"steps": 2}))
    proc = subprocess.run(
        [sys.executable, "-m", "lerobot.scripts.lerobot_train", f"--config_path={cfg}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work / "run", proc.stderr


def test_python_dash_m_entry_point_is_guarded_too(dash_m_run: tuple[Path, str]) -> None:
    run, log = dash_m_run
    assert "lerobot-local before-train checks" in log
    assert (run / "checkpoints/000002/lerobot_local_manifest.json").is_file()


# Each check failing once (and preflight agreeing) is tests/test_one_truth.py; here the case it cannot hold:
# a profile mismatch on a dataset that has no cameras at all.
FAILING = {
    "profile mismatch": (
        {"lerobot_local.profile": "local_grasp", "dataset.root": "IMAGES"},
        "profile:local_grasp",
        "at least 1",
    ),
}


@pytest.mark.parametrize("case", list(FAILING), ids=list(FAILING))
def test_failing_check_stops_before_anything_is_built(case: str, v30_dataset: Path, tmp_path: Path) -> None:
    overrides, check, says = FAILING[case]
    if overrides.get("dataset.root") == "IMAGES":
        out = tmp_path / "no_cameras"
        _convert_without_cameras(out)
        overrides = {**overrides, "dataset.root": str(out)}
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", **overrides))
    proc = train(f"--config_path={cfg}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f"  {check} " in proc.stderr and "ERROR" in proc.stderr and says in proc.stderr
    assert not any(marker in proc.stderr for marker in BUILT_NOTHING)
    assert not (tmp_path / "run").exists()


def _convert_without_cameras(out: Path) -> None:
    """A v3.0 dataset with state and action only (the fixture minus its cameras)."""
    src = out.parent / "src_no_cameras"
    shutil.copytree(REPO / "tests/fixtures/v21_video", src)
    shutil.rmtree(src / "videos")
    info = json.loads((src / "meta/info.json").read_text())
    info["features"] = {k: f for k, f in info["features"].items() if f["dtype"] != "video"}
    info["video_path"] = None
    (src / "meta/info.json").write_text(json.dumps(info))
    assert (
        run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none").returncode == 0
    )


def test_v21_dataset_root_gets_the_exact_convert_command(tmp_path: Path) -> None:
    v21 = REPO / "tests/fixtures/v21_video"
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v21, tmp_path / "run"))
    proc = train(f"--config_path={cfg}")
    assert proc.returncode == 1
    assert f"lerobot-convert-local --input={v21} --output={v21}_v30" in proc.stderr


def test_existing_output_dir_is_not_clobbered(v30_dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("earlier run")
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run"))
    proc = train(f"--config_path={cfg}")
    assert proc.returncode == 1 and "output_dir" in proc.stderr, proc.stderr[-3000:]
    # it holds no checkpoint: the fix does not name a resume that cannot work
    assert f"or delete {tmp_path / 'run'} (it holds no checkpoint to resume from)" in proc.stderr
    assert "--resume=true" not in proc.stderr
    assert (tmp_path / "run" / "notes.txt").read_text() == "earlier run"


def test_command_line_overrides_plugin_settings(v30_dataset: Path, tmp_path: Path) -> None:
    """--lerobot_local.severity on the command line reaches lerobot-train's table (an existing output dir
    stops the run right after the table, so nothing trains)."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("earlier run")
    cfg = write_config(
        tmp_path / "cfg.json",
        tiny_act_config(
            v30_dataset, tmp_path / "run", **{"policy.push_to_hub": True, "policy.repo_id": "me/x"}
        ),
    )
    proc = train(f"--config_path={cfg}", "--lerobot_local.severity={hub_push: warning}", "--steps=2")
    assert "  hub_push        WARNING" in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1 and "  output_dir      ERROR" in proc.stderr, proc.stderr[-3000:]


def test_flipped_byte_in_checkpoint_refuses_resume(dash_m_run: tuple[Path, str], tmp_path: Path) -> None:
    run = tmp_path / "run"  # a copy: a refused resume writes nothing, the shared run stays as it was
    shutil.copytree(dash_m_run[0], run, symlinks=True)
    weights = run / "checkpoints/000002/pretrained_model/model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    proc = train(
        "--resume=true",
        f"--config_path={run / 'checkpoints/last/pretrained_model/train_config.json'}",
        "--steps=4",
    )
    assert proc.returncode == 1
    assert "model.safetensors was modified after the checkpoint was written" in proc.stderr


@pytest.fixture(scope="module")
def unplugged_run(v30_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A 2-step run with LEROBOT_LOCAL_DISABLE=1, from a config that still has its lerobot_local section and
    flag (as a user who installed the plugin and switched it off, or trained before installing it)."""
    work = tmp_path_factory.mktemp("unplugged")
    config = tiny_act_config(v30_dataset, work / "run", steps=2)
    config = {**without_plugin(config), "lerobot_local": config["lerobot_local"]}
    cfg = write_config(work / "cfg.json", config)
    before = cfg.read_bytes()
    proc = train(f"--config_path={cfg}", "--lerobot_local.keep_last_n=1", env={"LEROBOT_LOCAL_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"run": work / "run", "log": proc.stderr, "config unchanged": cfg.read_bytes() == before}


def test_opt_out_says_the_checks_are_off(unplugged_run: dict[str, object]) -> None:
    """LEROBOT_LOCAL_DISABLE=1 with a config that still has its lerobot_local section and flag: runs."""
    log, run = str(unplugged_run["log"]), Path(str(unplugged_run["run"]))
    assert unplugged_run["config unchanged"]
    assert "ignored the 'lerobot_local' section" in log
    assert "ignored --lerobot_local.keep_last_n=1" in log
    assert "safety checks are OFF" in log
    assert "before-train checks" not in log
    assert not (run / "checkpoints/000002/lerobot_local_manifest.json").exists()


def test_resuming_a_run_from_before_the_install_names_the_opt_in(unplugged_run: dict[str, object]) -> None:
    """A run trained without the plugin has no manifests: resume stops and says how to go on unverified."""
    run = Path(str(unplugged_run["run"]))
    resume_cfg = run / "checkpoints/last/pretrained_model/train_config.json"
    before = tree_digest(run / "checkpoints/000002")
    refused = train("--resume=true", f"--config_path={resume_cfg}", "--steps=4")
    assert refused.returncode == 1
    assert "was written without lerobot-local" in refused.stderr
    assert "--lerobot_local.severity='{resume: warning}'" in refused.stderr
    assert tree_digest(run / "checkpoints/000002") == before
    resumed = train(
        "--resume=true",
        f"--config_path={resume_cfg}",
        "--steps=4",
        "--lerobot_local.severity={resume: warning}",
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (run / "checkpoints/000004/lerobot_local_manifest.json").is_file()


def test_third_party_plugin_hooks_are_called(v30_dataset: Path, tmp_path: Path, example_plugin: Path) -> None:
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", steps=2))
    env = {"PYTHONPATH": str(example_plugin)}
    doctor = run_cli("lerobot-local", "doctor", env=env)
    assert "example" in doctor.stdout and "lerobot-local-example==0.0.1" in doctor.stdout
    proc = train(f"--config_path={cfg}", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "example plugin saw batch_size=2" in proc.stderr
    assert (tmp_path / "run/checkpoints/example_plugin_saw_2.txt").is_file()
    # no use_amp: the precision row says fp32 ("policy.use_amp=false", or LeRobot main's
    # "accelerator.mixed_precision=no") and accelerate trains in it (bf16: test_fail_closed)
    precision = next(line for line in proc.stderr.splitlines() if line.startswith("  precision "))
    assert "fp32: " in precision, precision
    assert (tmp_path / "run/checkpoints/example_plugin_precision.txt").read_text() == "no"
    failing = train(
        f"--config_path={cfg}", f"--output_dir={tmp_path / 'run2'}", env={**env, "EXAMPLE_PLUGIN_FAIL": "1"}
    )
    assert failing.returncode == 1 and "the example plugin refuses this run" in failing.stderr


def test_an_after_checkpoint_action_that_raises_stops_training_after_a_complete_checkpoint(
    v30_dataset: Path, tmp_path: Path, example_plugin: Path
) -> None:
    """The hookspec's contract: a raise stops the run; the checkpoint before it is whole (resume works)."""
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", steps=4))
    proc = train(f"--config_path={cfg}", env={"PYTHONPATH": str(example_plugin), "EXAMPLE_ACTION_FAIL": "1"})
    assert proc.returncode != 0 and "the example action failed after checkpoint 2" in proc.stderr
    checkpoints = tmp_path / "run" / "checkpoints"
    assert not (checkpoints / "000004").exists(), "training went on after the action raised"
    assert (checkpoints / "last").resolve().name == "000002"
    assert (checkpoints / "000002" / "pretrained_model" / "model.safetensors").is_file()
