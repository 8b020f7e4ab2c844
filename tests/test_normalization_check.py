"""The ``normalization`` row: a v3.0 dataset with ``observation.environment_state`` (written by LeRobot's own
writer) and ACT's default ``normalization_mapping`` (no ``ENV``): preflight and the real ``lerobot-train``
refuse with the same row and the exact flag; that flag, copied from the message, trains and the checkpoint
normalises ENV; the config-file form passes too; a policy that does not read ENV (SmolVLA) passes; a policy
type lerobot-local does not know warns; ``meta/stats.json`` without the feature's stats, or without the
stats its mode needs, refuses."""

from __future__ import annotations

import json
import logging
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from train_helpers import tiny_act_config, train, write_config
from validation_helpers import make_reach_dataset

ROW = re.compile(r"^  normalization\s+(OK|WARNING|ERROR|SKIPPED)\s+(.*)$", re.MULTILINE)
FIX = re.compile(r"--policy\.normalization_mapping='([^']*)'")
FIXED = {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ENV": "MEAN_STD", "ACTION": "MEAN_STD"}
THIRD_PARTY = "lab_unknown_policy"


def rows(text: str) -> list[tuple[str, str]]:
    """The (STATUS, message) of every normalization row of a check table."""
    return ROW.findall(text)


@pytest.fixture(scope="module")
def reach(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reach_dataset(tmp_path_factory.mktemp("norm") / "reach", episodes=2, length=10)


def preflight_here(argv: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> str:
    """``lerobot-local preflight``'s table, run in this process (the same ``cli.preflight`` the command
    runs; no interpreter start-up)."""
    from lerobot_local.cli import preflight

    logger = logging.getLogger("lerobot_local")  # its stderr handler is this test's: gone after it
    for name in ("handlers", "propagate", "level"):
        monkeypatch.setattr(logger, name, [] if name == "handlers" else getattr(logger, name))
    capsys.readouterr()
    preflight(list(argv))
    return capsys.readouterr().out


def _config(reach: Path, tmp_path: Path, name: str, **overrides: Any) -> Path:
    config = tiny_act_config(reach, tmp_path / f"out_{name}", steps=2, save_freq=2, **overrides)
    return write_config(tmp_path / f"{name}.json", config)


@pytest.mark.slow  # two real lerobot-train runs (side by side: ~15-35 s on 2 shared cores)
def test_preflight_and_lerobot_train_refuse_raw_env_and_the_printed_flag_trains(
    reach: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = [f"--config_path={_config(reach, tmp_path, 'raw')}"]
    text = preflight_here(raw, capsys, monkeypatch)
    asked = rows(text)
    assert [s for s, _ in asked] == ["ERROR"], asked
    message = asked[0][1]
    assert "observation.environment_state (ENV) enters the model raw" in message
    assert '{"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"} has no ENV entry' in message
    (flag,) = set(FIX.findall(text))
    assert json.loads(flag) == FIXED  # the existing entries kept, ENV added
    assert f'"normalization_mapping": {flag} in the "policy" section of your --config_path file' in text

    # the real lerobot-train without the flag, and with it exactly as printed (the shell strips the quotes)
    fixed = [f"--config_path={_config(reach, tmp_path, 'fixed')}", f"--policy.normalization_mapping={flag}"]
    with ThreadPoolExecutor(2) as pool:
        refusing, training = pool.submit(train, *raw), pool.submit(train, *fixed)
        refused, trained = refusing.result(), training.result()
    assert refused.returncode == 1, refused.stderr[-3000:]
    assert rows(refused.stderr) == asked  # one truth: the same row, word for word
    assert "Creating dataset" not in refused.stderr and not (tmp_path / "out_raw").exists()
    assert trained.returncode == 0, trained.stderr[-3000:]
    ((status, message),) = rows(trained.stderr)
    assert status == "OK" and "observation.environment_state (ENV: MEAN_STD)" in message, message
    pretrained = tmp_path / "out_fixed/checkpoints/last/pretrained_model"
    assert json.loads((pretrained / "config.json").read_text())["normalization_mapping"] == FIXED
    steps = json.loads((pretrained / "policy_preprocessor.json").read_text())["steps"]
    (normalizer,) = [s["config"] for s in steps if "normalizer" in s.get("registry_name", "")]
    assert normalizer["norm_map"]["ENV"] == "MEAN_STD"
    assert "observation.environment_state" in normalizer["features"]


def test_the_config_file_form_passes(
    reach: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(reach, tmp_path, "file", **{"policy.normalization_mapping": FIXED})
    ((status, message),) = rows(preflight_here([f"--config_path={config}"], capsys, monkeypatch))
    assert status == "OK", message
    assert message == (
        "the act policy normalises observation.state (STATE: MEAN_STD), observation.environment_state "
        "(ENV: MEAN_STD), action (ACTION: MEAN_STD)."
    )
    # IDENTITY on purpose is the user's choice, said in the ok row
    raw = {**FIXED, "ENV": "IDENTITY"}
    config = _config(reach, tmp_path, "identity", **{"policy.normalization_mapping": raw})
    ((status, message),) = rows(preflight_here([f"--config_path={config}"], capsys, monkeypatch))
    assert status == "OK" and "keeps raw by its mapping's IDENTITY observation.environment_state" in message


def test_the_config_file_form_passes_beside_a_pretrained_policy_path(
    reach: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """policy.path in the file moves the file's policy fields to the command line: the mapping must arrive
    there as one JSON value (``--policy.normalization_mapping.ENV=...`` is refused by LeRobot's parser)."""
    from lerobot.configs.policies import PreTrainedConfig

    from lerobot_local import compat

    compat.register_policy_configs()
    pretrained = tmp_path / "pretrained"
    PreTrainedConfig.get_choice_class("act")(device="cpu", push_to_hub=False).save_pretrained(pretrained)
    for name, mapping, expected in (("without", None, "ERROR"), ("with", FIXED, "OK")):
        config = tiny_act_config(reach, tmp_path / f"out_{name}")
        config["policy"] = {"path": str(pretrained), "device": "cpu", "push_to_hub": False}
        if mapping:
            config["policy"]["normalization_mapping"] = mapping
        argv = [f"--config_path={write_config(tmp_path / f'{name}.json', config)}"]
        ((status, message),) = rows(preflight_here(argv, capsys, monkeypatch))
        assert status == expected, message


def test_a_policy_that_does_not_read_env_passes(
    reach: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_act_config(reach, tmp_path / "out")
    config["policy"] = {"type": "smolvla", "device": "cpu", "push_to_hub": False, "load_vlm_weights": False}
    argv = [f"--config_path={write_config(tmp_path / 'smolvla.json', config)}"]
    ((status, message),) = rows(preflight_here(argv, capsys, monkeypatch))
    assert status == "OK", message
    assert "the smolvla policy normalises observation.state (STATE: MEAN_STD), action (ACTION: MEAN_STD)" in (
        message
    )
    assert "does not read observation.environment_state (ENV)" in message


@pytest.fixture(scope="module")
def third_party_policy() -> str:
    """A policy type lerobot-local has no table entry for, registered the way a policy plugin does."""
    from lerobot.configs.policies import PreTrainedConfig

    from lerobot_local import compat

    compat.register_policy_configs()
    if THIRD_PARTY not in PreTrainedConfig.get_known_choices():
        act = PreTrainedConfig.get_choice_class("act")
        PreTrainedConfig.register_subclass(THIRD_PARTY)(type("LabPolicyConfig", (act,), {}))
    return THIRD_PARTY


def test_a_policy_type_not_known_warns_instead_of_passing(
    reach: Path,
    tmp_path: Path,
    third_party_policy: str,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config(reach, tmp_path, "unknown", **{"policy.type": third_party_policy})
    text = preflight_here([f"--config_path={config}"], capsys, monkeypatch)
    ((status, message),) = rows(text)
    assert status == "WARNING", message
    assert (
        f"cannot tell whether the {third_party_policy} policy reads observation.environment_state" in message
    )
    assert json.loads(FIX.search(text).group(1)) == FIXED


def test_stats_the_mapping_needs_but_meta_stats_lacks_refuse(
    reach: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "reach"
    shutil.copytree(reach, data)
    stats_file = data / "meta/stats.json"
    stats = json.loads(stats_file.read_text())
    del stats["observation.environment_state"]
    del stats["observation.state"]["q01"]
    stats_file.write_text(json.dumps(stats))
    mapping = {**FIXED, "STATE": "QUANTILES"}
    config = _config(data, tmp_path, "stats", **{"policy.normalization_mapping": mapping})
    text = preflight_here([f"--config_path={config}"], capsys, monkeypatch)
    found = rows(text)
    assert [s for s, _ in found] == ["ERROR", "ERROR"], found
    assert f"--input={data} --output={data}_restats --stats=recompute" in text
    assert [json.loads(f) for f in FIX.findall(text)] == [FIXED]  # back to the mean/std the stats hold
    assert f"{stats_file} has no stats for observation.environment_state (ENV: MEAN_STD)" in found[0][1]
    assert "passes it through raw" in found[0][1]
    assert f"{stats_file}: observation.state has no q01 stats, which STATE: QUANTILES needs" in found[1][1]
    assert "stops at the first batch" in found[1][1]


def test_no_readable_policy_config_is_skipped_with_the_reason(
    reach: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_act_config(reach, tmp_path / "out")
    config["policy"] = {"path": str(tmp_path / "no_such_checkpoint"), "device": "cpu", "push_to_hub": False}
    argv = [f"--config_path={write_config(tmp_path / 'gone.json', config)}"]
    ((status, message),) = rows(preflight_here(argv, capsys, monkeypatch))
    assert status == "SKIPPED", message
    assert message == (
        f"cannot tell what the policy normalises: the pretrained config at {tmp_path / 'no_such_checkpoint'} "
        "is unreadable (see offline_models)."
    )
