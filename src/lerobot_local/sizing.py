"""Size a run to the machine it starts on (``lerobot_local.fill_gpu``): batch, learning rate, warmup, workers.

The presets' numbers (batch 16, 4 workers) were chosen for a 12-16 GB card; on an 80-140 GB card they leave
the GPU waiting on kernel launches and the CPU cores idle (docs/gpu.md, "Feeding the GPU"). With
``fill_gpu`` the values in the config file are the *baseline*: :func:`decide`, a pure function of the
card's memory and the CPU count, scales them, and :func:`fill_gpu` hands the result to LeRobot as ordinary
command-line overrides (so LeRobot's own ``train_config.json`` records them and ``--resume`` reuses them).
The file's plan is kept in samples, not in steps: a batch 8x larger trains 8x fewer steps, checkpoints,
logs and validates 8x less often in steps, and warms up and decays the learning rate over 8x fewer steps,
so ``steps=20000`` at batch 16 (320k samples) stays 320k samples at batch 128.
A value the user typed on the command line always wins; ``fill_gpu=false`` keeps the file's values.
It also lets the data workers decode with torchcodec on PyAV's FFmpeg where that loads (same frames).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.argv import arg_value, replace_arg

logger = logging.getLogger("lerobot_local")

# GPU memory of full-size SmolVLA fine-tuning (512x512 images, chunk 50, fp16), nvidia-smi peak on an H200
# (issue 25): 6.2 GB at batch 16, 14.3 at 64, 25.8 at 128 -> about 3.4 GB + 0.175 GB per sample.
FIXED_GB = 3.4
PER_SAMPLE_GB = 0.175
MEMORY_SHARE = 0.7  # leave 30% of the card for the allocator's fragmentation, other processes, validation
MAX_BATCH = 128  # the largest batch measured to learn as well as batch 16 at equal wall time (docs/gpu.md)
CORES_FOR_MAIN_PROCESS = 2  # the train loop itself and the pin-memory thread
FLAGS = {
    "batch_size": "batch_size",
    "num_workers": "num_workers",
    "lr": "policy.optimizer_lr",
    "warmup": "policy.scheduler_warmup_steps",
    "video_backend": "dataset.video_backend",
    "steps": "steps",
    "save_freq": "save_freq",
    "log_freq": "log_freq",
    "decay": "policy.scheduler_decay_steps",
    "eval_freq": "eval_freq",  # spelled as the installed LeRobot spells it (compat.train_field_spelling)
}
# Counts in steps that keep the file's plan in samples when the batch grows (divided by the batch's factor).
PLAN_KEYS = ("steps", "save_freq", "log_freq", "decay", "eval_freq")


@dataclass(frozen=True)
class Machine:
    """What sizing knows of the machine: GPU memory (None: no CUDA GPU), usable CPU cores, processes here."""

    gpu_memory_gb: float | None
    cpu_count: int
    local_processes: int = 1
    gpu_name: str = ""


@dataclass(frozen=True)
class Baseline:
    """The values of the config file that ``fill_gpu`` scales (lr/warmup None: not in the file)."""

    batch_size: int
    num_workers: int
    lr: float | None
    warmup_steps: int | None
    # The plan in steps at ``batch_size`` (None: not in the file and no LeRobot default read).
    steps: int | None = None
    save_freq: int | None = None
    log_freq: int | None = None
    decay: int | None = None
    eval_freq: int | None = None


@dataclass(frozen=True)
class Choice:
    """One value sizing settles, and where it came from (said in the ``sizing`` row)."""

    key: str
    value: Any
    source: str
    changed: bool

    @property
    def flag(self) -> str:
        return compat.train_field_spelling(FLAGS[self.key]) if self.key == "eval_freq" else FLAGS[self.key]


def estimated_memory_gb(batch_size: int) -> float:
    return FIXED_GB + PER_SAMPLE_GB * batch_size


def decide(machine: Machine, base: Baseline, user_set: set[str]) -> list[Choice]:
    """Batch size, learning rate, warmup and workers for ``machine`` from ``base``; keys in ``user_set``
    (``batch_size``, ``num_workers``, ``lr``, ``warmup``) keep the user's value."""
    choices: list[Choice] = []
    batch = base.batch_size
    if "batch_size" in user_set:
        choices.append(Choice("batch_size", batch, "set on the command line", False))
    elif machine.gpu_memory_gb is None:
        choices.append(Choice("batch_size", batch, "config file (no CUDA GPU seen here)", False))
    else:
        budget = MEMORY_SHARE * machine.gpu_memory_gb
        while batch * 2 <= MAX_BATCH and estimated_memory_gb(batch * 2) <= budget:
            batch *= 2
        source = (
            f"fill_gpu: {machine.gpu_memory_gb:.0f} GB card, about {estimated_memory_gb(batch):.0f} GB "
            f"needed (<= {MEMORY_SHARE:.0%} of it, at most {MAX_BATCH}); config file said {base.batch_size}"
        )
        choices.append(Choice("batch_size", batch, source, batch != base.batch_size))
    scale = batch / base.batch_size
    if "lr" in user_set:
        choices.append(Choice("lr", base.lr, "set on the command line", False))
    elif base.lr is not None and scale != 1:
        lr = float(f"{base.lr * math.sqrt(scale):.3g}")
        choices.append(Choice("lr", lr, f"fill_gpu: {base.lr:g} x sqrt({batch}/{base.batch_size})", True))
    elif base.lr is not None:
        choices.append(Choice("lr", base.lr, "config file", False))
    if "warmup" in user_set:
        choices.append(Choice("warmup", base.warmup_steps, "set on the command line", False))
    elif base.warmup_steps is not None and scale != 1:
        warmup = max(1, round(base.warmup_steps / scale))  # the same samples in warmup: the plan kept
        source = f"fill_gpu: {base.warmup_steps} x {base.batch_size}/{batch} (the same samples in warmup)"
        choices.append(Choice("warmup", warmup, source, True))
    elif base.warmup_steps is not None:
        choices.append(Choice("warmup", base.warmup_steps, "config file", False))
    cores = max(1, machine.cpu_count // max(1, machine.local_processes))
    if "num_workers" in user_set:
        choices.append(Choice("num_workers", base.num_workers, "set on the command line", False))
    else:
        workers = max(base.num_workers, cores - CORES_FOR_MAIN_PROCESS)
        source = f"fill_gpu: {cores} CPU cores per process - {CORES_FOR_MAIN_PROCESS} for the train loop"
        if workers == base.num_workers:
            source = f"config file ({cores} CPU cores per process)"
        choices.append(Choice("num_workers", workers, source, workers != base.num_workers))
    return choices + plan_choices(base, batch, user_set)


def plan_choices(base: Baseline, batch: int, user_set: set[str]) -> list[Choice]:
    """The step counts of the file's plan divided by the batch's factor: the same samples in training, between
    checkpoints, log lines and validations, and the same learning-rate schedule in samples."""
    scale = batch / base.batch_size
    choices = []
    for key in PLAN_KEYS:
        value = getattr(base, key)
        if value is None:
            continue
        if key in user_set:
            choices.append(Choice(key, value, "set on the command line", False))
        elif scale == 1 or value <= 0:
            choices.append(Choice(key, value, "config file", False))
        else:
            # the run's length rounds up (never fewer samples); the cadences round to the nearest step
            new = math.ceil(value / scale) if key == "steps" else scaled_steps(value, scale)
            source = f"fill_gpu: {value} x {base.batch_size}/{batch} (the file's plan in samples)"
            choices.append(Choice(key, new, source, True))
    return choices


def this_machine(device: str) -> Machine:
    """The machine this process runs on (GPU of this process's local rank, CPU cores it may use)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    launch = compat.launch()
    memory, name = None, ""
    if device.split(":")[0] == "cuda":
        import torch  # heavy: only when a run asks for fill_gpu on a CUDA device

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(launch.local_rank % torch.cuda.device_count())
            memory, name = props.total_memory / 1e9, props.name
    return Machine(memory, cpus, launch.local_world_size, name)


def _lookup(rest: list[str], data: dict[str, Any] | None, flag: str) -> str | None:
    found = arg_value(rest, flag)
    if found is not None:
        return found[1]
    node: Any = data or {}
    for part in flag.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return None if node is None else str(node)


def fill_gpu(
    user_argv: list[str], rest: list[str], data: dict[str, Any] | None
) -> tuple[list[str], list[str], dict[str, str], float]:
    """Apply :func:`decide` to the prepared argv ``rest`` (the file's values in ``data``/``rest`` are the
    baseline; flags in ``user_argv`` win). Returns the new argv, log lines, the ``sizing`` row's parts and the
    batch's factor (new batch / the file's), by which lerobot-local's own step counts are divided too."""
    defaults = {f.name: f.default for f in dataclasses.fields(compat.train_config_class())}
    batch = _lookup(rest, data, "batch_size") or str(defaults.get("batch_size", 8))
    workers = _lookup(rest, data, "num_workers") or str(defaults.get("num_workers", 4))
    lr, warmup = _lookup(rest, data, FLAGS["lr"]), _lookup(rest, data, FLAGS["warmup"])
    flags = {**FLAGS, "eval_freq": compat.train_field_spelling(FLAGS["eval_freq"])}
    plan = {}
    for key in PLAN_KEYS:
        found = _lookup(rest, data, flags[key]) or defaults.get(flags[key])
        plan[key] = int(float(found)) if found not in (None, "None", "null") else None
    policy_type, policy_path = _lookup(rest, data, "policy.type"), _lookup(rest, data, "policy.path")
    if plan["decay"] is None:  # the policy's own default: LeRobot squeezes a schedule longer than the run
        decay = compat.policy_field_default(policy_type, policy_path, "scheduler_decay_steps")
        plan["decay"] = int(decay) if isinstance(decay, int | float) else None
    if warmup is None and plan["decay"] is not None:  # warmup and decay scale together
        default = compat.policy_field_default(policy_type, policy_path, "scheduler_warmup_steps")
        warmup = str(default) if isinstance(default, int | float) else None
    base = Baseline(
        int(batch), int(workers), float(lr) if lr else None, int(warmup) if warmup else None, **plan
    )
    user_set = {key for key, flag in flags.items() if arg_value(user_argv, flag) is not None}
    device = _lookup(rest, data, "policy.device") or "cuda"
    machine = this_machine(device)
    choices = decide(machine, base, user_set)
    for choice in choices:
        if choice.changed:
            rest = replace_arg(rest, choice.flag, str(choice.value))
    parts = {c.flag: f"{c.value} ({c.source})" for c in choices}
    backend = _lookup(rest, data, FLAGS["video_backend"]) or "pyav"
    if machine.gpu_memory_gb is None:
        parts["video decoding"] = f"{backend} (config; no CUDA GPU seen here)"
    else:
        parts["video decoding"] = worker_decoder(backend, "video_backend" in user_set, rest, data, defaults)
    where = f"{machine.gpu_name or 'no CUDA GPU'}, {machine.cpu_count} CPU cores"
    notes = [f"fill_gpu ({where}): " + ", ".join(f"{c.flag}={c.value}" for c in choices if c.changed)]
    factor = next(c.value for c in choices if c.key == "batch_size") / base.batch_size
    return rest, notes if any(c.changed for c in choices) else [], parts, factor


