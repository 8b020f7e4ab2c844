"""``lerobot-local eval``: evaluate any checkpoint offline on a local v3.0 dataset.

The same metrics as the validation inside ``lerobot-train`` (loss, per-joint open-loop action error in the
dataset's units, the constant-action baseline), a JSON report, and one PNG per evaluated episode (predicted
vs recorded trajectory of every joint). Works on checkpoints written without lerobot-local too. With
``--checkpoint=<run>/checkpoints`` every checkpoint of the run is evaluated and the best one named.

Exit codes: 0 evaluated, 1 bad input (the message names the file and the fix; nothing is written), 2 usage.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_local import compat

logger = logging.getLogger("lerobot_local")

HELP = """usage: lerobot-local eval --checkpoint=DIR [options]

  --checkpoint=DIR     a checkpoint (outputs/train/RUN/checkpoints/000020), its pretrained_model folder, or a
                       run's checkpoints folder (every checkpoint is evaluated, the best one named)
  --dataset_root=PATH  local v3.0 dataset (default: dataset.root of the checkpoint's train_config.json)
  --episodes=[3,7]     episodes to evaluate (default: the held-out episodes recorded with the checkpoint;
                       all episodes for a checkpoint trained without a holdout)
  --max_samples=N      frames evaluated, evenly spaced over the episodes (default: the run's setting, or 256)
  --batch_size=N       (default: the run's validation batch size, else its training batch size)
  --seed=N             noise of stochastic policies (default: the run's validation seed, or 0)
  --device=DEV         cpu, cuda, cuda:1, mps (default: cuda when available, else cpu)
  --report_json=FILE   write the metrics as JSON
  --plots_dir=DIR      write one PNG per evaluated episode: predicted vs recorded, every joint
  --plot_episodes=N    plot only the first N evaluated episodes (default: all)
  --untrained=true     evaluate the policy's untrained initialisation instead (a reference: same config,
                       fresh weights), to see what training bought
  --progress=false     no progress bars
"""


class EvalError(Exception):
    """Bad input: the message names the file and the fix."""


@dataclass
class Options:
    checkpoint: Path
    dataset_root: Path | None = None
    episodes: list[int] | None = None
    max_samples: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    device: str | None = None
    report_json: Path | None = None
    plots_dir: Path | None = None
    plot_episodes: int = 0
    untrained: bool = False
    progress: bool = True


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_args(argv: list[str]) -> Options:
    flags: dict[str, str] = {}
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"unexpected argument {arg!r} (flags are --name=value)")
        key, value = arg[2:].split("=", 1)
        flags[key] = value
    if "checkpoint" not in flags:
        raise ValueError("--checkpoint=DIR is required")
    known = set(Options.__dataclass_fields__)
    unknown = sorted(set(flags) - known)
    if unknown:
        raise ValueError(f"unknown flag(s) {', '.join('--' + u for u in unknown)}")
    opts = Options(checkpoint=Path(flags["checkpoint"]).expanduser())
    for name in ("dataset_root", "report_json", "plots_dir"):
        if name in flags:
            setattr(opts, name, Path(flags[name]).expanduser())
    for name in ("max_samples", "batch_size", "seed", "plot_episodes"):
        if name in flags:
            setattr(opts, name, int(flags[name]))
    if "episodes" in flags:
        episodes = json.loads(flags["episodes"])
        if not isinstance(episodes, list) or not all(isinstance(e, int) for e in episodes):
            raise ValueError("--episodes must be a JSON list of episode indices, e.g. --episodes=[0,3]")
        opts.episodes = episodes
    opts.device = flags.get("device")
    opts.untrained = _bool(flags.get("untrained", "false"))
    opts.progress = _bool(flags.get("progress", "true"))
    return opts


@dataclass
class Target:
    checkpoint: Path  # the checkpoint folder (or the pretrained folder when given alone)
    pretrained: Path
    step: int | None


def find_targets(path: Path) -> list[Target]:
    """The checkpoints ``path`` names (one, or every numbered one of a run's checkpoints folder)."""
    if not path.exists():
        raise EvalError(
            f"{path} does not exist; pass a checkpoint folder such as outputs/train/RUN/checkpoints/last"
        )
    pretrained = compat.pretrained_dir_of(path)
    if pretrained is not None:
        folder = pretrained.parent if pretrained.name == compat.PRETRAINED_DIR else pretrained
        folder = folder.resolve()
        return [Target(folder, pretrained, int(folder.name) if folder.name.isdigit() else None)]
    if path.is_dir():
        found = [
            Target(d, p, int(d.name))
            for d in compat.step_checkpoints(path)
            if (p := compat.pretrained_dir_of(d)) is not None
        ]
        if not found and (path / compat.CHECKPOINTS_DIR).is_dir():
            return find_targets(path / compat.CHECKPOINTS_DIR)
        if found:
            return found
    raise EvalError(
        f"{path} is not a LeRobot checkpoint: it has no {compat.PRETRAINED_DIR}/config.json and "
        "model.safetensors, and no numbered checkpoints; pass a checkpoint folder "
        "(outputs/train/RUN/checkpoints/000020), its pretrained_model folder, or the run's checkpoints folder"
    )


def _recorded(target: Target) -> tuple[dict[str, Any], dict[str, Any]]:
    """(train config, lerobot-local validation settings) saved with the checkpoint."""
    from lerobot_local.settings import load_checkpoint_settings

    train_cfg = compat.read_train_config(target.pretrained)
    saved = load_checkpoint_settings(target.checkpoint) or {}
    return train_cfg, saved.get("validation") or {}


def _dataset_shape(feature: dict[str, Any]) -> tuple[int, ...]:
    shape = tuple(int(n) for n in feature.get("shape", ()))
    names = feature.get("names") or []
    if feature.get("dtype") in ("video", "image") and len(shape) == 3 and list(names)[-1:] == ["channels"]:
        shape = (shape[2], shape[0], shape[1])
    return shape


def feature_problems(policy_features: dict[str, tuple[int, ...]], info: dict[str, Any]) -> list[str]:
    """How the dataset's features (info.json) differ from what the policy reads and predicts."""
    features = info.get("features", {})
    problems = []
    for key, shape in policy_features.items():
        if key not in features:
            problems.append(f"the dataset has no '{key}'")
            continue
        mine = _dataset_shape(features[key])
        visual = features[key].get("dtype") in ("video", "image")
        if (visual and mine[:1] != shape[:1]) or (not visual and mine != shape):
            problems.append(f"'{key}' has shape {list(mine)} in the dataset but {list(shape)} in the policy")
    return problems


def _plan(opts: Options, target: Target) -> dict[str, Any]:
    """Everything one evaluation needs, checked before anything is loaded or written."""
    from lerobot_local.validation.split import SplitError, episode_tasks

    train_cfg, recorded = _recorded(target)
    root = opts.dataset_root or (
        Path(train_cfg["dataset"]["root"]) if (train_cfg.get("dataset") or {}).get("root") else None
    )
    if root is None:
        raise EvalError(
            f"{target.pretrained / compat.TRAIN_CONFIG_FILE} names no dataset.root; pass --dataset_root=PATH"
        )
    info_path = root / "meta" / "info.json"
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError) as exc:
        raise EvalError(
            f"{info_path} cannot be read ({type(exc).__name__}); pass --dataset_root= a local v3.0 dataset "
            "(convert a v2.1 one with lerobot-convert-local)"
        ) from exc
    if info.get("codebase_version") != "v3.0":
        raise EvalError(
            f"{info_path} says codebase_version {info.get('codebase_version')!r}, not v3.0; convert it: "
            f"lerobot-convert-local --input={root} --output={root}_v30"
        )
    config = _policy_config(target.pretrained)
    problems = feature_problems(compat.policy_features(config), info)
    if problems:
        raise EvalError(
            f"{info_path}: the dataset's features differ from the policy's in {target.pretrained} ("
            + "; ".join(problems)
            + "); evaluate on a dataset recorded with the same robot and cameras (--dataset_root=...), "
            "or retrain the policy on this one"
        )
    try:
        tasks = episode_tasks(root)
    except SplitError as exc:
        raise EvalError(str(exc)) from exc
    if opts.episodes is not None:
        episodes, source = sorted(set(opts.episodes)), "--episodes"
    elif recorded.get("episodes") and _same_path(root, (train_cfg.get("dataset") or {}).get("root")):
        episodes, source = sorted(recorded["episodes"]), "the held-out episodes recorded with the checkpoint"
    else:
        episodes, source = sorted(tasks), "all episodes (the checkpoint records no holdout)"
    unknown = [e for e in episodes if e not in tasks]
    if unknown:
        raise EvalError(f"{root} has no episodes {unknown} (it has 0..{max(tasks)}); fix --episodes")
    batch = opts.batch_size or recorded.get("batch_size") or train_cfg.get("batch_size") or 8
    return {
        "root": root,
        "info": info,
        "episodes": episodes,
        "episodes_from": source,
        "max_samples": opts.max_samples or recorded.get("max_samples") or 256,
        "batch_size": int(batch),
        "seed": opts.seed if opts.seed is not None else int(recorded.get("seed", 0)),
        "video_backend": (train_cfg.get("dataset") or {}).get("video_backend") or "pyav",
    }


def _same_path(a: Path, b: str | None) -> bool:
    return b is not None and Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _policy_config(pretrained: Path) -> Any:
    compat.register_policy_configs()
    config, error = compat.load_policy_config(str(pretrained), [])
    if config is None:
        raise EvalError(f"{pretrained / 'config.json'} cannot be read as a LeRobot policy config ({error})")
    return config


def _in_training(target: Target) -> dict[str, Any] | None:
    from lerobot_local.validation.records import read_checkpoint_validation

    saved = read_checkpoint_validation(target.checkpoint)
    if not saved:
        return None
    return {k: saved.get(k) for k in ("val_loss", "mae_mean", "rmse_mean", "frames", "holdout_episodes")}


def evaluate_target(opts: Options, target: Target, plan: dict[str, Any], device: str) -> dict[str, Any]:
    from tqdm import tqdm

    from lerobot_local.validation import plots
    from lerobot_local.validation.metrics import action_names, evaluate, select_frames, trajectory

    config, policy, pre, post = compat.load_policy_from_checkpoint(target.pretrained, device)
    dataset = compat.open_dataset(plan["root"], plan["episodes"], config, video_backend=plan["video_backend"])
    if opts.untrained:
        policy = compat.untrained_policy(config, dataset, device, plan["seed"])
    names = action_names(plan["info"], int(dataset.meta.features["action"]["shape"][0]))
    frames = select_frames(len(dataset), plan["max_samples"])
    label = target.checkpoint.name + (" (untrained)" if opts.untrained else "")
    with tqdm(total=len(frames), desc=f"eval {label}", unit="frame", disable=not opts.progress) as bar:
        metrics = evaluate(
            policy,
            pre,
            post,
            dataset,
            frames,
            batch_size=plan["batch_size"],
            seed=plan["seed"],
            names=names,
            progress=bar,
        )
    result: dict[str, Any] = {
        "checkpoint": str(target.checkpoint),
        "step": target.step,
        "untrained": opts.untrained,
        "joints": names,
        "metrics": metrics,
        "in_training": None if opts.untrained else _in_training(target),
        "plots": [],
    }
    if opts.plots_dir is not None:
        plot_episodes = plan["episodes"][: opts.plot_episodes] if opts.plot_episodes > 0 else plan["episodes"]
        folder = opts.plots_dir / (target.checkpoint.name if len(opts._targets) > 1 else "")
        folder.mkdir(parents=True, exist_ok=True)
        executes = compat.policy_executes(config)
        for episode in tqdm(plot_episodes, desc="trajectories", unit="episode", disable=not opts.progress):
            one = compat.open_dataset(plan["root"], [episode], config, video_backend=plan["video_backend"])
            traj = trajectory(policy, pre, post, one, executes=executes, seed=plan["seed"])
            png = plots.trajectory(traj, names, f"{label}, episode {episode}: predicted vs recorded")
            path = folder / f"episode_{episode:06d}.png"
            path.write_bytes(png)
            result["plots"].append(str(path))
    return result


def _summary(results: list[dict[str, Any]]) -> str:
    head = ("checkpoint", "val loss", "MAE", "RMSE", "const MAE", "in-training loss")
    lines = ["  " + "  ".join(f"{h:>16}" for h in head)]
    for r in results:
        m = r["metrics"]
        base = (m.get("baseline_constant") or {}).get("mae_mean")
        training = (r.get("in_training") or {}).get("val_loss")
        name = Path(r["checkpoint"]).name + (" untrained" if r.get("untrained") else "")
        cells = [name, m["val_loss"], m["mae_mean"], m["rmse_mean"], base, training]
        lines.append(
            "  " + "  ".join(f"{c:>16.5f}" if isinstance(c, float) else f"{c or '-':>16}" for c in cells)
        )
    return "\n".join(lines)


def run(opts: Options) -> dict[str, Any]:
    targets = find_targets(opts.checkpoint)
    opts._targets = targets  # type: ignore[attr-defined]
    plans = [_plan(opts, t) for t in targets]  # every input checked before anything is written
    device = opts.device or _default_device()
    results = [evaluate_target(opts, t, p, device) for t, p in zip(targets, plans, strict=True)]
    best = min(results, key=lambda r: r["metrics"]["val_loss"])
    report = {
        "dataset_root": str(plans[0]["root"]),
        "episodes": plans[0]["episodes"],
        "episodes_from": plans[0]["episodes_from"],
        "max_samples": plans[0]["max_samples"],
        "batch_size": plans[0]["batch_size"],
        "seed": plans[0]["seed"],
        "device": device,
        "lerobot_version": compat.lerobot_version(),
        "checkpoints": results,
        "best": {
            "checkpoint": best["checkpoint"],
            "val_loss": best["metrics"]["val_loss"],
            "why": f"lowest validation loss of the {len(results)} checkpoint(s) evaluated",
        },
    }
    return report


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def main(argv: list[str]) -> int:
    from lerobot_local.logs import setup_logging

    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip() + "\n\n" + HELP)
        return 0
    try:
        opts = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}\n\n{HELP}", file=sys.stderr)
        return 2
    setup_logging()
    compat.force_offline()
    try:
        report = run(opts)
    except EvalError as exc:
        print(f"lerobot-local eval: ERROR: {exc}", file=sys.stderr)
        return 1
    print(
        f"lerobot-local eval: {report['dataset_root']}, episodes {report['episodes']} "
        f"({report['episodes_from']})"
    )
    print(_summary(report["checkpoints"]))
    if len(report["checkpoints"]) > 1:
        print(
            f"best: {report['best']['checkpoint']} "
            f"({report['best']['why']}: {report['best']['val_loss']:.5f})"
        )
    for r in report["checkpoints"]:
        for plot in r["plots"]:
            print(f"plot: {plot}")
    if opts.report_json is not None:
        opts.report_json.parent.mkdir(parents=True, exist_ok=True)
        opts.report_json.write_text(json.dumps(report, indent=2))
        print(f"report: {opts.report_json}")
    return 0
