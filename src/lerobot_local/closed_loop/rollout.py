"""Roll an actor out in one env for seeded episodes, and record what the env said about each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lerobot_local.closed_loop.success import read_success


class Actor(Protocol):
    """Chooses actions: ``reset`` at the start of each episode, ``act`` once per env step."""

    def reset(self, seed: int) -> None: ...

    def act(self, observation: dict[str, Any]) -> np.ndarray: ...


@dataclass
class Episode:
    seed: int
    success: bool
    steps: int
    total_reward: float
    ended: str  # "succeeded", "terminated" (the env ended it otherwise) or "time limit"
    frames: list[np.ndarray] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "success": self.success,
            "steps": self.steps,
            "total_reward": self.total_reward,
            "ended": self.ended,
        }


def run_episode(
    env: Any,
    actor: Actor,
    seed: int,
    success_key: str,
    env_type: str,
    max_steps: int,
    frame_every: int = 0,
) -> Episode:
    """One episode: success is True once the env's own signal said so on any step (as LeRobot counts it).
    With ``frame_every`` > 0, keeps every that-many-th rendered frame (and the last)."""
    observation, _ = env.reset(seed=seed)
    actor.reset(seed)
    frames: list[np.ndarray] = []
    render = _renderer(env) if frame_every > 0 else None
    if render is not None:
        frames.append(render())
    success, total, ended, step = False, 0.0, "time limit", 0
    for step in range(1, max_steps + 1):
        action = np.asarray(actor.act(observation), dtype=np.float32)
        observation, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        success = read_success(info, success_key, env_type) or success
        if render is not None and step % frame_every == 0:
            frames.append(render())
        if terminated or truncated or success:
            ended = "succeeded" if success else ("terminated" if terminated else "time limit")
            break
    if render is not None and step % frame_every != 0:
        frames.append(render())
    return Episode(seed, success, step, total, ended, frames)


def _renderer(env: Any) -> Callable[[], np.ndarray] | None:
    """``env.render`` as an RGB array, or None when the env cannot render here (no OpenGL)."""
    try:
        frame = env.render()
    except Exception:
        return None
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        return None
    return env.render


def run_episodes(
    env: Any,
    actor: Actor,
    seeds: list[int],
    success_key: str,
    env_type: str,
    max_steps: int,
    frames_for: int = 0,
    frame_every: int = 5,
    progress: Callable[[Episode], None] | None = None,
) -> list[Episode]:
    """Every seed once; frames are kept for the first ``frames_for`` episodes."""
    out = []
    for i, seed in enumerate(seeds):
        episode = run_episode(
            env, actor, seed, success_key, env_type, max_steps, frame_every if i < frames_for else 0
        )
        out.append(episode)
        if progress is not None:
            progress(episode)
    return out


class RandomActor:
    """Uniform random actions from the env's action space (seeded per episode): the floor of any task."""

    def __init__(self, action_space: Any) -> None:
        self.space = action_space

    def reset(self, seed: int) -> None:
        self.space.seed(seed)

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return np.asarray(self.space.sample(), dtype=np.float32)
