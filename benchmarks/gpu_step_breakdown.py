"""GPU table: where a training step of full-size SmolVLA spends its time, stage by stage, vs the GPU step.

Run on a CUDA machine with LeRobot >= 0.6 and lerobot-local installed (offline is fine):

    python benchmarks/gpu_step_breakdown.py --work /tmp/gpu --settings 16:4:pyav,128:14:torchcodec \
        --json benchmarks/results/gpu_step_breakdown.json

Everything is built with LeRobot's own functions, as its train script builds it (``make_dataset``,
``make_policy``, ``make_pre_post_processors``, ``make_optimizer_and_scheduler``, an ``Accelerator`` with
fp16, ``update_policy``); the dataset is ``gpu_data.grasp_dataset`` (480x640, 2 cameras, H.264). For each
setting ``batch:workers:backend`` it times, median of repeats:

- ``decode``: LeRobot's ``decode_video_frames`` for one sample's cameras (uint8, as the train loop asks);
- ``item rest``: the rest of ``dataset[i]`` (parquet rows, action chunk, padding, image transforms if on);
- ``collate``: ``default_collate`` of a batch (done in a worker);
- ``worker -> main``: a DataLoader with the setting's workers over already-decoded items (shared memory
  hand-over, minus collate) -- the transport alone;
- ``pin``: ``pin_memory()`` of a batch (LeRobot's loader pins on CUDA), ``host -> device``: the copy;
- ``preprocessor``: uint8 -> float on the GPU plus LeRobot's preprocessor (tokenizer, normalisation);
- ``GPU step``: ``update_policy`` (forward, backward, optimizer), synchronised;
- ``loader``: the real DataLoader (spawn, prefetch 4, pinned) delivering batches with the GPU idle.

Per-worker stages are shown per batch and divided by the workers (they run side by side). torchcodec is
run on PyAV's FFmpeg (``compat.pyav_ffmpeg_library_path``): the script restarts itself with it on the
library path when torchcodec cannot load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_gpu_model_args, lerobot_version, print_table
from gpu_data import grasp_dataset

RESTARTED = "LEROBOT_LOCAL_BENCH_RESTARTED"


def ensure_torchcodec(work: Path) -> None:
    """Restart this script with PyAV's FFmpeg on LD_LIBRARY_PATH when torchcodec cannot load."""
    from lerobot_local import compat

    if compat.torchcodec_loads() is None or os.environ.get(RESTARTED):
        return
    path = compat.pyav_ffmpeg_library_path(work)
    if path:
        env = {
            **os.environ,
            RESTARTED: "1",
            "LD_LIBRARY_PATH": path + ":" + os.environ.get("LD_LIBRARY_PATH", ""),
        }
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def med(times: list[float]) -> float:
    return statistics.median(times) * 1000 if times else float("nan")


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build(cfg_args: list[str]) -> Any:
    from lerobot_local import compat

    cfg = compat.parse_train_config(cfg_args)
    cfg.validate()
    return cfg


class Cached:
    """A dataset of already-decoded items (cycled): the DataLoader's transport without decoding."""

    def __init__(self, items: list[dict[str, Any]], length: int) -> None:
        self.items, self.length = items, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i % len(self.items)]


def loader_period(dataset: Any, batch: int, workers: int, batches: int, collate: Any = None) -> float:
    """Seconds per batch of a DataLoader as LeRobot 0.6 builds it (spawn, prefetch 4, persistent, pinned)."""
    import torch

    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4,
        persistent_workers=True,
        multiprocessing_context="spawn",
        drop_last=True,
        collate_fn=collate,
    )
    it = iter(loader)
    for _ in range(min(workers, 4)):  # workers started and their first batches out of the way
        next(it)
    started = time.perf_counter()
    n = 0
    for _ in range(batches):
        try:
            next(it)
        except StopIteration:
            it = iter(loader)
            next(it)
        n += 1
    return (time.perf_counter() - started) / n


