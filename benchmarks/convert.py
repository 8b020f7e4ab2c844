"""Converter at scale: lerobot-convert-local vs LeRobot's own v2.1 -> v3.0 converter vs a plain copy.

For each size, a synthetic v2.1 dataset (2 cameras, real mp4) is generated once; then, interleaved and
repeated, each contender runs in a fresh process on its own copy: ours with ``--verify=none`` (the same work
as LeRobot's, which verifies nothing), ours with ``--verify=quick`` (reported apart), LeRobot's
``convert_dataset(..., push_to_hub=False)`` on a copy laid out as ``PARENT/local/NAME`` (it treats its root as
the parent and moves the source aside), and ``cp -r`` of the source (the disk's floor). Prints a table of
medians and ratios and writes JSON.

    python benchmarks/convert.py --sizes 20,200,1000 --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, WORK, measure, median, print_table, tree_bytes, write_json

from lerobot_local.demo.synthetic_v21 import write_v21_dataset

THEIRS = (
    "import sys; from lerobot_local.compat import lerobot_v21_converter; "
    "lerobot_v21_converter()('local/' + sys.argv[2], root=sys.argv[1], push_to_hub=False)"
)


def source_dataset(episodes: int) -> Path:
    root = WORK / f"v21_{episodes}"
    if not (root / "meta" / "episodes_stats.jsonl").is_file():
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating {episodes} episodes x 2 cameras into {root} ...", flush=True)
        write_v21_dataset(root, episodes, seed=episodes)
    return root


def run_ours(src: Path, scratch: Path, verify: str) -> tuple[float, float, int]:
    out = scratch / f"ours_{verify}"
    m = measure(
        [str(BIN / "lerobot-convert-local"), f"--input={src}", f"--output={out}", f"--verify={verify}"]
    )
    assert m.returncode == 0, f"our converter failed on {src}"
    size = tree_bytes(out)
    shutil.rmtree(out)
    return m.wall_s, m.peak_rss_mb, size


def run_theirs(src: Path, scratch: Path) -> tuple[float, float, int] | None:
    parent = scratch / "theirs"
    shutil.copytree(src, parent / "local" / src.name)
    m = measure([sys.executable, "-c", THEIRS, str(parent), src.name])
    size = tree_bytes(parent / "local" / src.name) if m.returncode == 0 else 0
    shutil.rmtree(parent)
    return (m.wall_s, m.peak_rss_mb, size) if m.returncode == 0 else None


def run_copy(src: Path, scratch: Path) -> float:
    out = scratch / "copy"
    m = measure(["cp", "-r", str(src), str(out)])
    shutil.rmtree(out)
    return m.wall_s


def bench(episodes: int, repeats: int) -> dict:
    src = source_dataset(episodes)
    scratch = WORK / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    runs: dict[str, list] = {"ours": [], "ours_quick": [], "theirs": [], "copy": []}
    for _ in range(repeats):  # interleaved, so drift on a noisy machine hits every contender alike
        runs["copy"].append(run_copy(src, scratch))
        runs["ours"].append(run_ours(src, scratch, "none"))
        runs["theirs"].append(run_theirs(src, scratch))
        runs["ours_quick"].append(run_ours(src, scratch, "quick"))
    src_bytes = tree_bytes(src)
    theirs_ok = [r for r in runs["theirs"] if r is not None]
    result = {
        "episodes": episodes,
        "source_bytes": src_bytes,
        "copy_s": median(runs["copy"]),
        "ours_s": median([r[0] for r in runs["ours"]]),
        "ours_peak_mb": median([r[1] for r in runs["ours"]]),
        "ours_bytes": runs["ours"][0][2],
        "ours_quick_s": median([r[0] for r in runs["ours_quick"]]),
        "ours_quick_peak_mb": median([r[1] for r in runs["ours_quick"]]),
        "theirs_s": median([r[0] for r in theirs_ok]) if theirs_ok else None,
        "theirs_peak_mb": median([r[1] for r in theirs_ok]) if theirs_ok else None,
        "theirs_bytes": theirs_ok[0][2] if theirs_ok else None,
        "theirs_failed": repeats - len(theirs_ok),
        "repeats": repeats,
    }
    shutil.rmtree(scratch)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="20,200,1000", help="episode counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "convert.json")
    args = parser.parse_args()
    from common import lerobot_version

    results = [bench(int(n), args.repeats) for n in args.sizes.split(",")]
    base = results[0]["ours_peak_mb"]
    rows = []
    for r in results:
        mb = r["source_bytes"] / 1e6
        theirs = r["theirs_s"]
        rows.append(
            [
                r["episodes"],
                f"{mb:.1f}",
                f"{r['copy_s']:.2f}",
                f"{r['ours_s']:.2f}",
                f"{theirs:.2f}" if theirs else "failed",
                f"{theirs / r['ours_s']:.1f}x" if theirs else "-",
                f"{r['ours_peak_mb']:.0f}",
                f"{r['theirs_peak_mb']:.0f}" if theirs else "-",
                f"{r['ours_peak_mb'] / r['theirs_peak_mb']:.2f}" if theirs else "-",
                f"{r['ours_peak_mb'] / base - 1:+.0%}",
                f"{r['episodes'] / r['ours_s']:.0f}",
                f"{mb / r['ours_s']:.1f} ({mb / r['copy_s']:.1f})",
                f"{r['ours_quick_s']:.2f}",
            ]
        )
    print(f"\nLeRobot {lerobot_version()}, Python {sys.version.split()[0]}, medians of {args.repeats} runs")
    print_table(
        [
            "episodes",
            "MB",
            "cp -r s",
            "ours s",
            "LeRobot s",
            "speed-up",
            "ours MB RSS",
            "LeRobot MB RSS",
            "RSS ratio",
            "ours RSS vs first",
            "ours eps/s",
            "ours MB/s (cp)",
            "ours+quick verify s",
        ],
        rows,
    )
    write_json(
        args.json, {"lerobot": lerobot_version(), "python": sys.version.split()[0], "results": results}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
