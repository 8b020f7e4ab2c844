"""Ctrl-C (SIGINT) and SIGTERM in lerobot-local's own commands: the converter (mid-write), check, eval and
preflight (during their imports, where a half-imported pandas once turned into an AttributeError) end with one
line saying what was and was not written, exit 130, no traceback; and LeRobot 0.6's torchcodec fallback report
(a traceback per FFmpeg version) is one line in any LeRobot program."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIN, FIXTURES, tree_digest

NUMPY = "_multiarray_umath"  # in /proc/PID/maps once numpy is loading: the command is in its heavy imports


def _interrupt(command: list[str], ready, sig: int, cwd: Path) -> tuple[int, str]:
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.time() + 120
    while proc.poll() is None and not ready(proc.pid) and time.time() < deadline:
        time.sleep(0.001)
    assert proc.poll() is None, f"{command} ended before the signal: {proc.communicate()[1][-2000:]}"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def _loading(lib: str):
    def ready(pid: int) -> bool:
        try:
            return lib in Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            return False

    return ready


def _one_line(text: str, command: str, sig: str) -> str:
    assert "Traceback" not in text and "AttributeError" not in text, text[-3000:]
    lines = [line for line in text.splitlines() if f"{command}: interrupted ({sig}): " in line]
    assert len(lines) == 1, text[-3000:]
    return lines[0]


@pytest.mark.any_line
def test_ctrl_c_during_a_conversion_says_nothing_was_written(tmp_path: Path) -> None:
    src, out = FIXTURES / "v21_video", tmp_path / "out"
    before = tree_digest(src)

    def writing(_pid: int) -> bool:  # the converter has started writing its temporary sibling
        return any(p.name.endswith(".lerobot-local-tmp") for p in tmp_path.iterdir())

    code, text = _interrupt(
        [str(BIN / "lerobot-convert-local"), f"--input={src}", f"--output={out}"],
        writing,
        signal.SIGINT,
        tmp_path,
    )
    assert code == 130, text[-3000:]
    line = _one_line(text, "lerobot-convert-local", "SIGINT")
    assert "nothing was written" in line and f"{src} is untouched" in line, line
    assert not out.exists() and not any(tmp_path.iterdir()), list(tmp_path.iterdir())
    assert tree_digest(src) == before


@pytest.mark.any_line
@pytest.mark.parametrize(
    ("subcommand", "sig"),
    [("check", signal.SIGINT), ("eval", signal.SIGTERM), ("preflight", signal.SIGTERM)],
)
def test_a_signal_while_a_command_loads_ends_in_one_line(subcommand: str, sig: int, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = {
        "check": [str(FIXTURES / "v21_video"), f"--report_json={report}"],
        "eval": [f"--checkpoint={tmp_path}", f"--report_json={report}"],
        "preflight": [f"--config_path={tmp_path / 'c.json'}"],
    }[subcommand]
    (tmp_path / "c.json").write_text("{}")
    code, text = _interrupt([str(BIN / "lerobot-local"), subcommand, *args], _loading(NUMPY), sig, tmp_path)
    name = signal.Signals(sig).name
    assert code == 130, text[-3000:]
    line = _one_line(text, f"lerobot-local {subcommand}", name)
    if subcommand == "preflight":
        assert line.endswith("nothing was written (preflight only reads)"), line
    else:
        assert line.endswith(f"nothing was written (--report_json={report} not written)"), line
    assert not report.exists()


def test_torchcodec_fallback_is_one_line_in_a_lerobot_program() -> None:
    """What lerobot-train's parser does with no dataset.video_backend: build a DatasetConfig (its default)."""
    from lerobot_local import compat

    probe = (
        "import logging; logging.basicConfig(); import lerobot.configs.parser; "
        "from lerobot.configs.default import DatasetConfig; print(DatasetConfig(repo_id='x').video_backend)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if compat.torchcodec_loads() is None:  # torchcodec loads here: nothing falls back
        assert proc.stdout.strip() == "torchcodec"
        return
    assert proc.stdout.strip() == "pyav"
    if compat.lerobot_version().startswith("0.6"):
        lines = [line for line in proc.stderr.splitlines() if "torchcodec cannot load here" in line]
        assert len(lines) == 1 and "--dataset.video_backend=pyav" in lines[0], proc.stderr[-3000:]
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-3000:]


HALF_BUILT = """
import os, signal
from lerobot_local.interrupts import run_interruptible

class Bar:  # a progress bar the signal cuts short in __init__ (tqdm's 'no attribute pos' at exit)
    def __init__(self):
        os.kill(os.getpid(), signal.SIGINT)
        self.pos = 0

    def __del__(self):
        abs(self.pos)

def body():
    Bar()
    return 0

raise SystemExit(run_interruptible("cmd", body, lambda: "nothing was written"))
"""


@pytest.mark.any_line
def test_an_object_the_signal_cut_short_leaves_no_traceback_at_exit() -> None:
    """Seen in CI: Ctrl-C while tqdm built its bar printed 'Exception ignored ... Traceback' after it."""
    proc = subprocess.run([sys.executable, "-c", HALF_BUILT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "cmd: interrupted (SIGINT): nothing was written", proc.stderr
