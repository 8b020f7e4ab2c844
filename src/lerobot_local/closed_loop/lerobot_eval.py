"""LeRobot's own ``lerobot-eval`` under lerobot-local: its success count reads the env's real signal.

LeRobot 0.6.1 counts ``info["final_info"]["is_success"]`` and falls back to a non-empty list when an env
reports success under another key, which counts as success (an untrained ACT on the SO-101 sim scores
``pc_success=100``). Fixed here, not refused: the env's own key (the registry of :mod:`success`) is copied
to ``is_success`` on every step; an env whose steps carry no signal at all stops the evaluation with an error.
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym

from lerobot_local import compat
from lerobot_local.closed_loop.success import LEROBOT_KEY, NoSuccessSignal, success_key

logger = logging.getLogger("lerobot_local")


class SuccessSignalVectorEnv(gym.vector.VectorWrapper):
    """A vector env whose step info (and final info) carries ``is_success`` from the env's own key."""

    def __init__(self, env: gym.vector.VectorEnv, env_type: str, key: str) -> None:
        super().__init__(env)
        self.env_type = env_type
        self.key = key

    def __getattr__(self, name: str) -> Any:  # what LeRobot asks of its vector env: call, envs, ...
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.env, name)

    def step(self, actions: Any) -> Any:
        observation, reward, terminated, truncated, info = self.env.step(actions)
        found = self._translate(info)
        final = info.get("final_info")
        if isinstance(final, dict):
            found = self._translate(final) or found
        if not found:
            raise NoSuccessSignal(
                f"lerobot-local: the {self.env_type} env reports no success signal (its step info has no "
                f"{self.key!r} or {LEROBOT_KEY!r}; keys: {sorted(info)}), so lerobot-eval's pc_success would "
                "be made up; refusing to evaluate. Fix: register the key your env sets with "
                "lerobot_local.closed_loop.success.register_success_key(ENV_TYPE, KEY) in your plugin"
            )
        return observation, reward, terminated, truncated, info

    def _translate(self, info: dict[str, Any]) -> bool:
        """Put the env's signal under ``is_success`` in ``info``; False when ``info`` has neither."""
        if self.key in info:
            info[LEROBOT_KEY] = info[self.key]
            if f"_{self.key}" in info:
                info[f"_{LEROBOT_KEY}"] = info[f"_{self.key}"]
            return True
        return LEROBOT_KEY in info


def install(eval_globals: dict[str, Any], env_type: str | None) -> str:
    """Make lerobot-eval's rollouts read ``env_type``'s success signal; returns what was done, in words."""
    if not env_type:
        return "no --env.type: nothing to fix"
    key = success_key(env_type)
    compat.wrap_eval_rollout(eval_globals, lambda env: SuccessSignalVectorEnv(env, env_type, key))
    if key == LEROBOT_KEY:
        return f"the {env_type} env reports {LEROBOT_KEY!r}; a step without it stops the evaluation"
    return (
        f"the {env_type} env reports success as info[{key!r}]; lerobot-eval's pc_success reads it through "
        f"lerobot-local (LeRobot {compat.lerobot_version()} looks only for {LEROBOT_KEY!r})"
    )