def scaled_steps(value: int, factor: float) -> int:
    """A count in steps of the file's plan at a batch ``factor`` times larger (the same samples)."""
    return value if factor == 1 or value <= 0 else max(1, round(value / factor))


def worker_decoder(
    backend: str, user_set: bool, rest: list[str], data: dict[str, Any] | None, defaults: dict[str, Any]
) -> str:
    """Let the data workers decode ``pyav`` videos with torchcodec on PyAV's FFmpeg where that works; say
    what the workers will use and why."""
    if backend != "pyav":
        return f"{backend} (config)"
    if user_set:
        return "pyav (set on the command line)"
    context = _lookup(rest, data, "dataloader_multiprocessing_context") or defaults.get(
        "dataloader_multiprocessing_context"
    )
    start = str(context) if context else "fork"
    if start not in compat.SPAWN_CONTEXTS:
        return (
            f"pyav (LeRobot {compat.lerobot_version()} forks its data workers from this process, which "
            "started without FFmpeg on its library path; torchcodec needs spawned workers)"
        )
    env = dict(os.environ)
    how = "torchcodec, system FFmpeg"
    if compat.torchcodec_loads() is not None:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lerobot-local"
        path = compat.pyav_ffmpeg_library_path(cache)
        if path is None:
            return "pyav (torchcodec cannot load here and PyAV's wheel carries no FFmpeg libraries)"
        env["LD_LIBRARY_PATH"] = ":".join(x for x in (path, env.get("LD_LIBRARY_PATH")) if x)
        how = "torchcodec on PyAV's FFmpeg"
    why = compat.torchcodec_loads_with(env)
    if why is not None:
        logger.warning("lerobot-local: torchcodec cannot load (%s); the data workers decode with pyav", why)
        return f"pyav (torchcodec cannot load: {why})"
    if env.get("LD_LIBRARY_PATH"):  # read by the workers LeRobot spawns (not by this running process)
        os.environ["LD_LIBRARY_PATH"] = env["LD_LIBRARY_PATH"]
    os.environ[compat.WORKER_DECODER_ENV] = "torchcodec"
    return f"{how} in the data workers (same frames as pyav, about 2x faster)"
