"""GPU table: training precision with the plugin active vs ``LEROBOT_LOCAL_DISABLE=1``, native lerobot-train.

Run on a CUDA machine with LeRobot and lerobot-local installed (offline is fine):

    python benchmarks/gpu_precision.py --work /tmp/gpu --steps 30 --json benchmarks/results/gpu_precision.json

For each preset (local_grasp, local_grasp_lowmem) and each mode it trains the full-size SmolVLA of
``gpu_smolvla.py`` (same dataset, same locally written SmolVLM2-500M-shaped backbone) through LeRobot's own
training entry point, side by side:

- ``plugin``: lerobot-local active. Its ``precision`` check says which precision the run really trains in
  and, where LeRobot ignores ``policy.use_amp`` (0.4.x), turns it into accelerate mixed precision.
- ``disabled``: ``LEROBOT_LOCAL_DISABLE=1``, LeRobot as if the plugin were not installed.

Each run is the console script's own code (``from lerobot.scripts.lerobot_train import main;
sys.exit(main())``, ``sys.argv[0]`` = the installed ``lerobot-train``) in a fresh process, plus two
observations that change nothing: the ``mixed_precision`` of the Accelerator LeRobot builds, and at exit
``torch.cuda.max_memory_allocated()`` (the figure LeRobot >= 0.5 logs as ``mem_gb``; 0.4.x logs none).
``--cap_gb`` also runs the low-memory preset in every mode under a hard per-process cap
(``torch.cuda.set_per_process_memory_fraction``), as a card of that size would impose.
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
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, lerobot_version, print_table
from gpu_smolvla import PRESETS, GpuMemoryPeak, pyav_ffmpeg_library_path, train_config

MODES = ("plugin", "disabled")
RUNNER = """
import atexit, sys
cap_gb = float(sys.argv[1])
import accelerate, torch
init = accelerate.Accelerator.__init__
def observed_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    print(f"bench: accelerator.mixed_precision={self.mixed_precision}", flush=True)
accelerate.Accelerator.__init__ = observed_init
def report():
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        print(f"bench: torch_max_allocated_gb={torch.cuda.max_memory_allocated() / 2**30:.3f} "
              f"torch_max_reserved_gb={torch.cuda.max_memory_reserved() / 2**30:.3f}", flush=True)
atexit.register(report)
if cap_gb > 0:
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gb * 2**30 / total))
sys.argv = sys.argv[2:]
from lerobot.scripts.lerobot_train import main
sys.exit(main())
"""
PRECISION_ROW = re.compile(r"^\s+precision\s+(OK|WARNING|ERROR|SKIPPED)\s+(.+)$", re.MULTILINE)


def prepare(work: Path, episodes: int, verify: str) -> Path:
    """``gpu_smolvla.prepare`` with the converter's ``--verify`` mode chosen (see ``--video_backend``)."""
    from lerobot_local.demo.synthetic_v21 import write_v21_dataset

    v21, v30 = work / "grasp_v21", work / "grasp_v30"
    if not v30.is_dir():
        shutil.rmtree(v21, ignore_errors=True)
        write_v21_dataset(v21, episodes, length=(60, 90), height=480, width=640)
        cmd = [str(BIN / "lerobot-convert-local"), f"--input={v21}", f"--output={v30}", "--progress=false"]
        subprocess.run([*cmd, f"--verify={verify}"], check=True)
    return v30


