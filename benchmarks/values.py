"""Value checks at scale: the one vectorised pass over state/action of the converter benchmark's datasets.

For each size (the same synthetic v2.1 datasets as benchmarks/convert.py, converted once to v3.0 with
``--verify=none``), in this process: reading the columns (``read``), the checks themselves (``scan``) and
both (``total``, what the before-train check costs), on the v3.0 folder and on the v2.1 one (one parquet
file per episode); then the scan alone on the 1,000-episode arrays tiled 2x, 4x and 8x, to show it is
linear in frames; and ``lerobot-local check PATH`` as a fresh process (interpreter, imports, structural
checks without opening videos, values). Prints a table of medians and writes JSON.

    python benchmarks/values.py --sizes 20,200,1000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, WORK, lerobot_version, measure, median, print_table, timed, write_json
from convert import source_dataset

from lerobot_local.convert.source import read_source
from lerobot_local.dataset import read_stats_json
from lerobot_local.values import ValueCheckSettings, ValueData, check_v2x, check_v30
from lerobot_local.values.data import read_v30
from lerobot_local.values.scan import ScanContext, scan


def converted(src: Path) -> Path:
    out = WORK / f"{src.name}_v30"
    if not (out / "meta" / "info.json").is_file():
        m = measure(
            [str(BIN / "lerobot-convert-local"), f"--input={src}", f"--output={out}", "--verify=none"]
        )
        assert m.returncode == 0, f"conversion of {src} failed"
    return out


def tiled(data: ValueData, times: int) -> ValueData:
    """``data`` repeated ``times`` times as distinct episodes (same joints, more frames)."""
    step = int(data.episode.max()) + 1
    return ValueData(
        root=data.root,
        fps=data.fps,
        features={k: np.concatenate([v] * times) for k, v in data.features.items()},
        names=data.names,
        episode=np.concatenate([data.episode + i * step for i in range(times)]),
        frame=np.concatenate([data.frame] * times),
        file_of_row=np.concatenate([data.file_of_row] * times),
        files=data.files,
    )


def bench(episodes: int, repeats: int) -> dict:
    settings = ValueCheckSettings()
    src = source_dataset(episodes)
    v30 = converted(src)
    info = json.loads((v30 / "meta" / "info.json").read_text())
    read_s, data = timed(lambda: read_v30(v30, info, settings.features), repeats)
    ctx = ScanContext(settings, stats_json=read_stats_json(v30))
    scan_s, findings = timed(lambda: scan(data, ctx), repeats)
    total_s, _ = timed(lambda: check_v30(v30, info, settings), repeats)
    source = read_source(src)
    v21_s, (_, v21_findings) = timed(lambda: check_v2x(source, settings), repeats)
    cli = [
        measure([str(BIN / "lerobot-local"), "check", str(v30), "--deep_video_check=false"]) for _ in range(3)
    ]
    assert all(m.returncode == 0 for m in cli), "lerobot-local check found errors in a clean dataset"
    return {
        "episodes": episodes,
        "frames": data.frames,
        "joints": sum(v.shape[1] for v in data.features.values()),
        "read_s": read_s,
        "scan_s": scan_s,
        "total_s": total_s,
        "v21_total_s": v21_s,
        "cli_s": median([m.wall_s for m in cli]),
        "cli_peak_mb": median([m.peak_rss_mb for m in cli]),
        "findings": len(findings) + len(v21_findings),
        "data": data,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="20,200,1000", help="episode counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "values.json")
    args = parser.parse_args()
    results = [bench(int(n), args.repeats) for n in args.sizes.split(",")]
    largest = results[-1].pop("data")
    for r in results[:-1]:
        r.pop("data")
    settings = ValueCheckSettings()
    ctx = ScanContext(settings)
    scaling = []
    for times in (1, 2, 4, 8):
        data = tiled(largest, times)
        seconds, _ = timed(lambda data=data: scan(data, ctx), args.repeats)
        scaling.append(
            {"frames": data.frames, "scan_s": seconds, "us_per_frame": seconds / data.frames * 1e6}
        )
    print(f"\nLeRobot {lerobot_version()}, Python {sys.version.split()[0]}, medians of {args.repeats} runs")
    print_table(
        [
            "episodes",
            "frames",
            "read s",
            "scan s",
            "v3.0 total s",
            "v2.1 total s",
            "`lerobot-local check` s",
            "peak MB",
            "findings",
        ],
        [
            [
                r["episodes"],
                f"{r['frames']:,}",
                f"{r['read_s']:.3f}",
                f"{r['scan_s']:.3f}",
                f"{r['total_s']:.3f}",
                f"{r['v21_total_s']:.3f}",
                f"{r['cli_s']:.2f}",
                f"{r['cli_peak_mb']:.0f}",
                r["findings"],
            ]
            for r in results
        ],
    )
    print()
    print_table(
        ["frames (1,000-episode data tiled)", "scan s", "µs per frame"],
        [[f"{s['frames']:,}", f"{s['scan_s']:.3f}", f"{s['us_per_frame']:.2f}"] for s in scaling],
    )
    write_json(
        args.json,
        {
            "lerobot": lerobot_version(),
            "python": sys.version.split()[0],
            "repeats": args.repeats,
            "results": results,
            "scaling": scaling,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
