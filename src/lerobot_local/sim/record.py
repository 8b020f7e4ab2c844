"""Record the simulator's scripted expert into a LeRobot v2.1 dataset folder, so that a simulated run goes
through the converter, the checks and the native lerobot-train exactly like a real recording.

``python -m lerobot_local.sim.record --output=DIR --episodes=50 --seed=0 [--task=SO101PickPlace-v0]
[--camera=false] [--episode_length=100]``. Episode i is played with the env seeded ``seed + i``; only the
episodes the env reports as successful are kept (renumbered 0..N-1, their seeds in ``meta/sim_env.json``).
Exit codes: 0 written, 1 nothing to write (no episode succeeded) or the output exists, 2 usage error.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import draccus
import numpy as np
from tqdm import tqdm

from lerobot_local.dataset import INFO_PATH
from lerobot_local.demo import synthetic_v21 as v21
from lerobot_local.logs import setup_logging
from lerobot_local.sim import so101

logger = logging.getLogger("lerobot_local.sim")
SIM_ENV_FILE = "sim_env.json"  # beside meta/info.json, which stays exactly what LeRobot's recorder writes
ROBOT_TYPE = "so101"
VIDEO_CODEC = "libx264"


@dataclass
class RecordConfig:
    # The v2.1 dataset folder to create (must not exist; written to a hidden sibling, then renamed).
    output: Path | None = None
    # Episodes to play with the expert (episode i with seed seed+i); the failed ones are dropped.
    episodes: int = 50
    # Seed of the first episode.
    seed: int = 0
    # The simulator task (the expert completes SO101PickPlace-v0).
    task: str = so101.DEFAULT_TASK
    # Also record the 128x128 front camera as observation.images.front (mp4, H.264).
    camera: bool = False
    # Steps before an episode is cut (the env's max_episode_steps).
    episode_length: int = 100
    # Metres per unit of position action (the expert is calibrated for 0.025).
    action_scale: float = 0.025
    # Randomise the block and goal positions at every reset.
    random_block_position: bool = True
    # Camera rendering: fast (no shadows, no multisampling) or default (the scene's own quality, ~10x slower).
    render_quality: str = "fast"
    # Show a progress bar.
    progress: bool = True


@dataclass
class Recording:
    """What :func:`record` wrote."""

    output: Path
    settings: so101.EnvSettings
    kept_seeds: list[int] = field(default_factory=list)
    dropped_seeds: list[int] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "env": self.settings.to_dict(),
            "episodes_kept": len(self.kept_seeds),
            "episodes_dropped": len(self.dropped_seeds),
            "dropped_seeds": self.dropped_seeds,
            "frames": self.frames,
            "seconds": round(self.seconds, 2),
        }


def sim_env_path(root: Path) -> Path:
    """The sidecar with the env settings and seeds of a recording (``meta/sim_env.json``)."""
    return (Path(root) / INFO_PATH).parent / SIM_ENV_FILE


def read_sim_env(root: Path) -> dict[str, Any]:
    """The sidecar of a recording made by :func:`record`."""
    path = sim_env_path(root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no simulator settings; record the dataset with python -m lerobot_local.sim.record"
        )
    return json.loads(path.read_text())


def features(camera: bool) -> dict[str, Any]:
    """The v2.1 ``features`` of a recording, keyed as LeRobot maps the env's observations to a policy."""
    state = _vector(so101.state_names())
    env_state = _vector(list(so101.ENV_STATE_NAMES))
    action = _vector(list(so101.ACTION_NAMES))
    out: dict[str, Any] = {so101.STATE_KEY: state, so101.ENV_STATE_KEY: env_state, "action": action}
    if camera:
        size = so101.IMAGE_SIZE
        out[so101.IMAGE_KEY] = v21.video_feature(size, size, so101.FPS, "h264")
    return {**out, **v21.index_features()}


def _vector(names: list[str]) -> dict[str, Any]:
    return {"dtype": "float32", "shape": [len(names)], "names": names}


def play_episode(env: Any, controller: Any, seed: int, camera: bool) -> tuple[dict[str, np.ndarray], bool]:
    """One expert episode: (per-frame arrays: state, env state, action[, images]; whether the env reported
    success). Frame t holds the observation before step t and the action taken on it, as LeRobot records."""
    observation, _ = env.reset(seed=seed)
    controller.reset()
    rows: dict[str, list[np.ndarray]] = {"state": [], "env_state": [], "action": [], "image": []}
    success = False
    while True:
        env_state = so101.environment_state(env, observation)
        action = so101.expert_action(controller, env, env_state)
        rows["state"].append(np.asarray(observation["agent_pos"], dtype=np.float32))
        rows["env_state"].append(env_state)
        rows["action"].append(np.asarray(action, dtype=np.float32))
        if camera:
            rows["image"].append(np.asarray(observation["pixels"][so101.CAMERA], dtype=np.uint8))
        observation, _, terminated, truncated, info = env.step(action)
        success = success or bool(info.get(so101.SUCCESS_KEY, False))
        if terminated or truncated:
            break
    return {k: np.stack(v) for k, v in rows.items() if v}, success


