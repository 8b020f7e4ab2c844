"""A simulated LeRobot upgrade: a copy of the installed LeRobot with one hooked name renamed (as a future
release might do) and a release number outside the supported range. The plugin must fail loudly, naming the
LeRobot version and what is missing, and LeRobot itself must still train with the plugin switched off."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from reliability_log import record
from train_helpers import tiny_act_config, train, without_plugin, write_config

HOOKED = "update_last_checkpoint"  # the train-script name the checkpoint actions hook into (compat/train.py)


def _future_lerobot(
    site: Path, rename_to: str | None = None, version: str | None = None, rename_train: bool = False
) -> dict[str, str]:
    """A copy of the installed ``lerobot`` in ``site`` (first on PYTHONPATH), edited like a release."""
    import lerobot

    package = Path(lerobot.__file__).parent
    shutil.copytree(package, site / "lerobot", ignore=shutil.ignore_patterns("__pycache__"))
    if rename_train:  # the training script's entry function renamed, e.g. train -> train_policy
        script = site / "lerobot" / "scripts" / "lerobot_train.py"
        text = re.sub(r"(?<![\w.])train\(", "train_policy(", script.read_text(encoding="utf-8"))
        assert "def train_policy(" in text
        script.write_text(text, encoding="utf-8")
    if rename_to:
        for path in (site / "lerobot").rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if HOOKED in text:
                path.write_text(text.replace(HOOKED, rename_to), encoding="utf-8")
    if version:
        dist = site / f"lerobot-{version}.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lerobot\nVersion: {version}\n")
    return {"PYTHONPATH": str(site)}


def test_renamed_hook_point_fails_loudly_and_lerobot_still_runs_without_the_plugin(
    v30_dataset: Path, tmp_path: Path
) -> None:
    env = _future_lerobot(tmp_path / "site", rename_to="update_latest_checkpoint")
    installed = importlib.metadata.version("lerobot")
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run"))
    proc = train(f"--config_path={cfg}", env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log
    assert f"LeRobot {installed} has no '{HOOKED}'" in log
    assert not (tmp_path / "run" / "checkpoints").exists()

    plain = without_plugin(tiny_act_config(v30_dataset, tmp_path / "run_off", steps=2))
    cfg_off = write_config(tmp_path / "cfg_off.json", plain)
    off = train(f"--config_path={cfg_off}", env={**env, "LEROBOT_LOCAL_DISABLE": "1"})
    assert off.returncode == 0, off.stdout[-2000:] + off.stderr[-3000:]
    assert (tmp_path / "run_off" / "checkpoints" / "000002" / "pretrained_model").is_dir()
    record(
        "upgrade",
        f"LeRobot {installed} copy with '{HOOKED}' renamed (a future release)",
        "lerobot-train stops, naming the version and the missing name; runs with LEROBOT_LOCAL_DISABLE=1",
        "as expected",
    )


def test_release_outside_the_range_is_refused(v30_dataset: Path, tmp_path: Path) -> None:
    """A LeRobot copy that says it is 0.7.0: lerobot-train refuses before training, doctor names it."""
    version = "0.7.0"
    env = _future_lerobot(tmp_path / "site", version=version)
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run"))
    proc = train(f"--config_path={cfg}", env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    from lerobot_local import compat

    assert f"LeRobot {version} is installed" in log and f"supports LeRobot {compat.supported_range()}" in log
    assert not (tmp_path / "run").exists()
    doctor = run_cli("lerobot-local", "doctor", env=env)
    assert f"LeRobot {version}" in doctor.stdout


@pytest.mark.parametrize("version", ["0.3.3", "0.5.0", "0.7.0"])
def test_every_release_outside_the_range_gets_the_verdict(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the range, an excluded release (with its reason) and above it: the verdict lerobot-train and
    doctor print (above), from the distribution metadata found first on the path, as they read it."""
    from lerobot_local import compat

    dist = tmp_path / f"lerobot-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lerobot\nVersion: {version}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("LEROBOT_LOCAL_ALLOW_UNTESTED_LEROBOT", raising=False)
    assert compat.lerobot_version() == version
    with pytest.raises(compat.IncompatibleLeRobotError) as refused:
        compat.require_supported_lerobot()
    message = str(refused.value)
    assert f"LeRobot {version} is installed" in message and compat.supported_range() in message
    if version in compat.EXCLUSION_REASONS:
        assert compat.EXCLUSION_REASONS[version] in message
    monkeypatch.setenv("LEROBOT_LOCAL_ALLOW_UNTESTED_LEROBOT", "1")  # the documented way to try it anyway
    assert compat.require_supported_lerobot() == version


def test_renamed_train_entry_refuses_to_train_unchecked(v30_dataset: Path, tmp_path: Path) -> None:
    """A LeRobot whose training script renamed ``train``: one loud line, and nothing trains unchecked."""
    env = _future_lerobot(tmp_path / "site", rename_train=True)
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", steps=2))
    proc = train(f"--config_path={cfg}", env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    assert "lerobot.scripts.lerobot_train.train_policy, which is not the training entry" in log
    assert "refusing to train unchecked" in log and "LEROBOT_LOCAL_DISABLE=1" in log
    assert not (tmp_path / "run").exists()
    plain = write_config(
        tmp_path / "plain.json", without_plugin(tiny_act_config(v30_dataset, tmp_path / "off"))
    )
    off = train(f"--config_path={plain}", "--steps=2", env={**env, "LEROBOT_LOCAL_DISABLE": "1"})
    assert off.returncode == 0, off.stderr[-3000:]
    assert (tmp_path / "off" / "checkpoints" / "000002").is_dir()
    record(
        "upgrade",
        "LeRobot copy whose training script renamed train to train_policy",
        "lerobot-train refuses to train unchecked, naming the function and the fix",
        "as expected; trains with LEROBOT_LOCAL_DISABLE=1",
    )
