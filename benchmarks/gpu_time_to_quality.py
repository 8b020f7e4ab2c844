"""GPU table: time to quality, the seed's command against the shipped preset, on the same data and GPU.

Run on a CUDA machine with LeRobot >= 0.6 and lerobot-local installed (offline is fine):

    python benchmarks/gpu_time_to_quality.py --work /tmp/gpu --json $OUT/gpu_time_to_quality.json

Both runs go through the native ``lerobot-train --config_path=...`` with the plugin active, on a generated
grasp-like set of 48 episodes (480x640, two cameras, AV1 as LeRobot's recorder writes it, ``gpu_data.py``),
full-size SmolVLA (random weights), a quarter of the episodes held out, one plan: ``--seed_steps`` steps at
batch 16 (under 3 epochs of the training episodes), validated at ``--validations`` evenly spaced checkpoints.

- ``seed``: what the seed's plan types (batch 16, 4 workers, pyav, lr 1e-4, AMP), lerobot-local's
  ``fill_gpu`` and ``speed`` settings off;
- ``preset``: ``local_grasp`` as shipped (``fill_gpu``: batch, workers, decoder chosen for the card, the
  plan kept in samples; the ``speed`` settings on).

Validation runs every ``seed_steps / validations`` steps between checkpoints (``validation.every_n_steps``),
and one checkpoint is written at the end: a checkpoint of full-size SmolVLA takes ~9 s on an H100, which at
the plan's ``save_freq`` (5,000 steps) is nothing and at every 40 steps doubled the measured step time.
Wall time is what the user waits for, from the process start (model load and checks included), minus the
time spent validating (the same frames in both runs). The real time per step is measured between
LeRobot's log lines (not its meters). ``plan_wall_s`` is the config file's plan (configs/grasp_smolvla.json:
20,000 steps at batch 16) at each run's measured time per step.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, add_gpu_model_args, lerobot_version, print_table
from gpu_data import grasp_dataset
from gpu_smolvla import GpuMemoryPeak, train_config

REPO = Path(__file__).resolve().parent.parent
METRICS = "lerobot_local_metrics.jsonl"
ROW = re.compile(r"^\s+(sizing|speed|precision)\s+(OK|WARNING|ERROR)\s+(.+)$", re.MULTILINE)


def config_for(name: str, dataset: Path, vlm: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    steps = args.seed_steps
    config = train_config("local_grasp", dataset, vlm, work / f"ttq_{name}", steps)
    config.update(
        save_freq=steps,  # one checkpoint, at the end: the plan saves every 5,000 steps, not every few dozen
        log_freq=max(1, steps // 40),
        batch_size=16,
        num_workers=4,
    )
    policy = config["policy"]
    policy.update(
        device=args.device,
        optimizer_lr=1e-4,
        scheduler_warmup_steps=max(1, steps // 12),
        scheduler_decay_steps=steps,
        use_amp=True,
    )
    config["dataset"]["video_backend"] = "pyav"
    local = config["lerobot_local"]
    local["fill_gpu"] = name == "preset"
    if name == "seed":
        local["speed"] = {
            "bf16": False,
            "fused_optimizer": False,
            "sdpa_attention": False,
            "compile_vision_encoder": False,
        }
    local["validation"] = {
        "holdout": 0.25,
        "every_n_steps": max(1, steps // args.validations),  # fill_gpu keeps the spacing in samples
        "max_samples": args.val_frames,
        "untrained_reference": False,
        "plot_episodes": 0,
        "report": False,
    }
    local["keep_last_n"] = 1
    return config


def run(name: str, config: dict[str, Any], work: Path, log_file: Path | None) -> dict[str, Any]:
    path = work / f"ttq_{name}.json"
    out = Path(config["output_dir"])
    shutil.rmtree(out, ignore_errors=True)
    path.write_text(json.dumps(config, indent=2))
    started_unix, started = time.time(), time.perf_counter()
    with GpuMemoryPeak() as memory:
        proc = subprocess.run(
            [str(BIN / "lerobot-train"), f"--config_path={path}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    wall = time.perf_counter() - started
    log = proc.stdout
    if log_file is not None:
        with log_file.open("a") as fh:
            fh.write(f"\n===== {name} (rc {proc.returncode}) =====\n{log}")
    rows = []
    if (out / METRICS).is_file():
        rows = [json.loads(x) for x in (out / METRICS).read_text().splitlines() if x.strip()]
    val_seconds, points, train_times = 0.0, [], []
    for row in rows:
        if row.get("kind") == "validation":
            val_seconds += float(row.get("total_seconds") or 0.0)
            at = row["time"] - started_unix - val_seconds
            points.append([round(at, 1), row.get("val_loss"), row.get("mae_mean"), row.get("step")])
            frames, seconds = row.get("frames"), row.get("seconds")  # the held-out frames' pass alone
            if frames and seconds:
                points[-1].append(round(frames / seconds, 1))
        elif row.get("kind") == "train":
            train_times.append((row["step"], row["time"] - started_unix - val_seconds))
    batch = int((re.findall(r"'batch_size': (\d+)", log) or [config["batch_size"]])[0])
    workers = int((re.findall(r"'num_workers': (\d+)", log) or [config["num_workers"]])[0])
    steps = int((re.findall(r"'steps': (\d+)", log) or [config["steps"]])[0])
    updt = [float(x) for x in re.findall(r"updt_s:([0-9.]+)", log)]
    data = [float(x) for x in re.findall(r"data_s:([0-9.]+)", log)]
    step_s = None
    if len(train_times) >= 3:  # the first window holds the workers' start: measured from the second log line
        (s0, t0), (s1, t1) = train_times[1], train_times[-1]
        step_s = (t1 - t0) / (s1 - s0) if s1 > s0 else None
    d = statistics.median(data[1:] or data) if data else None
    rates = [p[4] for p in points if len(p) > 4]
    return {
        "returncode": proc.returncode,
        "process_wall_s": round(wall, 1),
        "batch": batch,
        "workers": workers,
        "steps": steps,
        "updt_s": round(statistics.median(updt[1:] or updt), 4) if updt else None,
        "data_s": round(d, 4) if d is not None else None,
        "wall_s_per_step": round(step_s, 4) if step_s else None,
        "samples_per_s": round(batch / step_s, 1) if step_s else None,
        "data_share": round(d / step_s, 3) if step_s and d is not None else None,
        "peak_gpu_gb": round(memory.peak_mb / 1024, 1),
        "val": [p[:3] for p in points],
        "val_steps": [p[3] for p in points],
        "best_val_loss": min((p[1] for p in points if p[1] is not None), default=None),
        "validation_frames_per_s": max(rates) if rates else None,
        "rows": {m.group(1): m.group(3).strip() for m in ROW.finditer(log)},
        "last_lines": log.strip().splitlines()[-4:],
    }


def time_to(points: list[list[Any]], loss: float | None) -> float | None:
    """Wall time of the first validation at or below ``loss``."""
    if loss is None:
        return None
    return next((p[0] for p in points if p[1] is not None and p[1] <= loss), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-gpu"))
    parser.add_argument("--episodes", type=int, default=48)
    parser.add_argument("--codec", default="av1", choices=["av1", "h264"])
    parser.add_argument("--seed_steps", type=int, default=480, help="the plan, in steps at batch 16")
    parser.add_argument("--validations", type=int, default=10)
    parser.add_argument("--val_frames", type=int, default=128, help="held-out frames per validation")
    parser.add_argument("--runs", default="seed,preset")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--log_file", type=Path, default=None)
    add_gpu_model_args(parser, image_size=0)
    args = parser.parse_args()
    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    dataset = grasp_dataset(args.work, args.episodes, args.height, args.width, codec=args.codec)
    vlm = build_tiny_smolvlm(args.work / f"smolvlm2_500m_shaped_{args.vlm_size}", size=args.vlm_size)
    results: dict[str, Any] = {"device": None, "lerobot": lerobot_version(), "data_s": 0.0, "runs": {}}
    results["data_s"] = round(time.perf_counter() - t0, 1)
    try:
        import torch

        results["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except ImportError:
        pass
    plan = json.loads((REPO / "configs" / "grasp_smolvla.json").read_text())
    plan_samples = plan["steps"] * plan["batch_size"]
    for name in [r for r in args.runs.split(",") if r]:
        config = config_for(name, dataset, vlm, args.work, args)
        if args.image_size:
            config["policy"]["resize_imgs_with_padding"] = [args.image_size, args.image_size]
        results["runs"][name] = run(name, config, args.work, args.log_file)
        print(name, json.dumps(results["runs"][name]), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    seed, preset = results["runs"].get("seed", {}), results["runs"].get("preset", {})
    seed_final = seed["val"][-1] if seed.get("val") else None
    results["seed_final_val_wall_s"] = seed_final[0] if seed_final else None
    results["preset_time_to_seed_final_val_s"] = time_to(
        preset.get("val", []), seed_final[1] if seed_final else None
    )
    results["plan_wall_s"] = {
        name: round(math.ceil(plan_samples / r["batch"]) * r["wall_s_per_step"], 0)
        for name, r in results["runs"].items()
        if r.get("wall_s_per_step")
    }
    rates = [
        r["validation_frames_per_s"] for r in results["runs"].values() if r.get("validation_frames_per_s")
    ]
    results["validation_frames_per_s"] = max(rates) if rates else None
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    headers = ["run", "rc", "batch", "workers", "steps", "updt_s", "data_s", "s/step (real)", "samples/s"]
    headers += ["data share", "peak GB", "final val loss", "best val loss", "plan wall h"]
    print_table(
        headers,
        [
            [
                name,
                r["returncode"],
                r["batch"],
                r["workers"],
                r["steps"],
                r["updt_s"],
                r["data_s"],
                r["wall_s_per_step"],
                r["samples_per_s"],
                r["data_share"],
                r["peak_gpu_gb"],
                r["val"][-1][1] if r["val"] else None,
                r["best_val_loss"],
                round(results["plan_wall_s"].get(name, 0) / 3600, 2),
            ]
            for name, r in results["runs"].items()
        ],
    )
    for key in ("seed_final_val_wall_s", "preset_time_to_seed_final_val_s", "validation_frames_per_s"):
        print(f"{key}: {results[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
