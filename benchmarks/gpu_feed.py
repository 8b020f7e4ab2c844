"""GPU table: the seed's command (batch 16) against the ``local_grasp`` preset with ``fill_gpu``, same data,
same GPU, about the same training time, through the native lerobot-train with the plugin active.

Run on a CUDA machine with LeRobot >= 0.6 and lerobot-local installed, after gpu_step_breakdown.py (whose
JSON gives each setting's time per step, from which the steps of an equal training time are computed):

    python benchmarks/gpu_feed.py --work /tmp/gpu --train_s 100 --breakdown $OUT/gpu_step_breakdown.json

Both runs: full-size SmolVLA (random weights, ``gpu_smolvla.train_config``), the 16-episode 480x640 set of
``gpu_data.py``, a quarter of the episodes held out (``lerobot_local.validation.holdout=0.25``), validation
at the end (256 held-out frames: loss and action MAE, lerobot-local's own validation). ``seed``: the preset
with ``fill_gpu=false`` (batch 16, 4 workers, pyav, lr 1e-4, what the seed's plan types); ``local_grasp``:
the preset as shipped (``fill_gpu=true``: batch, lr, warmup, workers and the workers' decoder chosen for the
machine, as its ``sizing`` row says). samples/s and data_s come from LeRobot's own log (medians after the
first window); peak GPU memory from nvidia-smi.
"""

from __future__ import annotations

import argparse
import json
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

HEADERS = ("run", "rc", "batch", "workers", "steps", "updt_s", "data_s", "data share", "samples/s")
HEADERS += ("train s", "peak GiB", "val loss", "action MAE")
SIZING_ROW = re.compile(r"^\s+sizing\s+(OK|WARNING|ERROR)\s+(.+)$", re.MULTILINE)


def step_estimate_s(breakdown: dict[str, Any], batch: int, backend: str) -> float | None:
    """Time per step a breakdown setting predicts: the slower of the GPU step and the loader's period."""
    for r in breakdown.get("settings", []):
        if r.get("batch") == batch and r.get("backend") == backend and "gpu_step_ms" in r:
            return max(r["gpu_step_ms"], r.get("loader_ms_per_batch", 0)) / 1000
    return None


def run(name: str, config: dict[str, Any], work: Path, log_file: Path | None) -> dict[str, Any]:
    path = work / f"{name}.json"
    shutil.rmtree(config["output_dir"], ignore_errors=True)
    path.write_text(json.dumps(config, indent=2))
    started = time.perf_counter()
    with GpuMemoryPeak() as memory:
        proc = subprocess.run(
            [str(BIN / "lerobot-train"), f"--config_path={path}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    log = proc.stdout
    if log_file is not None:
        with log_file.open("a") as out:
            out.write(f"\n===== {name} (rc {proc.returncode}) =====\n{log}")
    updt = [float(x) for x in re.findall(r"updt_s:([0-9.]+)", log)]
    data = [float(x) for x in re.findall(r"data_s:([0-9.]+)", log)]
    batch = [int(x) for x in re.findall(r"'batch_size': (\d+)", log)] or [config["batch_size"]]
    workers = [int(x) for x in re.findall(r"'num_workers': (\d+)", log)] or [config["num_workers"]]
    u = statistics.median(updt[1:] or updt) if updt else None
    d = statistics.median(data[1:] or data) if data else None
    rows = []
    metrics = Path(config["output_dir"]) / "lerobot_local_metrics.jsonl"
    if metrics.is_file():
        rows = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
    val = [r for r in rows if r.get("kind") == "validation"]
    last = val[-1] if val else {}
    row = SIZING_ROW.search(log)
    steps = config["steps"]
    return {
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - started, 1),
        "steps": steps,
        "batch_size": batch[0],
        "num_workers": workers[0],
        "updt_s": u,
        "data_s": d,
        "train_s_estimate": round(steps * ((u or 0) + (d or 0)), 1),
        "samples_per_s": round(batch[0] / (u + d), 1) if u and d is not None else None,
        "data_share": round(d / (u + d), 3) if u and d is not None else None,
        "peak_gpu_mb": memory.peak_mb,
        "val_loss": last.get("val_loss"),
        "mae_mean": last.get("mae_mean"),
        "val_frames": last.get("frames") or last.get("n_frames"),
        "validation_record": last,
        "sizing_row": row.group(2).strip() if row else None,
        "last_lines": log.strip().splitlines()[-3:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-gpu"))
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--train_s", type=float, default=100.0, help="training time of each run (about)")
    parser.add_argument("--breakdown", type=Path, required=True, help="gpu_step_breakdown.py's JSON")
    parser.add_argument("--big_batch", type=int, default=128, help="the batch fill_gpu picks on this card")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--log_file", type=Path, default=None)
    add_gpu_model_args(parser, image_size=0)
    args = parser.parse_args()
    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    args.work.mkdir(parents=True, exist_ok=True)
    dataset = grasp_dataset(args.work, args.episodes, args.height, args.width)
    vlm = build_tiny_smolvlm(args.work / f"smolvlm2_500m_shaped_{args.vlm_size}", size=args.vlm_size)
    breakdown = json.loads(args.breakdown.read_text())
    seed_s = step_estimate_s(breakdown, 16, "pyav") or 0.22
    big_s = step_estimate_s(breakdown, args.big_batch, "torchcodec") or 0.5
    results: dict[str, Any] = {
        "lerobot": lerobot_version(),
        "gpu": breakdown.get("gpu"),
        "train_s": args.train_s,
        "runs": {},
    }
    plan = [("seed", False, max(10, round(args.train_s / seed_s))), ("local_grasp", True, 0)]
    plan[1] = ("local_grasp", True, max(10, round(args.train_s / big_s)))
    for name, fill, steps in plan:
        config = train_config("local_grasp", dataset, vlm, args.work / f"feed_{name}", steps)
        config["log_freq"] = max(1, steps // 8)
        config["policy"]["device"] = args.device
        if args.image_size:
            config["policy"]["resize_imgs_with_padding"] = [args.image_size, args.image_size]
        local = config["lerobot_local"]
        local["fill_gpu"] = fill
        local["validation"] = {
            "holdout": 0.25,
            "max_samples": 256,
            "untrained_reference": False,
            "plot_episodes": 0,
            "report": False,
        }
        results["runs"][name] = run(name, config, args.work, args.log_file)
        print(name, json.dumps(results["runs"][name]), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    print_table(
        [*HEADERS],
        [
            [
                name,
                r["returncode"],
                r["batch_size"],
                r["num_workers"],
                r["steps"],
                r["updt_s"],
                r["data_s"],
                r["data_share"],
                r["samples_per_s"],
                r["train_s_estimate"],
                f"{r['peak_gpu_mb'] / 1024:.1f}",
                r["val_loss"],
                r["mae_mean"],
            ]
            for name, r in results["runs"].items()
        ],
    )
    for name, r in results["runs"].items():
        print(f"{name} sizing row: {r['sizing_row']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
