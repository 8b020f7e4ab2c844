"""One code path: a third-party dataset check's row appears, and stops what it should, in the converter
(dry run and real run), ``lerobot-local check``, ``lerobot-local preflight`` and ``lerobot-train`` alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli, tree_digest
from train_helpers import tiny_act_config, train, write_config

ROW = "example:dataset"


def _row(output: str) -> str | None:
    """The status of the example row in a printed check table or converter summary (None when absent)."""
    found = re.search(rf"{re.escape(ROW)}:?\s+(OK|WARNING|ERROR|SKIPPED)\b", output)
    return found.group(1) if found else None


@pytest.mark.parametrize("fail", [False, True], ids=["passes", "refuses"])
def test_a_third_party_dataset_check_runs_in_every_entry(
    fail: bool, v30_dataset: Path, tmp_path: Path, example_plugin: Path
) -> None:
    env = {"PYTHONPATH": str(example_plugin), "EXAMPLE_DATASET_FAIL": "1" if fail else "0"}
    want, code = ("ERROR", 1) if fail else ("OK", 0)
    src = FIXTURES / "v21_video"
    before = tree_digest(src)
    seen: dict[str, tuple[str | None, int]] = {}

    proc = run_cli("lerobot-local", "check", str(src), "--deep_video_check=false", env=env)
    seen["check v2.1"] = (_row(proc.stdout), proc.returncode)
    proc = run_cli("lerobot-local", "check", str(v30_dataset), "--deep_video_check=false", env=env)
    seen["check v3.0"] = (_row(proc.stdout), proc.returncode)
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--dry_run=true", env=env)
    seen["convert --dry_run"] = (_row(proc.stdout + proc.stderr), proc.returncode)
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none", env=env)
    seen["convert"] = (_row(proc.stdout + proc.stderr), proc.returncode)
    assert out.is_dir() != fail, "a refused conversion writes nothing; a passing one writes the output"
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", steps=1))
    proc = run_cli("lerobot-local", "preflight", f"--config_path={cfg}", env=env)
    seen["preflight"] = (_row(proc.stdout + proc.stderr), proc.returncode)
    if fail:  # a passing lerobot-train adds nothing here: preflight's table is the same code path
        proc = train(f"--config_path={cfg}", env=env)
        seen["lerobot-train"] = (_row(proc.stdout + proc.stderr), proc.returncode)
        assert not (tmp_path / "run" / "checkpoints").exists()
    assert tree_digest(src) == before
    assert all(seen_row == (want, code) for seen_row in seen.values()), seen