def run_mode(
    config: dict[str, Any], work: Path, name: str, mode: str, cap_gb: float, log_file: Path | None
) -> dict[str, Any]:
    """Train ``config`` once in ``mode`` and return the figures read from its log and nvidia-smi."""
    path = work / f"{name}.json"
    path.write_text(json.dumps(config, indent=2))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("ACCELERATE_MIXED_PRECISION", None)  # the launcher sets none: only the plugin may
    if mode == "disabled":
        env["LEROBOT_LOCAL_DISABLE"] = "1"
    else:
        env.pop("LEROBOT_LOCAL_DISABLE", None)
    cmd = [sys.executable, "-c", RUNNER, str(cap_gb), str(BIN / "lerobot-train"), f"--config_path={path}"]
    started = time.perf_counter()
    with GpuMemoryPeak() as memory:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = proc.stdout
    (work / f"{name}.log").write_text(log)
    if log_file is not None:
        with log_file.open("a") as out:
            out.write(f"\n===== {name} (mode {mode}, rc {proc.returncode}) =====\n{log}")
    updt = [float(x) for x in re.findall(r"updt_s:([0-9.]+)", log)]
    data = [float(x) for x in re.findall(r"data_s:([0-9.]+)", log)]
    mem_gb = [float(x) for x in re.findall(r"mem_gb:([0-9.]+)", log)]  # LeRobot >= 0.5 logs it
    allocated = re.findall(r"torch_max_allocated_gb=([0-9.]+)", log)
    reserved = re.findall(r"torch_max_reserved_gb=([0-9.]+)", log)
    row = PRECISION_ROW.search(log)
    s_per_step = round(statistics.median(updt[1:] or updt), 3) if updt else None
    batch = int(config["batch_size"])
    manifests = sorted(Path(config["output_dir"]).glob("checkpoints/*/lerobot_local_manifest.json"))
    return {
        "mode": mode,
        "cap_gb": cap_gb or None,
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - started, 1),
        "batch_size": batch,
        "steps_logged": len(updt),
        "updt_s": updt,
        "s_per_step": s_per_step,
        "samples_per_s": round(batch / s_per_step, 1) if s_per_step else None,
        "data_s_per_step": round(statistics.median(data[1:] or data), 3) if data else None,
        "loss": [float(x) for x in re.findall(r"loss:([0-9.]+)", log)],
        "peak_gpu_mb": memory.peak_mb,
        "lerobot_mem_gb": max(mem_gb) if mem_gb else None,
        "torch_max_allocated_gb": float(allocated[-1]) if allocated else None,
        "torch_max_reserved_gb": float(reserved[-1]) if reserved else None,
        "accelerator_mixed_precision": re.findall(r"accelerator\.mixed_precision=(\w+)", log),
        "checks_table": "lerobot-local before-train checks" in log,
        "precision_row": f"{row.group(1)} {row.group(2).strip()}" if row else None,
        "disabled_warning": "lerobot-local is disabled" in log,
        "manifests": len(manifests),
        "oom": "OutOfMemoryError" in log or "CUDA out of memory" in log,
        "last_lines": log.strip().splitlines()[-3:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-gpu"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to train")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: plugin, disabled")
    parser.add_argument("--cap_gb", type=float, default=12.0, help="0: no capped low-memory runs")
    parser.add_argument("--budget_s", type=float, default=0, help="skip runs that would end past this")
    parser.add_argument(
        "--video_backend",
        default="",
        help="dataset.video_backend instead of the preset's; torchcodec also gets PyAV's FFmpeg on its path",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--log_file", type=Path, default=None, help="append every run's full log here")
    # CPU smoke test of the benchmark itself: --device cpu --vlm_size tiny --image_size 64
    parser.add_argument("--device", default="cuda", help=argparse.SUPPRESS)
    parser.add_argument("--vlm_size", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--image_size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    started = time.perf_counter()
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}; known: {', '.join(MODES)}")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.video_backend == "torchcodec":  # no system FFmpeg on the GPU machine (see gpu_smolvla.py)
        path = pyav_ffmpeg_library_path(args.work)
        if path:  # inherited by the converter, lerobot-train and its data-loader workers
            paths = (path, os.environ.get("LD_LIBRARY_PATH"))
            os.environ["LD_LIBRARY_PATH"] = ":".join(x for x in paths if x)
    # The converter's verification decodes with LeRobot's "pyav" backend, which LeRobot 0.4.x implements
    # with torchvision.io.VideoReader, gone from torchvision >= 0.26: with torchcodec it is skipped.
    dataset = prepare(args.work, args.episodes, "none" if args.video_backend == "torchcodec" else "quick")
    vlm = build_tiny_smolvlm(args.work / f"smolvlm2_500m_shaped_{args.vlm_size}", size=args.vlm_size)
    cuda = torch.cuda.is_available()
    results: dict[str, Any] = {
        "lerobot": lerobot_version(),
        "lerobot_local": _version("lerobot-local"),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "accelerate": _version("accelerate"),
        "torchvision": _version("torchvision"),
        "torchcodec": _version("torchcodec"),
        "av": _version("av"),
        "video_backend": args.video_backend or None,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpu_total_mb": torch.cuda.get_device_properties(0).total_memory // 2**20 if cuda else None,
        "steps": args.steps,
        "setup_s": round(time.perf_counter() - started, 1),
        "train": {},
        "skipped": [],
    }
    plan = [(p, m, 0.0) for p in args.presets.split(",") if p for m in modes]
    if args.cap_gb:
        plan += [("local_grasp_lowmem", m, args.cap_gb) for m in modes]
    for preset, mode, cap in plan:
        name = f"{preset}_{mode}" + (f"_cap{cap:g}gb" if cap else "")
        walls = [r["wall_s"] for r in results["train"].values()]
        if args.budget_s and walls and time.perf_counter() - started + max(walls) > args.budget_s:
            results["skipped"].append(name)
            print(f"{name}: skipped, it would end past --budget_s={args.budget_s:g}", flush=True)
            continue
        config = train_config(preset, dataset, vlm, args.work / f"run_{name}", args.steps)
        config["policy"]["device"] = args.device
        if args.video_backend:
            config["dataset"]["video_backend"] = args.video_backend
        if args.image_size:
            config["policy"]["resize_imgs_with_padding"] = [args.image_size, args.image_size]
        result = run_mode(config, args.work, name, mode, cap, args.log_file)
        results["train"][name] = {"preset": preset, **result}
        print(name, json.dumps(results["train"][name]), flush=True)
        if args.json:  # after every run, so a run cut short still leaves the finished ones
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        [
            r["preset"] + (f", cap {r['cap_gb']:g} GiB" if r["cap_gb"] else ""),
            r["mode"],
            "ok" if r["returncode"] == 0 else ("OOM" if r["oom"] else f"rc={r['returncode']}"),
            ",".join(r["accelerator_mixed_precision"]) or "?",
            r["precision_row"] or ("(no check table)" if not r["checks_table"] else "?"),
            r["s_per_step"],
            r["samples_per_s"],
            f"{r['peak_gpu_mb'] / 1024:.1f}",
            r["lerobot_mem_gb"] if r["lerobot_mem_gb"] is not None else r["torch_max_allocated_gb"],
            r["manifests"],
        ]
        for r in results["train"].values()
    ]
    if rows:
        headers = ["preset", "mode", "result", "accelerate", "precision row", "s/step", "samples/s"]
        print_table([*headers, "peak GiB", "mem_gb", "manifests"], rows)
    return 0


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
