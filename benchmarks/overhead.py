"""What the plugin costs: interpreter start-up, lerobot-train start-up and steps/s, manifest time.

1. ``python -c pass`` in a bare venv vs the same venv with only lerobot-local installed (its ``.pth`` runs at
   every start-up), interleaved, median of many runs.
2. ``lerobot-train`` (tiny ACT on the bundled fixture, CPU), plugin active vs ``LEROBOT_LOCAL_DISABLE=1``,
   interleaved: seconds to the first logged step, and steps/s from the first logged step to the end (which
   includes the checkpoints and, with the plugin, their manifests).
3. sha256 manifest of a 1 GB checkpoint vs reading the same bytes once (page cache warm for both).

    python benchmarks/overhead.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, WORK, lerobot_version, median, print_table, write_json

from lerobot_local import compat
from lerobot_local.manifest import write_manifest

REPO = Path(__file__).resolve().parents[1]


def startup(runs: int) -> dict[str, float]:
    bare, plugged = WORK / "venv_bare", WORK / "venv_plugin"
    wheels = WORK / "wheels"
    for venv in (bare, plugged):
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    if not list(plugged.glob("lib/python*/site-packages/lerobot_local_activate.pth")):
        shutil.rmtree(wheels, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(wheels),
                str(REPO),
            ],
            check=True,
        )
        site = next(plugged.glob("lib/python*/site-packages"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(site),
                *map(str, wheels.glob("*.whl")),
            ],
            check=True,
        )
    times: dict[str, list[float]] = {"bare": [], "plugin": []}
    for _ in range(runs):
        for name, venv in (("bare", bare), ("plugin", plugged)):
            started = time.perf_counter()
            subprocess.run([str(venv / "bin" / "python"), "-c", "pass"], check=True)
            times[name].append(time.perf_counter() - started)
    return {name: median(values) * 1000 for name, values in times.items()}


def train_run(cfg: Path, disabled: bool) -> tuple[float, float, int]:
    """(seconds to the first logged step, steps/s after it, steps logged) of one real lerobot-train run."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **({"LEROBOT_LOCAL_DISABLE": "1"} if disabled else {})}
    out = Path(json.loads(cfg.read_text())["output_dir"])
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "lerobot-train"), f"--config_path={cfg}"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    first = last = None
    steps = 0
    for line in proc.stderr:
        if " step:" in line and "smpl:" in line:
            last = time.perf_counter()
            first = first or last
            steps += 1
    proc.wait()
    end = time.perf_counter()
    assert proc.returncode == 0 and first is not None, f"lerobot-train failed (disabled={disabled})"
    return first - started, (steps - 1) / (end - first), steps


def training(runs: int, steps: int) -> dict[str, float]:
    src = WORK / "fixture_v30"
    if not (src / "meta" / "info.json").exists():
        subprocess.run(
            [
                str(BIN / "lerobot-convert-local"),
                f"--input={REPO / 'tests/fixtures/v21_video'}",
                f"--output={src}",
            ],
            check=True,
            capture_output=True,
        )
    config = {
        "dataset": {"repo_id": "local/bench", "root": str(src), "video_backend": "pyav"},
        "policy": {
            "type": "act", "device": "cpu", "push_to_hub": False, "pretrained_backbone_weights": None,
            "dim_model": 64, "n_heads": 2, "dim_feedforward": 128, "n_encoder_layers": 1,
            "n_decoder_layers": 1, "chunk_size": 5, "n_action_steps": 5, "use_vae": False,
        },
        "batch_size": 4, "steps": steps, "save_freq": steps // 2, "log_freq": 1, "num_workers": 0,
        "wandb": {"enable": False},
    }  # fmt: skip
    for rename in compat.field_renames(compat.train_config_fields()):
        config.pop(rename.old, None)
    cfgs = {}
    for name in ("plugin", "disabled"):
        cfgs[name] = WORK / f"train_{name}.json"
        cfgs[name].write_text(json.dumps({**config, "output_dir": str(WORK / f"train_{name}")}))
    results: dict[str, list[tuple[float, float, int]]] = {"plugin": [], "disabled": []}
    for _ in range(runs):
        for name in ("plugin", "disabled"):
            results[name].append(train_run(cfgs[name], disabled=name == "disabled"))
    return {
        f"{name}_{what}": median([r[i] for r in values])
        for name, values in results.items()
        for i, what in ((0, "first_step_s"), (1, "steps_per_s"))
    }


def manifest(size_gb: float, runs: int) -> dict[str, float]:
    ckpt = WORK / "checkpoint_1gb"
    weights = ckpt / "pretrained_model" / "model.safetensors"
    if not weights.exists() or weights.stat().st_size != int(size_gb * 1e9):
        weights.parent.mkdir(parents=True, exist_ok=True)
        with weights.open("wb") as fh:
            for _ in range(int(size_gb * 1000)):
                fh.write(os.urandom(1_000_000))
    read_s, manifest_s = [], []
    for _ in range(runs):
        started = time.perf_counter()
        with weights.open("rb") as fh:
            while fh.read(8 << 20):
                pass
        read_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        write_manifest(ckpt)
        manifest_s.append(time.perf_counter() - started)
    return {"read_s": median(read_s), "manifest_s": median(manifest_s), "gb": size_gb}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--startup-runs", type=int, default=200)
    parser.add_argument("--train-runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--manifest-gb", type=float, default=1.0)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "overhead.json")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    s = startup(args.startup_runs)
    t = training(args.train_runs, args.steps)
    m = manifest(args.manifest_gb, 3)
    print(f"\nLeRobot {lerobot_version()}, Python {sys.version.split()[0]}")
    ratio = t["plugin_steps_per_s"] / t["disabled_steps_per_s"]
    first = t["plugin_first_step_s"] - t["disabled_first_step_s"]
    rows = [
        ["`python -c pass` start-up (ms, median)", s["bare"], s["plugin"],
         f"{s['plugin'] - s['bare']:+.2f} ms"],
        ["lerobot-train: start to first step (s)", t["disabled_first_step_s"], t["plugin_first_step_s"],
         f"{first:+.2f} s"],
        [f"lerobot-train: steps/s over {args.steps} steps incl. checkpoints", t["disabled_steps_per_s"],
         t["plugin_steps_per_s"], f"{ratio:.3f}"],
        [f"{m['gb']:.0f} GB checkpoint: read once vs manifest (s)", m["read_s"], m["manifest_s"],
         f"{m['manifest_s'] / m['read_s']:.2f}x the read time"],
    ]  # fmt: skip
    print_table(
        ["what", "without the plugin", "with the plugin", "ratio / difference"],
        [[name, f"{a:.2f}", f"{b:.2f}", diff] for name, a, b, diff in rows],
    )
    write_json(args.json, {"lerobot": lerobot_version(), "startup_ms": s, "train": t, "manifest": m})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
