"""GPU table: the time of one SmolVLA training step (forward, backward, optimizer) under each speed setting.

Run on a CUDA machine with LeRobot >= 0.6 and lerobot-local installed (offline is fine):

    python benchmarks/gpu_step_variants.py --work /tmp/gpu --batches 128 --variants fp16,bf16,bf16+fused \
        --json $OUT/gpu_step_variants.json

The policy, preprocessor, optimizer and scheduler are LeRobot's own (``make_policy``,
``make_optimizer_and_scheduler``, ``update_policy``), built as its train script builds them, on one batch of
the 480x640 two-camera set of ``gpu_data.py``; a variant is a ``+``-joined list of settings:

- ``fp16`` / ``bf16``: accelerate's mixed precision (fp16 uses a GradScaler, bf16 does not);
- ``fused``: AdamW's fused CUDA kernel instead of the per-parameter loop;
- ``sdpa``: SmolVLA's expert attention through ``scaled_dot_product_attention`` instead of its eager matmuls;
- ``compile``: ``torch.compile`` of the frozen vision encoder (its compile time is the first step's extra).

It prints the median step time, samples/s, peak memory and the loss of the last step (same batch, same seed:
the settings that change numerics show it), and, with ``--profile``, the ten CUDA kernels that take longest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_gpu_model_args, lerobot_version, print_table
from gpu_data import grasp_dataset


def measure(
    variant: str, batch: int, dataset_root: Path, vlm: Path, args: argparse.Namespace
) -> dict[str, Any]:
    import torch
    from accelerate import Accelerator
    from lerobot.datasets.factory import make_dataset
    from lerobot.optim.factory import make_optimizer_and_scheduler
    from lerobot.policies import make_policy, make_pre_post_processors
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker
    from torch.utils.data import default_collate

    from lerobot_local import compat, speed

    settings = set(variant.split("+"))
    out = args.work / f"var_{variant}_{batch}"
    shutil.rmtree(out, ignore_errors=True)
    cfg = compat.parse_train_config(
        [
            "--policy.type=smolvla",
            f"--policy.vlm_model_name={vlm}",
            "--policy.load_vlm_weights=false",
            f"--policy.device={args.device}",
            "--policy.push_to_hub=false",
            f"--policy.resize_imgs_with_padding=[{args.image_size},{args.image_size}]",
            "--dataset.repo_id=local/grasp",
            f"--dataset.root={dataset_root}",
            "--dataset.video_backend=pyav",
            f"--batch_size={batch}",
            f"--output_dir={out}",
        ]
    )
    cfg.validate()
    torch.manual_seed(0)
    dataset = make_dataset(cfg)
    items = [dataset[i] for i in range(0, len(dataset), max(1, len(dataset) // batch))][:batch]
    items = (items * (batch // len(items) + 1))[:batch]
    host = default_collate(items)
    cuda = torch.cuda.is_available()
    precision = "bf16" if "bf16" in settings else "fp16" if "fp16" in settings and cuda else "no"
    accelerator = Accelerator(step_scheduler_with_optimizer=False, mixed_precision=precision)
    torch.manual_seed(0)
    policy = make_policy(cfg=cfg.policy, ds_meta=dataset.meta)
    pre, _post = make_pre_post_processors(policy_cfg=cfg.policy, dataset_stats=dataset.meta.stats)
    if "sdpa" in settings:
        speed.use_sdpa_attention(policy)
    optimizer, scheduler = make_optimizer_and_scheduler(cfg, policy)
    if "fused" in settings:
        speed.use_fused_optimizer(optimizer)
    if "compile" in settings:
        speed.compile_vision_encoder(policy)
    policy, optimizer = accelerator.prepare(policy, optimizer)
    meters = {
        "loss": AverageMeter("loss"),
        "grad_norm": AverageMeter("g"),
        "lr": AverageMeter("lr"),
        "update_s": AverageMeter("u"),
        "gpu_mem_gb": AverageMeter("mem_gb"),
    }
    tracker = MetricsTracker(batch, dataset.num_frames, dataset.num_episodes, meters)
    dev = {k: v.to(args.device) if torch.is_tensor(v) else v for k, v in host.items()}
    for cam in dataset.meta.camera_keys:
        if dev[cam].dtype == torch.uint8:
            dev[cam] = dev[cam].to(dtype=torch.float32) / 255.0
    b = pre(dict(dev))

    def train_step(tracker: Any) -> Any:
        """One LeRobot update of the policy on the same batch; the tracker it returns."""
        tracker, _ = update_policy(
            tracker,
            policy,
            dict(b),
            optimizer,
            cfg.optimizer.grad_clip_norm,
            accelerator=accelerator,
            lr_scheduler=scheduler,
        )
        return tracker

    times, losses = [], []
    for step in range(args.steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        tracker = train_step(tracker)
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - t0
        if step == 0:
            first_step_s = elapsed
        if step >= 2:
            times.append(elapsed)
        losses.append(float(tracker.loss.val))
    result: dict[str, Any] = {
        "variant": variant,
        "batch": batch,
        "step_ms": round(statistics.median(times) * 1000, 1),
        "samples_per_s": round(batch / statistics.median(times), 1),
        "first_step_s": round(first_step_s, 1),
        "losses": [round(x, 5) for x in losses],
        "peak_gpu_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2) if cuda else None,
    }
    if args.profile and cuda:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                tracker = train_step(tracker)
            torch.cuda.synchronize()
        table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=25, max_name_column_width=60)
        result["profile"] = table
        print(table, flush=True)
    return result  # the policy and optimizer go with this frame; the caller empties the CUDA cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-gpu"))
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--batches", default="128")
    parser.add_argument("--variants", default="fp16,bf16,bf16+fused,bf16+fused+sdpa,bf16+fused+sdpa+compile")
    parser.add_argument("--steps", type=int, default=8, help="steps per variant (2 warm-up)")
    parser.add_argument("--profile", action="store_true", help="print the top CUDA kernels of each variant")
    parser.add_argument("--json", type=Path, default=None)
    add_gpu_model_args(parser, image_size=512)
    args = parser.parse_args()
    import torch

    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    args.work.mkdir(parents=True, exist_ok=True)
    dataset = grasp_dataset(args.work, args.episodes, args.height, args.width)
    vlm = build_tiny_smolvlm(args.work / f"smolvlm2_500m_shaped_{args.vlm_size}", size=args.vlm_size)
    cuda = torch.cuda.is_available()
    results: dict[str, Any] = {
        "lerobot": lerobot_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "runs": [],
    }
    for batch in [int(x) for x in args.batches.split(",")]:
        for variant in [v for v in args.variants.split(",") if v]:
            try:
                r = measure(variant, batch, dataset, vlm, args)
            except Exception as exc:  # keep the other variants' figures
                r = {"variant": variant, "batch": batch, "error": f"{type(exc).__name__}: {exc}"[:800]}
            if cuda:  # the next variant's peak memory is its own
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            print(json.dumps({k: v for k, v in r.items() if k != "profile"}), flush=True)
            results["runs"].append(r)
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(results, indent=2) + "\n")
    ok = [r for r in results["runs"] if "error" not in r]
    print_table(
        ["variant", "batch", "step ms", "samples/s", "first step s", "last loss", "peak GB"],
        [
            [
                r["variant"],
                r["batch"],
                r["step_ms"],
                r["samples_per_s"],
                r["first_step_s"],
                r["losses"][-1],
                r["peak_gpu_gb"],
            ]
            for r in ok
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
