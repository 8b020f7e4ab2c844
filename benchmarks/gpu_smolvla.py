"""GPU table: full-size SmolVLA (SmolVLM2-500M architecture, random weights) through the native lerobot-train.

Run on a CUDA machine with LeRobot and lerobot-local installed (offline is fine):

    python benchmarks/gpu_smolvla.py --work /tmp/gpu --steps 40 --json benchmarks/results/gpu.json

For each preset (local_grasp, local_grasp_lowmem) it generates a grasp-like dataset, converts it with
lerobot-convert-local, trains with the preset's settings (policy.type=smolvla + a locally written
SmolVLM2-500M-shaped backbone, load_vlm_weights=false, since smolvla_base cannot be downloaded here) and
reports s/step (median of LeRobot's ``updt_s`` after warm-up) and peak GPU memory (nvidia-smi, what a
smaller card must hold, CUDA context included). ``--cap_gb`` also runs the low-memory preset under a hard
per-process cap (``torch.cuda.set_per_process_memory_fraction``) to prove it fits a card of that size.
Then it measures data-loader frames/s of LeRobotDataset with the pyav and torchcodec video backends.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, lerobot_version, print_table

PRESETS = ("local_grasp", "local_grasp_lowmem")
CAP_RUNNER = """
import runpy, sys, torch
cap_gb = float(sys.argv[1])
total = torch.cuda.get_device_properties(0).total_memory
torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gb * 2**30 / total))
sys.argv = ["lerobot-train", *sys.argv[2:]]
runpy.run_module("lerobot.scripts.lerobot_train", run_name="__main__")
"""


class GpuMemoryPeak:
    """Poll nvidia-smi's used memory of every GPU every 100 ms; ``peaks_mb`` holds the highest readings."""

    def __init__(self) -> None:
        self.peaks_mb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @property
    def peak_mb(self) -> int:
        return self.peaks_mb.get(0, 0)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=index,memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                ).stdout
            except FileNotFoundError:  # no NVIDIA driver here (a CPU smoke test)
                return
            for line in out.strip().splitlines():
                index, used = (x.strip() for x in line.split(","))
                if index.isdigit() and used.isdigit():
                    self.peaks_mb[int(index)] = max(self.peaks_mb.get(int(index), 0), int(used))
            time.sleep(0.1)

    def __enter__(self) -> GpuMemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def prepare(work: Path, episodes: int) -> Path:
    """A converted grasp-like v3.0 dataset (480x640, 2 cameras)."""
    from lerobot_local.demo.synthetic_v21 import write_v21_dataset

    v21, v30 = work / "grasp_v21", work / "grasp_v30"
    if not v30.is_dir():
        shutil.rmtree(v21, ignore_errors=True)
        write_v21_dataset(v21, episodes, length=(60, 90), height=480, width=640)
        subprocess.run(
            [str(BIN / "lerobot-convert-local"), f"--input={v21}", f"--output={v30}", "--progress=false"],
            check=True,
        )
    return v30


def full_size_backbone(work: Path) -> Path:
    """A SmolVLM2-500M-shaped backbone folder (random weights), written locally."""
    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    return build_tiny_smolvlm(work / "smolvlm2_500m_shaped", size="full")


def train_config(preset: str, dataset: Path, vlm: Path, out: Path, steps: int) -> dict[str, Any]:
    from lerobot_local.presets import get_preset

    config = get_preset(preset).to_config(str(dataset), output_dir=str(out))
    policy = config["policy"]
    policy.pop("path", None)
    policy.update(type="smolvla", vlm_model_name=str(vlm), load_vlm_weights=False, device="cuda")
    config.update({"steps": steps, "save_freq": steps, "log_freq": 5})
    config["lerobot_local"]["keep_last_n"] = 1
    return config


