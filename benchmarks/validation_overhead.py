"""Cost of the validation at every checkpoint, as a share of the training wall time of a preset.

Run where the preset trains (a CUDA machine with LeRobot and lerobot-local installed; offline is fine):

    python benchmarks/validation_overhead.py --json benchmarks/results/validation_overhead.json

It trains the full-size SmolVLA of ``gpu_smolvla.py`` (a locally written SmolVLM2-500M-shaped backbone,
random weights) with the preset's settings and ``lerobot_local.validation.holdout`` through the native
lerobot-train for ``--steps`` steps with two checkpoints, and reads from the run:

- s/step: the median of LeRobot's ``updt_s + data_s`` after the first log window;
- each validation's cost from ``lerobot_local_metrics.jsonl`` (``total_seconds``: opening the held-out
  episodes, loss and action error on up to ``max_samples`` frames, the trajectories kept for the report) and
  the report's writing time from the log.

The overhead of a whole preset run is then (first validation + later validations x (checkpoints - 1) +
reports) / (preset steps x s/step): the preset's own steps and save_freq (local_grasp: 20k steps, a
checkpoint every 5k, so 4 validations). ``--device cpu --vlm_size tiny`` measures the same ratio on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, lerobot_version, print_table, write_json
from gpu_precision import prepare
from gpu_smolvla import pyav_ffmpeg_library_path, train_config


def run(args: argparse.Namespace, dataset: Path, vlm: Path) -> dict[str, Any]:
    from lerobot_local.presets import get_preset

    preset = get_preset(args.preset).to_config(str(dataset))
    out = args.work / f"run_{args.preset}"
    config = train_config(args.preset, dataset, vlm, out, args.steps)
    config["policy"]["device"] = args.device
    config["dataset"]["video_backend"] = args.video_backend
    config.update(save_freq=args.steps // 2, log_freq=5)
    config["lerobot_local"]["validation"] = {"holdout": args.holdout, "max_samples": args.max_samples}
    if args.vlm_size == "tiny":
        config["policy"]["resize_imgs_with_padding"] = [64, 64]
    path = args.work / f"{args.preset}_validation.json"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    path.write_text(json.dumps(config, indent=2))
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "lerobot-train"), f"--config_path={path}"],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wall = time.perf_counter() - started
    log = proc.stdout
    (args.work / "train.log").write_text(log)
    updt = [float(x) for x in re.findall(r"updt_s:([0-9.]+)", log)]
    data = [float(x) for x in re.findall(r"data_s:([0-9.]+)", log)]
    steps = [u + d for u, d in zip(updt, data, strict=False)]
    s_per_step = statistics.median(steps[1:] or steps) if steps else None
    rows = []
    metrics = out / "lerobot_local_metrics.jsonl"
    if metrics.is_file():
        rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    validations = [r for r in rows if r.get("kind") == "validation"]
    reports = [float(x) for x in re.findall(r"run report .* \(written in ([0-9.]+) s\)", log)]
    result: dict[str, Any] = {
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "device": args.device,
        "batch_size": config["batch_size"],
        "s_per_step": round(s_per_step, 4) if s_per_step else None,
        "validations": [
            {
                "step": v["step"],
                "frames": v["frames"],
                "metrics_s": round(v["seconds"], 3),
                "total_s": round(v["total_seconds"], 3),
                "val_loss": v["val_loss"],
                "mae_mean": v["mae_mean"],
            }
            for v in validations
        ],
        "report_s": reports,
        "preset_steps": preset["steps"],
        "preset_save_freq": preset["save_freq"],
        "last_lines": log.strip().splitlines()[-3:],
    }
    if s_per_step and validations:
        checkpoints = max(1, preset["steps"] // preset["save_freq"])
        first, later = validations[0]["total_seconds"], validations[-1]["total_seconds"]
        report = statistics.mean(reports) if reports else 0.0
        cost = first + later * (checkpoints - 1) + report * checkpoints
        train_s = preset["steps"] * s_per_step
        result.update(
            checkpoints=checkpoints,
            validation_cost_s=round(cost, 1),
            train_s=round(train_s, 1),
            overhead_pct=round(100 * cost / train_s, 2),
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-val"))
    parser.add_argument("--preset", default="local_grasp")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--holdout", type=float, default=0.25)
    parser.add_argument("--max_samples", type=int, default=256)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--vlm_size", default="full", choices=("full", "tiny"))
    parser.add_argument("--video_backend", default="pyav")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import torch

    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    args.work.mkdir(parents=True, exist_ok=True)
    if args.video_backend == "torchcodec":  # no system FFmpeg on the GPU machine (see gpu_smolvla.py)
        path = pyav_ffmpeg_library_path(args.work)
        if path:
            os.environ["LD_LIBRARY_PATH"] = ":".join(
                x for x in (path, os.environ.get("LD_LIBRARY_PATH")) if x
            )
    dataset = prepare(args.work, args.episodes, "none" if args.video_backend == "torchcodec" else "quick")
    vlm = build_tiny_smolvlm(args.work / f"smolvlm_{args.vlm_size}", size=args.vlm_size)
    result = {
        "lerobot": lerobot_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "preset": args.preset,
        "steps": args.steps,
        "holdout": args.holdout,
        "max_samples": args.max_samples,
        "vlm_size": args.vlm_size,
        "video_backend": args.video_backend,
        "run": run(args, dataset, vlm),
    }
    r = result["run"]
    print_table(
        ["preset", "device", "s/step", "validation s (first / later)", "frames", "report s", "overhead"],
        [
            [
                args.preset,
                result["gpu"] or args.device,
                r["s_per_step"],
                " / ".join(str(v["total_s"]) for v in r["validations"]),
                r["validations"][0]["frames"] if r["validations"] else "-",
                " / ".join(f"{x:.2f}" for x in r["report_s"]),
                f"{r.get('overhead_pct', '?')}% ({r.get('checkpoints')} ckpt / {r['preset_steps']} steps)",
            ]
        ],
    )
    if args.json:
        write_json(args.json, result)
    return 0 if r["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