def record(
    output: Path,
    episodes: int,
    seed: int = 0,
    settings: so101.EnvSettings | None = None,
    progress: bool = True,
) -> Recording:
    """Play ``episodes`` expert episodes and write the successful ones as a v2.1 dataset at ``output``."""
    settings = settings or so101.EnvSettings()
    output = Path(output).expanduser()
    if output.exists():
        raise FileExistsError(f"{output} exists; pass a new --output folder (a recording never overwrites)")
    env = so101.make_env(settings)
    controller = so101.expert(settings)
    task = so101.TASKS[settings.task]
    partial = output.parent / f".{output.name}.partial-{os.getpid()}"
    result = Recording(output=output, settings=settings)
    started = time.perf_counter()
    episode_lines: list[dict[str, Any]] = []
    stats_lines: list[dict[str, Any]] = []
    try:
        for i in tqdm(range(episodes), desc="expert episodes", unit="episode", disable=not progress):
            arrays, success = play_episode(env, controller, seed + i, settings.camera)
            if not success:
                result.dropped_seeds.append(seed + i)
                continue
            ep, n = len(result.kept_seeds), len(arrays["action"])
            columns = {
                so101.STATE_KEY: arrays["state"],
                so101.ENV_STATE_KEY: arrays["env_state"],
                "action": arrays["action"],
                **v21.index_columns(ep, n, result.frames, so101.FPS, 0),
            }
            videos = {so101.IMAGE_KEY: arrays["image"]} if settings.camera else {}
            stats_lines.append(v21.write_episode(partial, ep, columns, videos, so101.FPS, VIDEO_CODEC))
            episode_lines.append({"episode_index": ep, "tasks": [task], "length": n})
            result.kept_seeds.append(seed + i)
            result.frames += n
        if not result.kept_seeds:
            raise RuntimeError(
                f"none of the {episodes} expert episodes (seeds {seed}..{seed + episodes - 1}) succeeded, "
                f"nothing was written; check --action_scale={settings.action_scale} (the expert is "
                f"calibrated for 0.025) and --episode_length={settings.episode_length} (it needs ~50 steps)"
            )
        v21.write_meta(
            partial,
            features=features(settings.camera),
            episode_lines=episode_lines,
            stats_lines=stats_lines,
            tasks=[task],
            fps=so101.FPS,
            robot_type=ROBOT_TYPE,
        )
        result.seconds = time.perf_counter() - started
        sim_env_path(partial).write_text(json.dumps(_sidecar(result, episodes, seed), indent=2) + "\n")
        partial.rename(output)
    finally:
        env.close()
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    logger.info(
        "recorded %d expert episodes (%d frames) to %s in %.1f s; dropped %d failed episode(s)%s",
        len(result.kept_seeds),
        result.frames,
        output,
        result.seconds,
        len(result.dropped_seeds),
        f" (seeds {result.dropped_seeds})" if result.dropped_seeds else "",
    )
    return result


def _sidecar(result: Recording, episodes: int, seed: int) -> dict[str, Any]:
    from importlib.metadata import version  # only for the record of which simulator wrote the data

    return {
        "simulator": f"lerobot-env-so101=={version('lerobot-env-so101')}",
        "gym_id": f"{so101.PACKAGE}/{result.settings.task}",
        "env": result.settings.to_dict(),
        "eval_flags": result.settings.eval_flags(),
        "expert": f"{so101.PACKAGE}.scripted.pick_place.PickPlaceController",
        "seed": seed,
        "episodes_played": episodes,
        "episode_seeds": result.kept_seeds,
        "dropped_seeds": result.dropped_seeds,
        "success_key": so101.SUCCESS_KEY,
    }


def parse_args(argv: list[str]) -> RecordConfig:
    """The command line as a :class:`RecordConfig`; ValueError names the bad flag."""
    args = []
    for arg in argv:  # --episode-length=5 as well as --episode_length=5
        name, eq, value = arg.partition("=")
        args.append(name.replace("-", "_").replace("__", "--", 1) + eq + value)
    try:
        cfg = draccus.parse(RecordConfig, args=args)
    except SystemExit as exc:
        raise ValueError("invalid arguments; run 'python -m lerobot_local.sim.record --help'") from exc
    except Exception as exc:  # draccus' DecodingError: a value of the wrong type
        raise ValueError(f"invalid arguments ({exc})") from exc
    problems = []
    if cfg.output is None:
        problems.append("--output=DIR is required")
    if cfg.episodes < 1:
        problems.append(f"--episodes={cfg.episodes} must be at least 1")
    if cfg.episode_length < 1:
        problems.append(f"--episode_length={cfg.episode_length} must be at least 1")
    if cfg.action_scale <= 0:
        problems.append(f"--action_scale={cfg.action_scale} must be positive (the expert's is 0.025)")
    if cfg.task not in so101.TASKS:
        problems.append(f"--task={cfg.task}: the expert completes only {', '.join(so101.TASKS)}")
    if cfg.render_quality not in ("fast", "default"):
        problems.append(f"--render_quality={cfg.render_quality} is not 'fast' or 'default'")
    if problems:
        raise ValueError("; ".join(problems))
    return cfg


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    setup_logging()
    if "--help" in argv or "-h" in argv:
        print(__doc__.strip())
        print("\nflags (default):")
        for name, value in RecordConfig().__dict__.items():
            print(f"  --{name}={value}")
        return 0
    try:
        cfg = parse_args(argv)
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    settings = so101.EnvSettings(
        task=cfg.task,
        action_scale=cfg.action_scale,
        random_block_position=cfg.random_block_position,
        episode_length=cfg.episode_length,
        camera=cfg.camera,
        render_quality=cfg.render_quality,
    )
    print("env settings: " + json.dumps(settings.to_dict()))
    try:
        assert cfg.output is not None
        result = record(cfg.output, cfg.episodes, cfg.seed, settings, progress=cfg.progress)
    except (FileExistsError, RuntimeError) as exc:
        logger.error("%s", exc)
        return 1
    print(json.dumps(result.summary()))
    print("evaluate a policy trained on it with: lerobot-local eval " + " ".join(settings.eval_flags()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
