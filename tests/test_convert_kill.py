"""SIGKILL at many moments of a conversion: the source stays byte-identical, no partial output is left,
and a rerun produces exactly what an uninterrupted run produces."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import BIN, run_cli, tree_digest

TRIALS = int(os.environ.get("LEROBOT_LOCAL_KILL_TRIALS", "8"))


def test_kill_9_at_any_moment_then_rerun(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("sample")
    before = tree_digest(src)
    reference = tmp_path / "reference"
    assert (
        run_cli(
            "lerobot-convert-local", f"--input={src}", f"--output={reference}", "--verify=none"
        ).returncode
        == 0
    )
    expected = tree_digest(reference)

    started = time.perf_counter()
    run_cli("lerobot-convert-local", f"--input={src}", f"--output={tmp_path / 'timing'}", "--verify=none")
    duration = time.perf_counter() - started
    outcomes = []
    for trial in range(TRIALS):
        out = tmp_path / f"out{trial}"
        delay = duration * (0.2 + 0.8 * trial / max(TRIALS - 1, 1))
        proc = subprocess.Popen(
            [
                str(BIN / "lerobot-convert-local"),
                f"--input={src}",
                f"--output={out}",
                "--verify=none",
                "--progress=false",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        finished = proc.returncode == 0
        outcomes.append("finished" if finished else "killed")
        assert tree_digest(src) == before
        if out.exists():  # only ever the complete, renamed result
            assert tree_digest(out) == expected
        rerun = run_cli(
            "lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none", "--overwrite=true"
        )
        assert rerun.returncode == 0, rerun.stderr
        assert tree_digest(out) == expected
        assert not list(tmp_path.glob(f".out{trial}.lerobot-local-*"))
    assert "killed" in outcomes
