"""Shared fixtures: the network is closed for every test, real datasets are copied to tmp_path."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE = REPO / "examples" / "sample_grasp_v21"
BIN = Path(sys.executable).parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Every Python subprocess (lerobot-train, the converter, accelerate's workers) gets tests/netguard on its
# path: its sitecustomize refuses non-loopback connections and writes them to this file.
NETGUARD_LOG = Path(
    os.environ.setdefault("LEROBOT_LOCAL_NETGUARD_LOG", f"/tmp/lerobot-local-netguard-{os.getpid()}.log")
)
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(REPO / "tests" / "netguard"), os.environ.get("PYTHONPATH")])
)


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX path
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection attempt to a non-loopback address, here or in a subprocess, fails the test."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if not _is_loopback(address):
            pytest.fail(f"network access attempted: connect({address!r})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded)
    before = NETGUARD_LOG.stat().st_size if NETGUARD_LOG.exists() else 0
    yield
    if NETGUARD_LOG.exists() and NETGUARD_LOG.stat().st_size > before:
        with NETGUARD_LOG.open(encoding="utf-8") as fh:
            fh.seek(before)
            attempts = fh.read()
        pytest.fail(f"a subprocess attempted network access:\n{attempts}")


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (to prove a source was not modified)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def make_read_only(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.fixture
def copy_dataset(tmp_path: Path):
    """Copy a bundled dataset (fixture name or 'sample') into tmp_path and return its path."""
    created: list[Path] = []

    def _copy(name: str, dest: str | None = None) -> Path:
        src = SAMPLE if name == "sample" else FIXTURES / name
        target = tmp_path / (dest or name)
        shutil.copytree(src, target)
        created.append(target)
        return target

    yield _copy
    for path in created:
        if path.exists():
            make_writable(path)


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run one of the installed console scripts (or a python -m) as a real subprocess."""
    command = [str(BIN / args[0]), *args[1:]] if not args[0].startswith("-") else [sys.executable, *args]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def lerobot_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("lerobot")


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin built and installed as a real distribution into its own directory."""
    target = tmp_path_factory.mktemp("example_site")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(REPO / "tests/plugins/lerobot_local_example"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return target


@pytest.fixture(scope="session")
def v30_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The v2.1 video fixture converted to v3.0 once per session. Read it only: copy it to change it."""
    out = tmp_path_factory.mktemp("v30_shared") / "grasp_v30"
    src = FIXTURES / "v21_video"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--verify=none")
    assert proc.returncode == 0, proc.stderr
    return out


@functools.cache
def simulator_unsupported() -> str | None:
    """Why LeRobot cannot load the SO-101 simulator here (None when it can). Asked once, in a fresh process:
    the recorder imports the simulator without its LeRobot registration (sim.so101.import_package), after
    which this process can no longer tell."""
    code = "import json; from lerobot_local import compat; print(json.dumps(compat.register_env_plugins()))"
    proc = run_cli("-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    failed = json.loads(proc.stdout.strip().splitlines()[-1]).get("lerobot_env_so101")
    if failed:
        return f"lerobot-env-so101 does not register with this LeRobot ({failed}); it needs LeRobot 0.6+"
    return None


@pytest.fixture(scope="session")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The bench of ``make bench-sim`` in miniature, shared by the smoke and closed-loop tests: 2 expert
    episodes recorded in the SO-101 simulator (v2.1, by the recorder's command line), converted, and 2 steps
    of configs/sim_act.json through the real lerobot-train with validation on (1 episode held out)."""
    work = tmp_path_factory.mktemp("sim_run")
    v21, v30, run = work / "v21", work / "v30", work / "run"
    record = run_cli("-m", "lerobot_local.sim.record", f"--output={v21}", "--episodes=2", "--progress=false")
    assert record.returncode == 0, record.stderr[-3000:]
    convert = run_cli("lerobot-convert-local", f"--input={v21}", f"--output={v30}", "--progress=false")
    assert convert.returncode == 0, convert.stderr[-3000:]
    train = run_cli(
        "lerobot-train",
        f"--config_path={REPO / 'configs' / 'sim_act.json'}",
        f"--dataset.root={v30}",
        f"--output_dir={run}",
        "--steps=2",
        "--save_freq=2",
        "--log_freq=1",
        "--batch_size=8",
        "--num_workers=0",
    )
    assert train.returncode == 0, train.stderr[-3000:]
    return SimpleNamespace(v21=v21, v30=v30, run=run, record=record, convert=convert, train=train)
