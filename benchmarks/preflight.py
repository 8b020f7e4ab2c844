"""Preflight on a large converted dataset: metadata-level checks vs the deep video check, in-process.

Converts a synthetic v2.1 dataset of N episodes once (cached under /tmp/lerobot-local-bench), then times each
before-train check on it (median of several runs, LeRobot already imported, as inside lerobot-train), and
the whole ``lerobot-local preflight`` command (which imports LeRobot and parses the config) against a bare
``import`` of LeRobot's training script.

    python benchmarks/preflight.py --episodes 1000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, WORK, lerobot_version, measure, median, print_table, timed, write_json

from lerobot_local.checks import dataset, fps, profile
from lerobot_local.dataset import data_files
from lerobot_local.demo.synthetic_v21 import write_v21_dataset
from lerobot_local.facts import gather_run_facts
from lerobot_local.settings import LocalSettings


def converted(episodes: int) -> Path:
    src, out = WORK / f"v21_{episodes}", WORK / f"v30_{episodes}"
    if not (src / "meta" / "episodes_stats.jsonl").is_file():
        write_v21_dataset(src, episodes, seed=episodes)
    if not (out / "meta" / "info.json").is_file():
        cmd = [str(BIN / "lerobot-convert-local"), f"--input={src}", f"--output={out}", "--verify=none"]
        assert measure(cmd).returncode == 0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "preflight.json")
    args = parser.parse_args()
    root = converted(args.episodes)
    config = SimpleNamespace(
        dataset=SimpleNamespace(root=str(root), repo_id="local/bench"),
        policy=SimpleNamespace(chunk_size=50, type="act"),
    )
    meta_settings, deep_settings = LocalSettings(deep_video_check=False), LocalSettings(deep_video_check=True)
    facts = gather_run_facts(config, [])
    ds = facts.dataset
    rows = {
        "run facts: info.json and meta/episodes, read once (as run)": timed(
            lambda: gather_run_facts(config, []).dataset.root, args.repeats
        ),
        "dataset (root, version, every file present)": timed(
            lambda: dataset.check_v30(ds.root, ds.info), args.repeats
        ),
        "fps: timestamps of every episode": timed(
            lambda: fps.check_timestamps(data_files(ds.root), ds.fps), args.repeats
        ),
        "fps + horizon (metadata level, as run)": timed(
            lambda: (
                fps.lerobot_local_check_dataset(facts.data, meta_settings),
                fps.lerobot_local_before_train(facts),
            ),
            args.repeats,
        ),
        "profile local_grasp": timed(
            lambda: profile.lerobot_local_check_dataset(facts.data, LocalSettings(profile="local_grasp")),
            args.repeats,
        ),
        "deep: every video's stream vs its episodes": timed(lambda: dataset.video_problems(ds), args.repeats),
        "dataset with deep_video_check=true (as run)": timed(
            lambda: dataset.lerobot_local_check_dataset(facts.data, deep_settings), args.repeats
        ),
    }
    for name, (_, result) in rows.items():
        text = json.dumps(result, default=lambda o: getattr(o, "status", str(o)))
        assert "error" not in text, f"{name}: {result}"
    meta_total = sum(t for name, (t, _) in rows.items() if "as run" in name and "deep" not in name)
    meta_total += rows["dataset (root, version, every file present)"][0]
    meta_total += rows["profile local_grasp"][0]
    cfg = WORK / "preflight_cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "dataset": {"repo_id": "local/bench", "root": str(root), "video_backend": "pyav"},
                "policy": {"type": "act", "device": "cpu", "push_to_hub": False},
                "output_dir": str(WORK / "preflight_run"),
                "wandb": {"enable": False},
            }
        )
    )
    preflight = [measure([str(BIN / "lerobot-local"), "preflight", f"--config_path={cfg}"]) for _ in range(3)]
    bare = [measure([sys.executable, "-c", "import lerobot.scripts.lerobot_train"]) for _ in range(3)]
    print(f"\nLeRobot {lerobot_version()}, {args.episodes} episodes, medians of {args.repeats} runs")
    print_table(["check", "seconds"], [[name, f"{t:.3f}"] for name, (t, _) in rows.items()])
    print(f"\nmetadata-level checks together: {meta_total:.3f} s (target < 2 s)")
    deep = rows["deep: every video's stream vs its episodes"][0]
    print(f"deep video check: {deep:.3f} s (target < 30 s)")
    p, b = median([m.wall_s for m in preflight]), median([m.wall_s for m in bare])
    print(
        f"`lerobot-local preflight` command: {p:.2f} s, of which importing LeRobot's train script {b:.2f} s"
    )
    write_json(
        args.json,
        {
            "lerobot": lerobot_version(),
            "episodes": args.episodes,
            "checks_s": {name: t for name, (t, _) in rows.items()},
            "metadata_total_s": meta_total,
            "preflight_command_s": p,
            "import_lerobot_train_s": b,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
