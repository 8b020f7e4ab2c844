"""``lerobot-local eval --env.type=...``: run a checkpoint in a simulator for seeded episodes, count the
episodes the env itself says succeeded, and put that beside random actions and the untrained policy.

Exit codes: 0 evaluated, 1 bad input or an env without a success signal (nothing counted), 2 usage.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.closed_loop import render, report
from lerobot_local.closed_loop.judge import judge, rate
from lerobot_local.closed_loop.policy import PolicyActor, batched
from lerobot_local.closed_loop.rollout import Episode, RandomActor, run_episodes
from lerobot_local.closed_loop.success import NoSuccessSignal, success_key
from lerobot_local.suggest import closest

logger = logging.getLogger("lerobot_local")

HELP = """usage: lerobot-local eval --policy.path=DIR --env.type=TYPE [--env.FIELD=VALUE ...] [options]

  --policy.path=DIR    a checkpoint (outputs/train/RUN/checkpoints/last) or its pretrained_model folder;
                       also --checkpoint=DIR
  --env.type=TYPE      a simulator LeRobot knows (pip install its lerobot_env_* package), e.g. so101
  --env.FIELD=VALUE    its settings, as for lerobot-eval (--env.task=SO101PickPlace-v0,
                       --env.random_block_position=true, --env.action_scale=0.025, --env.episode_length=100)
  --n_episodes=50      episodes per actor (also --eval.n_episodes); episode i uses seed SEED+i
  --seed=1000          the first episode's seed (also --eval.seed)
  --baselines=random,untrained
                       run the same seeds with random actions and with the untrained policy (same config,
                       fresh weights, the checkpoint's normalisation); "none" skips them
  --videos=0           film the first N episodes of the trained policy (a PNG strip each, in the report)
  --success_key=KEY    the env's info key that says the task is done (default: known per env type; an env
                       that reports none is refused, never counted as success)
  --max_steps=N        steps per episode (default: the env's episode_length)
  --report_json=FILE   the results as JSON
  --report_html=FILE   an HTML page of the results (a checkpoint inside a run directory also adds them to
                       the run's report, lerobot_local_report.html)
  --device=DEV         cpu, cuda, ... (default: cuda when available, else cpu)
  --progress=false     no per-episode lines
"""
SPELLINGS = {
    "policy.path": "checkpoint",
    "eval.n_episodes": "n_episodes",
    "eval.seed": "seed",
    "policy.device": "device",
}
OPTIONS = {
    "checkpoint",
    "n_episodes",
    "seed",
    "baselines",
    "videos",
    "success_key",
    "max_steps",
    "report_json",
    "report_html",
    "device",
    "progress",
}
BASELINES = ("random", "untrained")
STRIP_FRAMES = 10  # frames per filmed episode's strip, evenly spaced over the episode's step limit


class ClosedLoopError(Exception):
    """Bad input: the message names what and the fix."""


@dataclass
class Options:
    checkpoint: Path
    env_type: str
    env_flags: list[str] = field(default_factory=list)
    n_episodes: int = 50
    seed: int = 1000
    baselines: tuple[str, ...] = BASELINES
    videos: int = 0
    success_key: str | None = None
    max_steps: int | None = None
    report_json: Path | None = None
    report_html: Path | None = None
    device: str | None = None
    progress: bool = True


def wants_closed_loop(argv: list[str]) -> bool:
    return any(a.startswith("--env.") for a in argv)


def parse_args(argv: list[str]) -> Options:
    flags: dict[str, str] = {}
    env_flags: list[str] = []
    env_type = None
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"unexpected argument {arg!r} (flags are --name=value)")
        key, value = arg[2:].split("=", 1)
        if key == "env.type":
            env_type = value
        elif key.startswith("env."):
            env_flags.append(f"--{key[4:]}={value}")
        else:
            name = SPELLINGS.get(key, key)
            if name not in OPTIONS:
                matches = closest(key, OPTIONS | set(SPELLINGS))
                hint = f"; did you mean {' or '.join('--' + m for m in matches)}?" if matches else ""
                raise ValueError(f"unknown flag --{key}{hint}")
            flags[name] = value
    if not env_type:
        raise ValueError("--env.type=TYPE is required for a closed-loop evaluation (e.g. --env.type=so101)")
    if "checkpoint" not in flags:
        raise ValueError("--policy.path=DIR (a checkpoint or its pretrained_model folder) is required")
    opts = Options(Path(flags["checkpoint"]).expanduser().absolute(), env_type, env_flags)
    for name in ("n_episodes", "seed", "videos", "max_steps"):
        if name in flags:
            setattr(opts, name, int(flags[name]))
    if opts.n_episodes < 1:
        raise ValueError(f"--n_episodes={opts.n_episodes} must be at least 1")
    if "baselines" in flags:
        asked = tuple(b for b in flags["baselines"].split(",") if b and b != "none")
        unknown = [b for b in asked if b not in BASELINES]
        if unknown:
            raise ValueError(f"--baselines: unknown {unknown}; choose from {list(BASELINES)} or none")
        opts.baselines = asked
    for name in ("report_json", "report_html"):
        if name in flags:
            setattr(opts, name, Path(flags[name]).expanduser().absolute())
    opts.success_key = flags.get("success_key")
    opts.device = flags.get("device")
    opts.progress = flags.get("progress", "true").lower() not in ("0", "false", "no")
    return opts


def _pretrained(checkpoint: Path) -> Path:
    found = compat.pretrained_dir_of(checkpoint)
    if found is None:
        raise ClosedLoopError(
            f"{checkpoint} is not a checkpoint: no config.json and model.safetensors in it or in its "
            "pretrained_model folder. Fix: --policy.path=outputs/train/RUN/checkpoints/last/pretrained_model"
        )
    return found


def _run_dir(pretrained: Path) -> Path | None:
    """The run's output dir when the checkpoint sits in ``<run>/checkpoints/<step>/pretrained_model``."""
    checkpoint = pretrained.parent if pretrained.name == compat.PRETRAINED_DIR else pretrained
    run = compat.run_dir_of_checkpoint(checkpoint)
    return run if checkpoint.parent.name == compat.CHECKPOINTS_DIR else None


def _observation_problems(env: Any, policy_config: Any, task: str) -> list[str]:
    """What the policy reads that the env's first observation does not give (key or shape)."""
    observation, _ = env.reset(seed=0)
    batch = compat.env_observation_batch(batched(observation), task)
    gives = {k: tuple(v.shape[1:]) for k, v in batch.items() if hasattr(v, "shape")}
    inputs = getattr(policy_config, "input_features", None) or {}
    problems = []
    for key, feature in inputs.items():
        want = tuple(int(n) for n in getattr(feature, "shape", ()))
        if key not in gives:
            problems.append(f"the policy reads {key} {want} but the env gives only {sorted(gives)}")
        elif gives[key] != want and not key.startswith("observation.image"):
            problems.append(f"the policy reads {key} of shape {want} but the env gives {gives[key]}")
    return problems


def _checked_env_flags(opts: Options) -> list[str]:
    """The ``--env.*`` flags, each a field of the env type's config (else the closest ones are named)."""
    try:
        fields = set(compat.env_config_fields(opts.env_type))
    except KeyError:
        return opts.env_flags  # an unknown type: env_config says which types exist
    for flag in opts.env_flags:
        name = flag[2:].split("=", 1)[0]
        if name not in fields:
            matches = closest(name, fields)
            hint = f"; did you mean {' or '.join('--env.' + m for m in matches)}?" if matches else ""
            raise ClosedLoopError(
                f"--env.{name} is not a setting of --env.type={opts.env_type}{hint} "
                f"(its settings: {', '.join(sorted(fields))})"
            )
    return opts.env_flags


def _check_device(device: str) -> None:
    import torch  # heavy; only to check the device

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ClosedLoopError(f"--device={device}: this machine has no CUDA device. Fix: --device=cpu")


def _rates(episodes: list[Episode]) -> dict[str, Any]:
    out = rate(sum(e.success for e in episodes), len(episodes))
    out["mean_steps"] = sum(e.steps for e in episodes) / len(episodes)
    out["per_episode"] = [e.as_dict() for e in episodes]
    return out


def run(opts: Options) -> dict[str, Any]:
    pretrained = _pretrained(opts.checkpoint)
    device = opts.device or _default_device()
    _check_device(device)
    compat.force_offline()
    gl = render.headless_gl() if opts.videos else None
    failed = compat.register_env_plugins()
    try:
        env_cfg = compat.env_config(opts.env_type, _checked_env_flags(opts), failed)
        env, gym_id, notes = compat.make_one_env(env_cfg)
    except ValueError as exc:
        raise ClosedLoopError(str(exc)) from exc
    key = success_key(opts.env_type, opts.success_key)
    max_steps = opts.max_steps or int(
        getattr(env_cfg, "episode_length", 0) or env.spec.max_episode_steps or 300
    )
    task = str(getattr(env_cfg, "task", "") or "")
    config, policy, pre, post = compat.load_policy_from_checkpoint(pretrained, device)
    problems = _observation_problems(env, config, task)
    if problems:
        raise ClosedLoopError(
            f"{pretrained} cannot run in {gym_id}: " + "; ".join(problems) + ". Fix: evaluate in the env "
            "the dataset was recorded in (same --env.task and settings), or train on a dataset recorded there"
        )
    env_pre, env_post = compat.env_processors(env_cfg, config)
    reads_camera = any(
        k.startswith("observation.image") for k in (getattr(config, "input_features", None) or {})
    )
    if opts.videos and not reads_camera and render.cheap_frames(env):
        notes.append("filmed without shadows or multisampling (faster; the policy reads no camera)")
    if gl:
        notes.append(f"rendering through MUJOCO_GL={gl} (no display)")
    seeds = [opts.seed + i for i in range(opts.n_episodes)]
    every = max(1, max_steps // STRIP_FRAMES)

    def run_actor(name: str, actor: Any, videos: int = 0) -> list[Episode]:
        started = time.perf_counter()
        done: list[Episode] = []

        def progress(e: Episode) -> None:
            done.append(e)
            if opts.progress:
                print(
                    f"  {name}: episode {len(done)}/{len(seeds)} seed {e.seed}: "
                    f"{'success' if e.success else e.ended} after {e.steps} steps",
                    file=sys.stderr,
                )

        episodes = run_episodes(env, actor, seeds, key, opts.env_type, max_steps, videos, every, progress)
        logger.info(
            "lerobot-local eval: %s, %d episodes in %.1f s", name, len(seeds), time.perf_counter() - started
        )
        return episodes

    processors = (env_pre, env_post, pre, post)
    trained = run_actor("trained policy", PolicyActor(policy, processors, task), opts.videos)
    baselines: dict[str, list[Episode]] = {}
    if "random" in opts.baselines:
        baselines["random"] = run_actor("random actions", RandomActor(env.action_space))
    if "untrained" in opts.baselines:
        fresh = compat.fresh_policy(config, device, opts.seed)
        baselines["untrained"] = run_actor("untrained policy", PolicyActor(fresh, processors, task))
    env.close()

    policy_rate = _rates(trained)
    baseline_rates = {k: _rates(v) for k, v in baselines.items()}
    run_dir = _run_dir(pretrained)
    strips, frames_note = _strips(trained, opts, run_dir, every)
    results = {
        "checkpoint": str(pretrained),
        "run_directory": str(run_dir) if run_dir is not None else None,
        "device": device,
        "lerobot_version": compat.lerobot_version(),
        "closed_loop": {
            "env": opts.env_type,
            "env_flags": opts.env_flags,
            "gym_id": gym_id,
            "task": task,
            "success_key": key,
            "n_episodes": opts.n_episodes,
            "seeds": seeds,
            "max_steps": max_steps,
            "policy": policy_rate,
            "baselines": baseline_rates,
            "verdict": judge(policy_rate, baseline_rates),
            "notes": notes,
            "frame_strips": strips,
            "frames_note": frames_note,
        },
    }
    return results


def _strips(
    episodes: list[Episode], opts: Options, run_dir: Path | None, every: int
) -> tuple[list[str], str | None]:
    filmed = [e for e in episodes if e.frames]
    if opts.videos and not filmed:
        return (
            [],
            "no frames: the env could not render here (MuJoCo needs OpenGL: try MUJOCO_GL=egl or osmesa)",
        )
    folder = (
        run_dir / "closed_loop_frames"
        if run_dir is not None
        else (opts.report_html or opts.report_json or Path("closed_loop.html")).parent / "closed_loop_frames"
    )
    paths = []
    for e in filmed:
        folder.mkdir(parents=True, exist_ok=True)
        title = f"seed {e.seed}: {'succeeded' if e.success else e.ended} after {e.steps} steps"
        path = folder / f"seed_{e.seed}.png"
        path.write_bytes(report.frame_strip(e.frames, title, every))
        paths.append(str(path))
    return paths, None


def _default_device() -> str:
    import torch  # heavy; only to pick the device

    return "cuda" if torch.cuda.is_available() else "cpu"


def write_outputs(results: dict[str, Any], opts: Options) -> list[str]:
    """The JSON, the page and the run report's section; returns what was written."""
    written = []
    if opts.report_json is not None:
        opts.report_json.parent.mkdir(parents=True, exist_ok=True)
        opts.report_json.write_text(json.dumps(results, indent=2, default=str))
        written.append(f"report: {opts.report_json}")
    if opts.report_html is not None:
        from lerobot_local.validation.report import STYLE

        opts.report_html.parent.mkdir(parents=True, exist_ok=True)
        opts.report_html.write_text(report.html_page(results, STYLE), encoding="utf-8")
        written.append(f"page: {opts.report_html}")
    if results["run_directory"] is not None:
        run_dir = Path(results["run_directory"])
        from lerobot_local.validation.report import write_report

        (run_dir / report.RESULTS_FILE).write_text(json.dumps(results, indent=2, default=str))
        written.append(f"run report: {write_report(run_dir)}")
    return written


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
    try:
        results = run(opts)
    except (ClosedLoopError, NoSuccessSignal, ImportError) as exc:
        print(f"lerobot-local eval: ERROR: {exc}", file=sys.stderr)
        return 1
    loop = results["closed_loop"]
    print(f"lerobot-local eval: {results['checkpoint']} in {loop['gym_id']}, {loop['n_episodes']} episodes")
    for note in loop["notes"]:
        print(f"  note: {note}")
    print("\n".join(report.summary_lines(results)))
    print(f"verdict (closed loop): {loop['verdict']['text']}")
    if loop["frames_note"]:
        print(f"  {loop['frames_note']}")
    for line in write_outputs(results, opts):
        print(line)
    return 0
