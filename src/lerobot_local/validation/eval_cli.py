"""``lerobot-local eval``: evaluate any checkpoint offline on a local v3.0 dataset.

The same metrics as the validation inside ``lerobot-train`` (loss, per-joint open-loop action error in the
joints' units, the constant-action baseline, the untrained initialisation) and the same verdict in words, a
JSON report, and one PNG per evaluated episode (predicted vs recorded trajectory of every joint). Works on
checkpoints written without lerobot-local too. With ``--checkpoint=<run>/checkpoints`` every checkpoint of
the run is evaluated and the best one named. LeRobot's spellings work too (``--policy.path``,
``--dataset.root``, ``--dataset.episodes``); relative paths of the checkpoint's config resolve against the
directory training ran in (recorded in the run's metrics file), wherever eval runs from.

Exit codes: 0 evaluated, 1 bad input (the message names the file and the fix; nothing is written), 2 usage.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lerobot_local import compat
from lerobot_local.dataset import INFO_PATH, V30, read_info, version_of
from lerobot_local.suggest import closest
from lerobot_local.validation import records
from lerobot_local.validation.units import joint_units, units_label
from lerobot_local.validation.verdict import judge, overfitting

logger = logging.getLogger("lerobot_local")

HELP = """usage: lerobot-local eval --checkpoint=DIR [options]

  --checkpoint=DIR     a checkpoint (outputs/train/RUN/checkpoints/000020), its pretrained_model folder, or a
                       run's checkpoints folder (every checkpoint is evaluated, the best one named);
                       LeRobot's --policy.path=DIR/pretrained_model works too
  --dataset_root=PATH  local v3.0 dataset (default: dataset.root of the checkpoint's train_config.json,
                       relative to where training ran); also --dataset.root=PATH
  --episodes=[3,7]     episodes to evaluate (default: the held-out episodes recorded with the checkpoint;
                       else those its train_config.json's dataset.episodes left out; all episodes when it
                       saw them all or on another dataset); also --dataset.episodes=;
                       episodes the checkpoint was trained on are marked "trained on" (not a held-out score)
  --max_samples=N      frames evaluated, evenly spaced over the episodes (default: the run's setting, or 256)
  --batch_size=N       (default: the run's validation batch size, else its training batch size)
  --seed=N             noise of stochastic policies (default: the run's validation seed, or 0)
  --device=DEV         cpu, cuda, cuda:1, mps (default: cuda when available, else cpu)
  --report_json=FILE   write the metrics as JSON
  --plots_dir=DIR      write one PNG per evaluated episode: predicted vs recorded, every joint
  --plot_episodes=N    plot only the first N evaluated episodes (default: all)
  --untrained=true     evaluate the policy's untrained initialisation instead (a reference: same config,
                       fresh weights), to see what training bought
  --untrained_reference=false
                       skip scoring the untrained initialisation for the verdict (reused from the run's
                       metrics file when it holds one for the same frames, else computed once)
  --beat_margin=0.05   a joint beats a reference when its MAE is this fraction lower (default: the run's)
  --progress=false     no progress bars
"""
# LeRobot's spelling -> ours
LEROBOT_SPELLINGS = {
    "policy.path": "checkpoint",
    "dataset.root": "dataset_root",
    "dataset.episodes": "episodes",
    "policy.device": "device",
}


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
    untrained_reference: bool = True
    beat_margin: float | None = None
    progress: bool = True
    _targets: list[Any] = field(default_factory=list, repr=False)


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _flags(argv: list[str]) -> dict[str, str]:
    """``--name=value`` flags, LeRobot's spellings translated; unknown names refused with the closest."""
    known = {n for n in Options.__dataclass_fields__ if not n.startswith("_")}
    flags: dict[str, str] = {}
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"unexpected argument {arg!r} (flags are --name=value)")
        key, value = arg[2:].split("=", 1)
        name = LEROBOT_SPELLINGS.get(key, key)
        if name not in known:
            matches = closest(key, known | set(LEROBOT_SPELLINGS))
            hint = f"; did you mean {' or '.join('--' + m for m in matches)}?" if matches else ""
            raise ValueError(f"unknown flag --{key}{hint}")
        if name in flags and flags[name] != value:
            raise ValueError(f"--{key}={value} contradicts an earlier flag for the same setting ({name})")
        flags[name] = value
    return flags


def parse_args(argv: list[str]) -> Options:
    flags = _flags(argv)
    if "checkpoint" not in flags:
        raise ValueError("--checkpoint=DIR (or LeRobot's --policy.path=DIR/pretrained_model) is required")
    # the user's relative paths are relative to where eval runs (the checkpoint's own ones are not)
    opts = Options(checkpoint=Path(flags["checkpoint"]).expanduser().absolute())
    for name in ("dataset_root", "report_json", "plots_dir"):
        if name in flags:
            setattr(opts, name, Path(flags[name]).expanduser().absolute())
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
    opts.untrained_reference = _bool(flags.get("untrained_reference", "true"))
    if "beat_margin" in flags:
        opts.beat_margin = float(flags["beat_margin"])
        if not 0 <= opts.beat_margin < 1:
            raise ValueError(f"--beat_margin={opts.beat_margin} must be a fraction in [0, 1), e.g. 0.05")
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


def feature_problems(policy_features: dict[str, tuple[int, ...]], info: dict[str, Any]) -> list[str]:
    """How the dataset's features (info.json) differ from what the policy reads and predicts; images are
    compared as LeRobot hands them to a policy (every axis spelling it accepts: ``channel``, ``channels``)."""
    features = info.get("features", {})
    shapes = compat.dataset_feature_shapes(features if isinstance(features, dict) else {})
    problems = []
    for key, shape in policy_features.items():
        if key not in features:
            problems.append(f"the dataset has no '{key}'")
            continue
        mine = shapes.get(key, ())
        visual = features[key].get("dtype") in ("video", "image")
        if (visual and mine[:1] != shape[:1]) or (not visual and mine != shape):
            problems.append(f"'{key}' has shape {list(mine)} in the dataset but {list(shape)} in the policy")
    return problems


def run_directory(target: Target, train_cfg: dict[str, Any]) -> tuple[Path, str]:
    """The working directory training ran in (relative paths of its config resolve against it), and how it
    was found: recorded in the run's metrics file, else implied by a relative ``output_dir``, else here."""
    run_dir = compat.run_dir_of_checkpoint(target.checkpoint)
    runs = [r for r in records.read(run_dir) if r.get("kind") == "run" and r.get("cwd")]
    if runs and Path(runs[-1]["cwd"]).is_dir():
        return Path(runs[-1]["cwd"]), f"recorded in {run_dir / records.METRICS_FILE}"
    output = train_cfg.get("output_dir")
    if output and not Path(output).is_absolute():
        parts = Path(output).parts
        resolved = run_dir.resolve()
        if resolved.parts[-len(parts) :] == parts:
            return resolved.parents[len(parts) - 1], f"implied by output_dir={output}"
    return Path.cwd(), "the current directory (the run records no working directory)"


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Run the body in ``path`` (a checkpoint's relative paths resolve as when training ran)."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _offline_problem(config: Any, pretrained: Path, cwd: Path, opts: Options) -> str | None:
    """The before-train ``offline_models`` message for a model the policy loads that is not here, or None.
    The backbone's ImageNet weights matter only for the untrained initialisation (the trained policy's come
    from the checkpoint)."""
    from lerobot_local.checks.offline import check_models  # the same row as training, word for word

    facts = SimpleNamespace(policy_path=None, policy=config, policy_error=None)
    with working_directory(cwd):
        rows = [r for r in check_models(facts, backbone=False) if r.severity == "error"]
        downloads = compat.policy_downloads(config) if opts.untrained or opts.untrained_reference else []
    problems = [
        f"{pretrained / 'config.json'}: offline_models: {r.message} (relative to {cwd}); fix: {r.fix}"
        for r in rows
    ]
    flag = "--untrained=true" if opts.untrained else "the untrained reference"
    fix = (
        ""
        if opts.untrained
        else ", or pass --untrained_reference=false (the trained weights need no download)"
    )
    problems += [
        f"{pretrained / 'config.json'}: {d.field}={d.name}: {flag} starts from the ImageNet weights of the "
        f"{d.backbone} backbone, not available offline at {d.file}; fix: download {d.url} on a connected "
        f"machine and put it at exactly {d.file}{fix}"
        for d in downloads
        if d.file is not None and not d.present
    ]
    return "; ".join(problems) or None


def _plan(opts: Options, target: Target) -> dict[str, Any]:
    """Everything one evaluation needs, checked before anything is loaded or written."""
    from lerobot_local.validation.split import SplitError, episode_tasks

    train_cfg, recorded = _recorded(target)
    cwd, cwd_from = run_directory(target, train_cfg)
    trained_root = (train_cfg.get("dataset") or {}).get("root")
    trained_root = Path(os.path.normpath(cwd / Path(trained_root).expanduser())) if trained_root else None
    root = opts.dataset_root or trained_root
    if root is None:
        raise EvalError(
            f"{target.pretrained / compat.TRAIN_CONFIG_FILE} names no dataset.root; pass --dataset.root=PATH"
        )
    info_path = root / INFO_PATH
    info, problem = read_info(root)
    if info is None:
        raise EvalError(
            f"{problem}; pass --dataset.root= a local v3.0 dataset (convert a v2.1 one with "
            "lerobot-convert-local)"
        )
    if version_of(info) != V30:
        raise EvalError(
            f"{info_path} says codebase_version {info.get('codebase_version')!r}, not v3.0; convert it: "
            f"lerobot-convert-local --input={root} --output={root}_v30"
        )
    config = _policy_config(target.pretrained)
    offline = _offline_problem(config, target.pretrained, cwd, opts)
    if offline:
        raise EvalError(offline)
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
    same_path = trained_root is not None and _same_path(root, str(trained_root))
    copy = not same_path and _same_episodes(root, info, tasks, trained_root)
    same_dataset = same_path or copy
    trained_on = (train_cfg.get("dataset") or {}).get("episodes")
    trained = set(trained_on if trained_on is not None else tasks) if same_dataset else set()
    episodes, source = _default_episodes(tasks, recorded, trained, same_dataset, trained_root, root)
    if copy:
        source += f"; {root} has the episodes of {trained_root}, the dataset trained on"
    if opts.episodes is not None:
        episodes, source = sorted(set(opts.episodes)), "--episodes"
    unknown = [e for e in episodes if e not in tasks]
    if unknown:
        raise EvalError(f"{root} has no episodes {unknown} (it has 0..{max(tasks)}); fix --episodes")
    batch = opts.batch_size or recorded.get("batch_size") or train_cfg.get("batch_size") or 8
    margin = opts.beat_margin if opts.beat_margin is not None else recorded.get("beat_margin", 0.05)
    return {
        "root": root,
        "info": info,
        "cwd": cwd,
        "cwd_from": cwd_from,
        "episodes": episodes,
        "episodes_from": source,
        "trained_on": [e for e in episodes if e in trained],
        "max_samples": opts.max_samples or recorded.get("max_samples") or 256,
        "batch_size": int(batch),
        "seed": opts.seed if opts.seed is not None else int(recorded.get("seed", 0)),
        # the untrained initialisation is built with the run's seed: the weights training started from
        "init_seed": int(train_cfg["seed"]) if train_cfg.get("seed") is not None else 0,
        "video_backend": (train_cfg.get("dataset") or {}).get("video_backend") or "pyav",
        "beat_margin": float(margin),
        "overfit_checkpoints": int(recorded.get("overfit_checkpoints", 2)),
        "profile": _profile(target),
    }


def _same_episodes(root: Path, info: dict[str, Any], tasks: dict[int, list[str]], other: Path | None) -> bool:
    """True when ``other`` (the dataset trained on) holds the same episodes as ``root``: a copy (e.g. one
    whose ``info.json`` was edited by hand), with the same episode count, frames, fps and task per episode."""
    from lerobot_local.validation.split import SplitError, episode_tasks

    if other is None:
        return False
    theirs, _ = read_info(other)
    if theirs is None:
        return False
    if any(theirs.get(k) != info.get(k) for k in ("total_episodes", "total_frames", "fps")):
        return False
    try:
        return episode_tasks(other) == tasks
    except SplitError:
        return False


def _default_episodes(
    tasks: dict[int, list[str]],
    recorded: dict[str, Any],
    trained: set[int],
    same_dataset: bool,
    trained_root: Path | None,
    root: Path,
) -> tuple[list[int], str]:
    """The episodes evaluated when --episodes is not given, and why, in words that are true."""
    if not same_dataset:
        if trained_root is None:
            why = "its train_config.json names no dataset.root, so which episodes it saw is unknown"
        else:
            why = f"{root} is not the dataset trained on ({trained_root}): every episode is new to the policy"
        return sorted(tasks), f"all episodes ({why})"
    if recorded.get("episodes"):
        return sorted(recorded["episodes"]), "the held-out episodes recorded with the checkpoint"
    unseen = sorted(set(tasks) - trained)
    if unseen:
        return unseen, "the episodes left out of dataset.episodes in the checkpoint's train_config.json"
    return sorted(tasks), "all episodes (the checkpoint was trained on every episode: it held none out)"


def _profile(target: Target) -> str | None:
    from lerobot_local.settings import load_checkpoint_settings

    return (load_checkpoint_settings(target.checkpoint) or {}).get("profile") or None


def _same_path(a: Path, b: str | None) -> bool:
    return b is not None and Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _policy_config(pretrained: Path) -> Any:
    compat.register_policy_configs()
    config, error = compat.load_policy_config(str(pretrained), [])
    if config is None:
        raise EvalError(f"{pretrained / 'config.json'} cannot be read as a LeRobot policy config ({error})")
    return config


def _in_training(target: Target) -> dict[str, Any] | None:
    saved = records.read_checkpoint_validation(target.checkpoint)
    if not saved:
        return None
    return {k: saved.get(k) for k in ("val_loss", "mae_mean", "rmse_mean", "frames", "holdout_episodes")}


def _load(target: Target, plan: dict[str, Any], device: str) -> tuple[Any, Any, Any, Any]:
    """The checkpoint's policy and processors, loaded in the directory training ran in."""
    try:
        with working_directory(plan["cwd"]):
            return compat.load_policy_from_checkpoint(target.pretrained, device)
    except OSError as exc:  # a model the config names cannot be read offline
        raise EvalError(
            f"{target.pretrained / 'config.json'}: offline_models: a model it names cannot be loaded offline "
            f"from {plan['cwd']} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "fix: copy that model folder beside the run, or download it on a connected machine"
        ) from exc


def _cached_reference(target: Target, plan: dict[str, Any], frames: int) -> dict[str, Any] | None:
    """The untrained initialisation's metrics the run cached for the same frames, if any."""
    for row in reversed(records.read(compat.run_dir_of_checkpoint(target.checkpoint))):
        if (
            row.get("kind") == "reference"
            and row.get("holdout_episodes") == plan["episodes"]
            and row.get("frames") == frames
            and row.get("seed") == plan["seed"]
        ):
            return {**row["untrained"], "from": "the run's metrics file (scored once during training)"}
    return None


def evaluate_target(
    opts: Options, target: Target, plan: dict[str, Any], device: str, cache: dict[str, Any]
) -> dict[str, Any]:
    from tqdm import tqdm

    from lerobot_local.validation import plots
    from lerobot_local.validation.metrics import action_names, definition, evaluate, select_frames, trajectory

    config, policy, pre, post = _load(target, plan, device)
    dataset = compat.open_dataset(plan["root"], plan["episodes"], config, video_backend=plan["video_backend"])
    names = action_names(plan["info"], compat.action_dim(dataset))
    units = joint_units(plan["info"], names, plan["profile"])
    frames = select_frames(len(dataset), plan["max_samples"])

    def score(model: Any, label: str) -> dict[str, Any]:
        with tqdm(total=len(frames), desc=f"eval {label}", unit="frame", disable=not opts.progress) as bar:
            return evaluate(
                model,
                pre,
                post,
                dataset,
                frames,
                batch_size=plan["batch_size"],
                seed=plan["seed"],
                names=names,
                progress=bar,
            )

    def untrained() -> Any:  # built where training ran: relative paths of its config resolve (a local VLM)
        with working_directory(plan["cwd"]):
            return compat.untrained_policy(config, dataset, device, plan["init_seed"])

    reference = None
    if opts.untrained:
        policy = untrained()
    elif opts.untrained_reference:
        reference = cache.get("untrained") or _cached_reference(target, plan, len(frames))
        if reference is None:
            fresh = untrained()
            metrics = score(fresh, "untrained initialisation")
            keep = ("val_loss", "mae", "mae_mean", "rmse", "rmse_mean")
            reference = {
                **{k: metrics.get(k) for k in keep},
                "from": f"random weights, seed {plan['init_seed']}, scored by this eval",
            }
            del fresh
        cache["untrained"] = reference
    label = target.checkpoint.name + (" (untrained)" if opts.untrained else "")
    metrics = score(policy, label)
    verdict = judge(
        metrics["mae"],
        (metrics.get("baseline_constant") or {}).get("mae"),
        (reference or {}).get("mae"),
        beat_margin=plan["beat_margin"],
    )
    if plan["trained_on"]:
        verdict["text"] += (
            f" (episodes {plan['trained_on']} were trained on: not a held-out score for those episodes)"
        )
    result: dict[str, Any] = {
        "checkpoint": str(target.checkpoint),
        "step": target.step,
        "untrained": opts.untrained,
        "joints": names,
        "units": units,
        "definition": definition(metrics.get("chunk_steps", 0)),
        "metrics": metrics,
        "untrained_reference": reference,
        "verdict": verdict,
        "episodes": {
            str(e): {
                "role": "trained on" if e in plan["trained_on"] else "held out",
                "mae_mean": metrics.get("per_episode", {}).get(str(e)),
            }
            for e in plan["episodes"]
        },
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
            role = " (trained on)" if episode in plan["trained_on"] else " (held out)"
            png = plots.trajectory(
                traj, names, f"{label}, episode {episode}{role}: predicted vs recorded", units
            )
            path = folder / f"episode_{episode:06d}.png"
            path.write_bytes(png)
            result["plots"].append(str(path))
    return result


def _summary(results: list[dict[str, Any]]) -> str:
    head = ("checkpoint", "val loss", "MAE", "RMSE", "const MAE", "untrained MAE", "in-training loss")
    lines = ["  " + "  ".join(f"{h:>16}" for h in head)]
    for r in results:
        m = r["metrics"]
        base = (m.get("baseline_constant") or {}).get("mae_mean")
        untrained = (r.get("untrained_reference") or {}).get("mae_mean")
        training = (r.get("in_training") or {}).get("val_loss")
        name = Path(r["checkpoint"]).name + (" untrained" if r.get("untrained") else "")
        cells = [name, m["val_loss"], m["mae_mean"], m["rmse_mean"], base, untrained, training]
        lines.append(
            "  " + "  ".join(f"{c:>16.5f}" if isinstance(c, float) else f"{c or '-':>16}" for c in cells)
        )
    return "\n".join(lines)


def _episode_table(result: dict[str, Any]) -> str:
    units = units_label(result.get("units") or {})
    lines = [f"  {'episode':>8}  {'role':<12}  MAE ({units})"]
    for episode, row in result["episodes"].items():
        mae = row.get("mae_mean")
        role = row["role"] + (" *" if row["role"] == "trained on" else "")
        lines.append(
            f"  {episode:>8}  {role:<12}  {mae:.5f}" if mae is not None else f"  {episode:>8}  {role}"
        )
    return "\n".join(lines)


def run(opts: Options) -> dict[str, Any]:
    targets = find_targets(opts.checkpoint)
    opts._targets = targets
    plans = [_plan(opts, t) for t in targets]  # every input checked before anything is written
    device = opts.device or _default_device()
    cache: dict[str, Any] = {}
    results = [evaluate_target(opts, t, p, device, cache) for t, p in zip(targets, plans, strict=True)]
    best = min(results, key=lambda r: r["metrics"]["val_loss"])
    losses = [(r["step"], r["metrics"]["val_loss"]) for r in results if r["step"] is not None]
    margin = plans[0]["beat_margin"]
    report = {
        "dataset_root": str(plans[0]["root"]),
        "run_directory": str(plans[0]["cwd"]),
        "run_directory_from": plans[0]["cwd_from"],
        "episodes": plans[0]["episodes"],
        "episodes_from": plans[0]["episodes_from"],
        "trained_on_episodes": plans[0]["trained_on"],
        "held_out_episodes": [e for e in plans[0]["episodes"] if e not in plans[0]["trained_on"]],
        "max_samples": plans[0]["max_samples"],
        "batch_size": plans[0]["batch_size"],
        "seed": plans[0]["seed"],
        "beat_margin": margin,
        "device": device,
        "lerobot_version": compat.lerobot_version(),
        "checkpoints": results,
        "best": {
            "checkpoint": best["checkpoint"],
            "val_loss": best["metrics"]["val_loss"],
            "why": f"lowest validation loss of the {len(results)} checkpoint(s) evaluated",
            "verdict": best["verdict"],
        },
        "overfitting": overfitting(sorted(losses), plans[0]["overfit_checkpoints"]),
    }
    return report


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def main(argv: list[str]) -> int:
    from lerobot_local.closed_loop import cli as closed_loop  # its own flags; loads the simulator
    from lerobot_local.logs import setup_logging

    if closed_loop.wants_closed_loop(argv):
        return closed_loop.main(argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip() + "\n\n" + HELP + "\n" + closed_loop.HELP)
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
    trained = report["trained_on_episodes"]
    print(
        f"lerobot-local eval: {report['dataset_root']}, episodes {report['episodes']} "
        f"({report['episodes_from']})"
    )
    if trained:
        print(
            f"  WARNING: episodes {trained} (marked *) were trained on: their score is not a held-out score; "
            f"held out: {report['held_out_episodes'] or 'none'}"
        )
    print(_summary(report["checkpoints"]))
    last = report["checkpoints"][-1]
    print(_episode_table(last))
    print(f"  {last['definition']}")
    for r in report["checkpoints"]:
        print(f"verdict {Path(r['checkpoint']).name}: {r['verdict']['text']}")
    if len(report["checkpoints"]) > 1:
        print(
            f"best: {report['best']['checkpoint']} "
            f"({report['best']['why']}: {report['best']['val_loss']:.5f})"
        )
    if report["overfitting"]:
        print(f"WARNING: {report['overfitting']['text']}")
    for r in report["checkpoints"]:
        for plot in r["plots"]:
            print(f"plot: {plot}")
    if opts.report_json is not None:
        opts.report_json.parent.mkdir(parents=True, exist_ok=True)
        opts.report_json.write_text(json.dumps(report, indent=2, default=str))
        print(f"report: {opts.report_json}")
    return 0
