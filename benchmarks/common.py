"""Shared helpers of the benchmarks: measured subprocess runs, medians, a plain table printer."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
WORK = Path(os.environ.get("LEROBOT_LOCAL_BENCH_DIR", "/tmp/lerobot-local-bench"))


@dataclass
class Measured:
    """Wall time (s) and peak resident memory (MB) of one subprocess and its waited-for children."""

    wall_s: float
    peak_rss_mb: float
    returncode: int


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run ``cmd`` and return its wall time and peak RSS (``wait4``: this child only, not earlier ones)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=full_env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return Measured(wall, usage.ru_maxrss / 1024, proc.returncode)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn, repeats: int) -> tuple[float, object]:
    """(median wall seconds of ``repeats`` calls of ``fn``, the last call's result), in this process."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return median(times), result


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def lerobot_version() -> str:
    from importlib.metadata import version

    return version("lerobot")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Print a Markdown table (copy-paste ready for docs/)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=lambda o: asdict(o)) + "\n")
    print(f"\nwrote {path}")


def add_gpu_model_args(parser: Any, image_size: int) -> None:
    """The GPU benchmarks' model and data size flags (hidden: a CPU smoke test uses
    --device cpu --vlm_size tiny --image_size 64 --height 48 --width 64)."""
    hidden = argparse.SUPPRESS
    parser.add_argument("--device", default="cuda", help=hidden)
    parser.add_argument("--vlm_size", default="full", help=hidden)
    parser.add_argument("--image_size", type=int, default=image_size, help=hidden)
    parser.add_argument("--height", type=int, default=480, help=hidden)
    parser.add_argument("--width", type=int, default=640, help=hidden)
