"""The data workers' torchcodec path (issue 25) gives LeRobot's pyav frames, and says when it cannot run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lerobot_local import compat, sizing

needs_pyav_decoder = pytest.mark.skipif(
    compat.lerobot_version().startswith("0.4") or importlib.util.find_spec("torchcodec") is None,
    reason="LeRobot 0.4.x decodes pyav through torchvision and forks its workers: the path does not apply",
)

# What a data worker LeRobot spawns does: a fresh interpreter (the .pth activation hooks LeRobot's video
# module as it is imported), LeRobot's dataset with the pyav backend, uint8 frames as the train loop asks.
WORKER = """
import json, sys, torch
from lerobot.datasets.lerobot_dataset import LeRobotDataset
import lerobot.datasets.video_utils as vu
root, out = sys.argv[1], sys.argv[2]
ds = LeRobotDataset("local/x", root=root, video_backend="pyav", return_uint8=True)
frames = {str(i): {k: ds[i][k] for k in ds.meta.camera_keys} for i in json.loads(sys.argv[3])}
torch.save(frames, out)
print(json.dumps({"redirected": bool(getattr(vu.decode_video_frames_pyav, "__lerobot_local__", False))}))
"""


def _worker(root: Path, out: Path, indices: list[int], env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(root), str(out), json.dumps(indices)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_pyav_decoder
def test_worker_torchcodec_gives_lerobots_pyav_frames(v30_dataset: Path, tmp_path: Path) -> None:
    path = compat.pyav_ffmpeg_library_path(tmp_path / "cache")
    assert path is not None, "PyAV's wheel carries its FFmpeg libraries"
    base = {k: v for k, v in os.environ.items() if k != compat.WORKER_DECODER_ENV}
    fast_env = {**base, compat.WORKER_DECODER_ENV: "torchcodec", "LD_LIBRARY_PATH": path}
    indices = [0, 1, 7, 20, 33, 41, 58]
    plain = _worker(v30_dataset, tmp_path / "pyav.pt", indices, base)
    fast = _worker(v30_dataset, tmp_path / "fast.pt", indices, fast_env)
    assert plain == {"redirected": False}
    assert fast == {"redirected": True}, "the worker must decode with torchcodec, not fall back silently"
    a, b = torch.load(tmp_path / "pyav.pt"), torch.load(tmp_path / "fast.pt")
    assert a.keys() == b.keys()
    for i in a:
        for key in a[i]:
            assert a[i][key].dtype == b[i][key].dtype == torch.uint8
            assert torch.equal(a[i][key], b[i][key]), f"frame {i} of {key} differs"


@needs_pyav_decoder
def test_worker_without_ffmpeg_keeps_pyav(v30_dataset: Path, tmp_path: Path) -> None:
    """The marker alone (no FFmpeg on the path: torchcodec cannot load) leaves LeRobot's pyav decoder."""
    if compat.torchcodec_loads() is None:
        pytest.skip("torchcodec loads with a system FFmpeg here")
    env = {**os.environ, compat.WORKER_DECODER_ENV: "torchcodec"}
    env.pop("LD_LIBRARY_PATH", None)
    assert _worker(v30_dataset, tmp_path / "x.pt", [0], env) == {"redirected": False}


def test_fallbacks_are_announced(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    defaults = {"dataloader_multiprocessing_context": None}
    monkeypatch.delenv(compat.WORKER_DECODER_ENV, raising=False)
    forked = sizing.worker_decoder("pyav", False, [], {}, defaults)
    assert forked.startswith("pyav (") and "forks its data workers" in forked
    assert sizing.worker_decoder("pyav", True, [], {}, defaults) == "pyav (set on the command line)"
    monkeypatch.setattr(compat, "torchcodec_loads", lambda: "OSError: no libavutil")
    monkeypatch.setattr(compat, "pyav_ffmpeg_library_path", lambda cache: None)
    spawned = {"dataloader_multiprocessing_context": "spawn"}
    said = sizing.worker_decoder("pyav", False, [], {}, spawned)
    assert said == "pyav (torchcodec cannot load here and PyAV's wheel carries no FFmpeg libraries)"
    monkeypatch.setattr(compat, "pyav_ffmpeg_library_path", lambda cache: "/nowhere")
    monkeypatch.setattr(
        compat, "torchcodec_loads_with", lambda env: "RuntimeError: Could not load libtorchcodec"
    )
    with caplog.at_level("WARNING", logger="lerobot_local"):
        said = sizing.worker_decoder("pyav", False, [], {}, spawned)
    assert said.startswith("pyav (torchcodec cannot load: RuntimeError")
    assert "the data workers decode with pyav" in caplog.text
    assert compat.WORKER_DECODER_ENV not in os.environ
