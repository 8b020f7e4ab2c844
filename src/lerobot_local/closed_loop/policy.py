"""A LeRobot policy as an actor in the env: the env's observation in, the env's action out."""

from __future__ import annotations

from typing import Any

import numpy as np

from lerobot_local import compat


class PolicyActor:
    """Drives the env with ``policy`` through its checkpoint's processors (and the env's own)."""

    def __init__(self, policy: Any, processors: tuple[Any, Any, Any, Any], task: str, seed_offset: int = 0):
        self.policy = policy
        self.processors = processors
        self.task = task
        self.seed_offset = seed_offset

    def reset(self, seed: int) -> None:
        import torch  # heavy; only the policy path needs it

        torch.manual_seed(seed + self.seed_offset)  # stochastic policies draw the same noise per seed
        self.policy.reset()

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        batch = compat.env_observation_batch(batched(observation), self.task)
        return compat.policy_env_action(self.policy, self.processors, batch)


def batched(observation: Any) -> Any:
    """A single env's observation with a leading batch axis, as a vector env would give it."""
    if isinstance(observation, dict):
        return {k: batched(v) for k, v in observation.items()}
    return np.asarray(observation)[None]