def run_training(
    config: dict[str, Any], work: Path, name: str, cap_gb: float | None = None, processes: int = 1
) -> dict[str, Any]:
    path = work / f"{name}.json"
    shutil.rmtree(config["output_dir"], ignore_errors=True)
    path.write_text(json.dumps(config, indent=2))
    if processes > 1:  # one process per GPU through accelerate (NCCL), as users launch it
        cmd = [str(BIN / "accelerate"), "launch", "--multi_gpu", f"--num_processes={processes}"]
        cmd += ["--num_machines=1", "--dynamo_backend=no"]
        cmd += [str(BIN / "lerobot-train"), f"--config_path={path}"]
    elif cap_gb is None:
        cmd = [str(BIN / "lerobot-train"), f"--config_path={path}"]
    else:
        cmd = [sys.executable, "-c", CAP_RUNNER, str(cap_gb), f"--config_path={path}"]
    started = time.perf_counter()
    with GpuMemoryPeak() as memory:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    (work / f"{name}.log").write_text(log)
    updt = [float(x) for x in re.findall(r"updt_s:([0-9.]+)", log)]
    data = [float(x) for x in re.findall(r"data_s:([0-9.]+)", log)]
    torch_gb = [float(x) for x in re.findall(r"mem_gb:([0-9.]+)", log)]  # LeRobot >= 0.5 logs it
    manifests = sorted(Path(config["output_dir"]).glob("checkpoints/*/lerobot_local_manifest.json"))
    return {
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - started, 1),
        "s_per_step": round(statistics.median(updt[1:] or updt), 3) if updt else None,
        "data_s_per_step": round(statistics.median(data[1:] or data), 3) if data else None,
        "peak_gpu_mb": memory.peak_mb,
        "peak_gpu_mb_per_gpu": memory.peaks_mb,
        "processes": processes,
        "check_tables": log.count("lerobot-local before-train checks"),
        "rank_messages": re.findall(r"lerobot-local: rank \d+/\d+ [^\n]*", log),
        "lerobot_mem_gb": max(torch_gb) if torch_gb else None,
        "oom": "OutOfMemoryError" in log or "CUDA out of memory" in log,
        "checks_table": "lerobot-local before-train checks" in log,
        "manifests": len(manifests),
        "last_lines": log.strip().splitlines()[-3:],
    }


FFMPEG_LIBRARIES = ("avutil", "avcodec", "avformat", "avdevice", "avfilter", "swscale", "swresample")


def pyav_ffmpeg_library_path(work: Path) -> str | None:
    """An LD_LIBRARY_PATH under which torchcodec finds the FFmpeg that PyAV's wheel bundles.

    torchcodec links against FFmpeg's shared libraries by their usual names (``libavutil.so.59``); PyAV's
    wheel ships the same libraries renamed (``av.libs/libavutil-<hash>.so.59.x``). A folder of symbolic
    links with the usual names, ahead of ``av.libs`` on the path, lets both backends decode with one and the
    same FFmpeg build (a fair comparison) on machines without a system FFmpeg.
    """
    import av

    libs = Path(av.__file__).resolve().parent.parent / "av.libs"
    links = work / "ffmpeg_from_pyav"
    links.mkdir(parents=True, exist_ok=True)
    for name in FFMPEG_LIBRARIES:
        for lib in libs.glob(f"lib{name}-*.so.*"):
            major = lib.name.split(".so.")[1].split(".")[0]
            link = links / f"lib{name}.so.{major}"
            link.unlink(missing_ok=True)
            link.symlink_to(lib)
    return f"{links}:{libs}" if any(links.iterdir()) else None


def loader_in_subprocess(dataset: Path, backend: str, work: Path, workers: int) -> dict[str, Any]:
    """Measure one backend in a fresh process; retry torchcodec on PyAV's FFmpeg if it finds none."""
    cmd = [
        sys.executable,
        __file__,
        "--loader",
        backend,
        "--dataset",
        str(dataset),
        "--workers",
        str(workers),
    ]
    attempts: list[tuple[str, dict[str, str]]] = [
        ("bundled with PyAV" if backend == "pyav" else "system", {})
    ]
    if backend == "torchcodec":
        path = pyav_ffmpeg_library_path(work)
        if path:
            attempts.append(("bundled with PyAV", {"LD_LIBRARY_PATH": path}))
    result: dict[str, Any] = {}
    for ffmpeg, env in attempts:
        out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
        lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
        result = json.loads(lines[-1]) if lines else {"backend": backend, "error": out.stderr[-300:]}
        result["ffmpeg"] = ffmpeg
        if "frames_per_s" in result:
            break
    return result


