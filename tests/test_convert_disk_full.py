"""Disk full and file-size limits during conversion: a clear error, no partial output, source untouched."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, tree_digest
from reliability_log import record

pytestmark = pytest.mark.any_line  # no LeRobot in what it proves: run on one line only


def _convert(src: Path, out: Path, prefix: list[str] | None = None, fsize: int | None = None):
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    cmd = [*(prefix or []), str(BIN / "lerobot-convert-local"), f"--input={src}", f"--output={out}"]
    return subprocess.run(
        [*cmd, "--verify=none", "--progress=false"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        preexec_fn=limit if fsize else None,
        timeout=300,
    )


def _assert_clean_failure(proc: subprocess.CompletedProcess[str], src: Path, before: dict, out: Path) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "the source is untouched" in proc.stderr and "--output" in proc.stderr
    assert not out.exists() and not out.with_name(f".{out.name}.lerobot-local-tmp").exists()
    assert tree_digest(src) == before


PHASES = ("data", "videos", "meta")


def _limits_hitting_each_phase(src: Path, tmp_path: Path) -> dict[str, int]:
    """File-size limits that first fail in the data, then the video, then the metadata phase."""
    ref = tmp_path / "reference"
    assert _convert(src, ref).returncode == 0
    limits, below = {}, 0
    for phase in PHASES:
        biggest = max(p.stat().st_size for p in (ref / phase).rglob("*") if p.is_file())
        if biggest - 1 > below:
            limits[phase] = biggest - 1
        below = max(below, biggest)
    shutil.rmtree(ref)
    return limits


def test_file_size_limit_in_every_phase(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("sample")
    before = tree_digest(src)
    limits = _limits_hitting_each_phase(src, tmp_path)
    assert set(limits) == set(PHASES), limits
    for phase, limit in limits.items():
        out = tmp_path / f"out_{phase}"
        proc = _convert(src, out, fsize=limit)
        _assert_clean_failure(proc, src, before, out)
        assert "a file-size limit was reached" in proc.stderr and f"/{phase}/" in proc.stderr, proc.stderr
    record(
        "faults",
        "conversion under a file-size limit (RLIMIT_FSIZE) hit in the data, video and metadata phases",
        "exit 1, one clear sentence naming the file, no partial output, source untouched",
        "as expected",
        trials=len(limits),
    )


def test_disk_full_on_a_small_tmpfs(copy_dataset, tmp_path: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("needs root to mount a tmpfs in a private mount namespace (unshare -m)")
    src = copy_dataset("sample")
    before = tree_digest(src)
    disk = tmp_path / "small_disk"
    disk.mkdir()
    out = disk / "out"
    mount = ["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o size=64k tmpfs "{disk}" && exec "$@"', "sh"]
    proc = _convert(src, out, prefix=mount)
    assert "the disk is full" in proc.stderr, proc.stderr
    _assert_clean_failure(proc, src, before, out)
    record(
        "faults",
        "conversion onto a 64 kB tmpfs (disk full)",
        "exit 1, one clear sentence, no partial output, source untouched",
        "as expected",
    )
