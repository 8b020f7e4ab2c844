"""The offline evaluation of ``lerobot-local eval``: which checkpoints, which dataset and episodes (each input
checked before anything is written), then every checkpoint scored with the validation's own metrics and the
same verdict in words (see ``eval_cli`` for the command and its report).

Sits in the orchestration layer: it runs the offline check's own function (``checks.offline``, a plugin),
so that eval and training say the same row word for word.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lerobot_local import compat
from lerobot_local.dataset import INFO_PATH, V30, read_info, version_of
from lerobot_local.validation import records
from lerobot_local.validation.config import validation_batch_size
from lerobot_local.validation.eval_args import EvalError, Options
from lerobot_local.validation.units import joint_units
from lerobot_local.validation.verdict import judge, overfitting

logger = logging.getLogger("lerobot_local")


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
    trained_on = (train_cfg.get("policy") or {}).get("device")
    batch = opts.batch_size or validation_batch_size(
        recorded.get("batch_size"), train_cfg.get("batch_size"), trained_on
    )
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