def measure(
    setting: str, dataset_root: Path, vlm: Path, args: argparse.Namespace, result: dict[str, Any]
) -> dict[str, Any]:
    """Fill ``result`` with the figures of one setting, stage after stage."""
    import torch
    from accelerate import Accelerator
    from lerobot.datasets.factory import make_dataset
    from lerobot.datasets.video_utils import decode_video_frames
    from lerobot.optim.factory import make_optimizer_and_scheduler
    from lerobot.policies import make_policy, make_pre_post_processors
    from lerobot.scripts.lerobot_train import update_policy
    from lerobot.utils.logging_utils import AverageMeter, MetricsTracker
    from torch.utils.data import default_collate

    batch, workers, backend = setting.split(":")
    batch, workers = int(batch), int(workers)
    out = args.work / f"bd_{batch}_{workers}_{backend}"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    cfg = build(
        [
            "--policy.type=smolvla",
            f"--policy.vlm_model_name={vlm}",
            "--policy.load_vlm_weights=false",
            f"--policy.device={args.device}",
            "--policy.push_to_hub=false",
            f"--policy.resize_imgs_with_padding=[{args.image_size},{args.image_size}]",
            "--policy.use_amp=true",
            "--dataset.repo_id=local/grasp",
            f"--dataset.root={dataset_root}",
            f"--dataset.video_backend={backend}",
            f"--batch_size={batch}",
            f"--num_workers={workers}",
            f"--output_dir={out}",
        ]
    )
    dataset = make_dataset(cfg)
    cams = list(dataset.meta.camera_keys)
    rng = torch.Generator().manual_seed(0)
    idx = torch.randint(0, len(dataset), (args.samples,), generator=rng).tolist()
    result.update(batch=batch, workers=workers, backend=backend)
    # decode vs the rest of __getitem__, in this process (one sample at a time)
    reader = dataset.reader if hasattr(dataset, "reader") else dataset
    ep_index = dataset.meta.episodes
    t_item, t_decode, items = [], [], []
    for i in idx:
        t0 = time.perf_counter()
        item = dataset[i]
        t_item.append(time.perf_counter() - t0)
        items.append(item)
        ep = int(item["episode_index"])
        ts = float(item["timestamp"])
        t0 = time.perf_counter()
        for cam in cams:
            path = dataset.root / dataset.meta.get_video_file_path(ep, cam)
            start = ep_index[ep][f"videos/{cam}/from_timestamp"]
            decode_video_frames(path, [start + ts], cfg.tolerance_s, backend, return_uint8=True)
        t_decode.append(time.perf_counter() - t0)
    del reader
    decode_ms, item_ms = med(t_decode), med(t_item)
    result["decode_ms_per_sample"] = round(decode_ms, 2)
    result["item_rest_ms_per_sample"] = round(max(0.0, item_ms - decode_ms), 2)
    result["frame_dtype"] = str(items[0][cams[0]].dtype)
    result["frame_shape"] = list(items[0][cams[0]].shape)
    batch_items = (items * (batch // len(items) + 1))[:batch]
    t_coll = []
    for _ in range(5):
        t0 = time.perf_counter()
        host = default_collate(batch_items)
        t_coll.append(time.perf_counter() - t0)
    result["collate_ms_per_batch"] = round(med(t_coll), 2)
    result["batch_mb"] = round(
        sum(v.numel() * v.element_size() for v in host.values() if torch.is_tensor(v)) / 1e6, 1
    )
    # transport alone: DataLoader with workers over decoded items, minus the collate done in the worker
    cached = Cached(items, len(dataset))
    period = loader_period(cached, batch, workers, args.batches)
    result["worker_to_main_ms_per_batch"] = round(max(0.0, period * 1000), 2)
    # the real loader (decode in the workers), GPU idle
    result["loader_ms_per_batch"] = round(loader_period(dataset, batch, workers, args.batches) * 1000, 1)
    # pin and copy
    cuda = torch.cuda.is_available()
    t_pin, t_h2d = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        pinned = {k: v.pin_memory() if torch.is_tensor(v) and cuda else v for k, v in host.items()}
        t_pin.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dev = {
            k: v.to(args.device, non_blocking=False) if torch.is_tensor(v) else v for k, v in pinned.items()
        }
        sync()
        t_h2d.append(time.perf_counter() - t0)
    result["pin_ms_per_batch"] = round(med(t_pin), 2) if cuda else None
    result["h2d_ms_per_batch"] = round(med(t_h2d), 2)
    if args.skip_gpu_step:
        return result
    # policy, preprocessor, GPU step, as lerobot_train builds them
    accelerator = Accelerator(step_scheduler_with_optimizer=False, mixed_precision="fp16" if cuda else "no")
    policy = make_policy(cfg=cfg.policy, ds_meta=dataset.meta)
    pre, _post = make_pre_post_processors(policy_cfg=cfg.policy, dataset_stats=dataset.meta.stats)
    optimizer, scheduler = make_optimizer_and_scheduler(cfg, policy)
    policy, optimizer = accelerator.prepare(policy, optimizer)
    t_pre, t_step = [], []
    meters = {
        "loss": AverageMeter("loss"),
        "grad_norm": AverageMeter("g"),
        "lr": AverageMeter("lr"),
        "update_s": AverageMeter("u"),
        "gpu_mem_gb": AverageMeter("mem_gb"),  # update_policy sets it on CUDA
    }
    tracker = MetricsTracker(batch, dataset.num_frames, dataset.num_episodes, meters)
    for step in range(args.steps):
        sync()
        t0 = time.perf_counter()
        b = dict(dev)
        for cam in cams:
            if b[cam].dtype == torch.uint8:
                b[cam] = b[cam].to(dtype=torch.float32) / 255.0
        b = pre(b)
        sync()
        t1 = time.perf_counter()
        tracker, _ = update_policy(
            tracker,
            policy,
            b,
            optimizer,
            cfg.optimizer.grad_clip_norm,
            accelerator=accelerator,
            lr_scheduler=scheduler,
        )
        sync()
        t2 = time.perf_counter()
        if step >= 2:
            t_pre.append(t1 - t0)
            t_step.append(t2 - t1)
    result["preprocessor_ms_per_batch"] = round(med(t_pre), 1)
    result["gpu_step_ms"] = round(med(t_step), 1)
    result["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2) if cuda else None
    del policy, optimizer, pre
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return result


def table(results: list[dict[str, Any]]) -> None:
    for r in results:
        w, step = r["workers"], r["gpu_step_ms"]
        b = r["batch"]
        rows = [
            ["decode (per batch / workers)", r["decode_ms_per_sample"] * b / w, "worker"],
            ["item rest (per batch / workers)", r["item_rest_ms_per_sample"] * b / w, "worker"],
            ["collate (per batch / workers)", r["collate_ms_per_batch"] / w, "worker"],
            ["worker -> main, measured period", r["worker_to_main_ms_per_batch"], "main"],
            ["pin", r["pin_ms_per_batch"] or 0.0, "main (pin thread)"],
            ["host -> device", r["h2d_ms_per_batch"], "main"],
            ["preprocessor (+ uint8 -> float)", r["preprocessor_ms_per_batch"], "main"],
            ["GPU step (fwd+bwd+opt)", step, "GPU"],
            ["loader alone, measured period", r["loader_ms_per_batch"], "workers -> main"],
        ]
        print(
            f"\n{r['setting']}: batch {b}, {w} workers, {r['backend']}; {r['batch_mb']} MB per batch "
            f"({r['frame_dtype']} frames {r['frame_shape']}); peak {r['peak_gpu_gb']} GB"
        )
        print_table(
            ["stage", "ms per batch", "vs GPU step", "where"],
            [[name, f"{ms:.1f}", f"{ms / step:.0%}", where] for name, ms, where in rows],
        )
        loader = 1000 * b / r["loader_ms_per_batch"]
        print(f"samples/s: GPU alone {1000 * b / step:.0f}, loader alone {loader:.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/lerobot-local-gpu"))
    parser.add_argument("--settings", default="16:4:pyav,128:14:pyav,128:14:torchcodec")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--samples", type=int, default=24, help="samples timed one by one per setting")
    parser.add_argument("--batches", type=int, default=12, help="batches timed per loader")
    parser.add_argument("--steps", type=int, default=10, help="GPU steps per setting (2 warm-up)")
    parser.add_argument("--codec", default="h264", choices=["h264", "av1"], help="the videos' codec")
    parser.add_argument("--skip_gpu_step", action="store_true", help="the loader's stages only")
    parser.add_argument("--json", type=Path, default=None)
    add_gpu_model_args(parser, image_size=512)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if "torchcodec" in args.settings:
        ensure_torchcodec(args.work)
    import torch

    from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm

    started = time.perf_counter()
    dataset = grasp_dataset(args.work, args.episodes, args.height, args.width, codec=args.codec)
    vlm = build_tiny_smolvlm(args.work / f"smolvlm2_500m_shaped_{args.vlm_size}", size=args.vlm_size)
    cuda = torch.cuda.is_available()
    results: dict[str, Any] = {
        "lerobot": lerobot_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpu_total_gb": round(torch.cuda.get_device_properties(0).total_memory / 1e9, 1) if cuda else None,
        "cpu_count": os.cpu_count(),
        "setup_s": round(time.perf_counter() - started, 1),
        "codec": args.codec,
        "settings": [],
    }
    print(f"setup {results['setup_s']} s", flush=True)
    for setting in [s for s in args.settings.split(",") if s]:
        t0 = time.perf_counter()
        r: dict[str, Any] = {"setting": setting}
        try:
            measure(setting, dataset, vlm, args, r)
        except Exception as exc:  # keep the figures measured so far and the other settings'
            r["error"] = f"{type(exc).__name__}: {exc}"[:500]
        r["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(r), flush=True)
        results["settings"].append(r)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    table([r for r in results["settings"] if "error" not in r and "gpu_step_ms" in r])
    return 0


if __name__ == "__main__":
    sys.exit(main())