def loader_frames_per_s(
    dataset: Path, backend: str, workers: int = 8, batches: int = 20, batch_size: int = 16
) -> dict[str, Any]:
    """Decoded camera frames per second through LeRobotDataset + a DataLoader of ``workers`` workers."""
    import torch

    from lerobot_local import compat

    try:
        ds = compat.load_lerobot_dataset(dataset, video_backend=backend)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers)
        batches = min(batches, len(loader) - 1)  # one pass over the data at most
        it = iter(loader)
        next(it)  # workers started, first files opened
        started = time.perf_counter()
        for _ in range(batches):
            next(it)
        seconds = time.perf_counter() - started
    except Exception as exc:
        lines = [x for x in str(exc).strip().splitlines() if x.strip()]
        return {"backend": backend, "error": f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300]}
    frames = batches * batch_size * len(ds.meta.video_keys)
    return {"backend": backend, "frames_per_s": round(frames / seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-gpu"))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--cap_gb", type=float, default=12.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--loader_only", action="store_true", help="skip the training runs")
    parser.add_argument("--multi_gpu", type=int, default=0, help="also train local_grasp on N GPUs")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to train")
    parser.add_argument("--workers", type=int, default=8, help="data-loader workers")
    parser.add_argument("--loader", help=argparse.SUPPRESS)  # internal: measure one backend, print JSON
    parser.add_argument("--dataset", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loader:
        print(json.dumps(loader_frames_per_s(args.dataset, args.loader, args.workers)), flush=True)
        return 0
    import torch

    args.work.mkdir(parents=True, exist_ok=True)
    dataset = prepare(args.work, args.episodes)
    vlm = None if args.loader_only else full_size_backbone(args.work)
    results: dict[str, Any] = {
        "lerobot": lerobot_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "gpu_total_mb": torch.cuda.get_device_properties(0).total_memory // 2**20
        if torch.cuda.is_available()
        else None,
        "workers": args.workers,
        "steps": args.steps,
        "train": {},
    }
    for preset in () if args.loader_only else [p for p in args.presets.split(",") if p]:
        config = train_config(preset, dataset, vlm, args.work / f"run_{preset}", args.steps)
        results["train"][preset] = run_training(config, args.work, preset)
        print(preset, json.dumps(results["train"][preset]), flush=True)
    if args.cap_gb and not args.loader_only:
        name = f"local_grasp_lowmem_cap{args.cap_gb:g}gb"
        config = train_config("local_grasp_lowmem", dataset, vlm, args.work / f"run_{name}", args.steps)
        results["train"][name] = run_training(config, args.work, name, cap_gb=args.cap_gb)
        print(name, json.dumps(results["train"][name]), flush=True)
    if args.multi_gpu > 1:
        name = f"local_grasp_{args.multi_gpu}gpu"
        config = train_config("local_grasp", dataset, vlm, args.work / f"run_{name}", args.steps)
        results["train"][name] = run_training(config, args.work, name, processes=args.multi_gpu)
        print(name, json.dumps(results["train"][name]), flush=True)
    backends = () if args.multi_gpu else ("pyav", "torchcodec")
    results["loader"] = [loader_in_subprocess(dataset, b, args.work, args.workers) for b in backends]
    rows = [
        [
            name,
            "ok" if r["returncode"] == 0 else ("OOM" if r["oom"] else f"rc={r['returncode']}"),
            r["s_per_step"],
            r["data_s_per_step"],
            " / ".join(f"{mb / 1024:.1f}" for _, mb in sorted(r["peak_gpu_mb_per_gpu"].items()) if mb > 600)
            or f"{r['peak_gpu_mb'] / 1024:.1f}",
            r["manifests"],
        ]
        for name, r in results["train"].items()
    ]
    if rows:
        print_table(["run", "result", "s/step", "data s/step", "peak GPU GiB", "manifests"], rows)
    if results["loader"]:
        print_table(
            ["video backend", "FFmpeg", "frames/s"],
            [[r["backend"], r["ffmpeg"], r.get("frames_per_s", r.get("error"))] for r in results["loader"]],
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
