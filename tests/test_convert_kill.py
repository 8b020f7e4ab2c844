"""SIGKILL at many moments of a conversion: the source stays byte-identical, no partial output is left,
and a rerun produces exactly what an uninterrupted run produces.

Each trial waits for a phase of the conversion to begin (the first file of ``data/``, ``videos/`` or
``meta/`` appearing in the temporary sibling, or a fraction of the uninterrupted run's time), kills the
converter a few milliseconds later, and records which phase it hit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import BIN, run_cli, tree_digest
from reliability_log import record

pytestmark = pytest.mark.any_line  # no LeRobot in what it proves: run on one line only

TRIALS = int(os.environ.get("LEROBOT_LOCAL_KILL_TRIALS", "20"))
TRIGGERS = ("data", "videos", "meta", "time")


def _tmp_of(out: Path) -> Path:
    return out.with_name(f".{out.name}.lerobot-local-tmp")


def _phase(out: Path) -> str:
    """Which phase a conversion was in, judged from what it left behind."""
    tmp = _tmp_of(out)
    if out.exists():
        return "finished"
    for name, phase in (("meta", "metadata"), ("videos", "video"), ("data", "data")):
        if (tmp / name).exists():
            return phase
    return "start-up" if not tmp.exists() else "planning"


def _kill_during(src: Path, out: Path, trigger: str, delay_s: float, duration: float) -> str:
    proc = subprocess.Popen(
        [str(BIN / "lerobot-convert-local"), f"--input={src}", f"--output={out}", "--verify=none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    started = time.perf_counter()
    watched = _tmp_of(out) / trigger
    while proc.poll() is None:
        if trigger == "time" and time.perf_counter() - started >= duration * delay_s:
            break
        if trigger != "time" and watched.exists():
            time.sleep(delay_s)
            break
        time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return _phase(out)


def test_kill_9_at_any_moment_then_rerun(tmp_path: Path) -> None:
    from lerobot_local.demo.synthetic_v21 import write_v21_dataset

    src = write_v21_dataset(tmp_path / "src", 40, length=(20, 40), seed=11)
    before = tree_digest(src)
    reference = tmp_path / "reference"
    started = time.perf_counter()
    done = run_cli("lerobot-convert-local", f"--input={src}", f"--output={reference}", "--verify=none")
    duration = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    expected = tree_digest(reference)

    phases: Counter[str] = Counter()

    def trial(n: int, trigger: str, delay: float) -> None:
        out = tmp_path / f"out{n}"
        phases[_kill_during(src, out, trigger, delay, duration)] += 1
        assert tree_digest(src) == before, f"trial {n}: the source changed"
        if out.exists():  # only ever the complete, renamed result
            assert tree_digest(out) == expected
        rerun = run_cli(
            "lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none", "--overwrite=true"
        )
        assert rerun.returncode == 0, rerun.stderr
        assert tree_digest(out) == expected, f"trial {n}: rerun differs from an uninterrupted run"
        assert not _tmp_of(out).exists()

    for n in range(TRIALS):
        trigger = TRIGGERS[n % len(TRIGGERS)]
        round_ = n // len(TRIGGERS)
        trial(n, trigger, 0.3 + 0.15 * round_ if trigger == "time" else 0.002 * round_)
    # A loaded machine can run a whole short phase between two polls: aim again at any phase not hit yet.
    wanted = {"data": "data", "video": "videos", "metadata": "meta"}
    n = TRIALS
    while n < 3 * TRIALS and (missing := [p for p in wanted if p not in phases]):
        trial(n, wanted[missing[0]], 0.0)
        n += 1
    assert set(wanted) <= set(phases), phases
    record(
        "faults",
        "converter killed with SIGKILL (phases hit: "
        + ", ".join(f"{phase} {count}" for phase, count in sorted(phases.items()))
        + ")",
        "source byte-identical, no partial output, rerun equals an uninterrupted run",
        "as expected in every trial",
        trials=n,
    )
