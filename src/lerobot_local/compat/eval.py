"""Evaluation: LeRobot's ``lerobot-eval`` script and its environments (``lerobot_env_*`` simulators, env
configs parsed as lerobot-eval parses them, one gym env, its processors, a policy's action for an
observation).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from importlib import metadata
from typing import Any

from lerobot_local.compat.train import wrap_train_global
from lerobot_local.compat.versions import lerobot_version, missing

EVAL_MODULE = "lerobot.scripts.lerobot_eval"


def is_eval_entry(fn: Any) -> bool:
    """True when ``fn`` is ``eval_main`` of LeRobot's evaluation script."""
    if getattr(fn, "__name__", None) != "eval_main":
        return False
    module = getattr(fn, "__module__", "")
    code = getattr(fn, "__code__", None)
    filename = code.co_filename.replace("\\", "/") if code else ""
    return module == EVAL_MODULE or (
        module == "__main__" and filename.endswith("lerobot/scripts/lerobot_eval.py")
    )


# Simulators register themselves with LeRobot as ``lerobot_env_*`` distributions (LeRobot 0.6 imports them in
# register_third_party_plugins; 0.4 only looks for robots and policies, so we import them ourselves).
ENV_PLUGIN_PREFIX = "lerobot_env_"
# The lerobot-eval name of the rollout function whose env we wrap (the success signal, see activation.py).
EVAL_ROLLOUT_NAME = "rollout"


def register_env_plugins() -> dict[str, str]:
    """Import LeRobot's env configs and every installed ``lerobot_env_*`` package; returns the packages that
    failed to import, with why (a simulator built for another LeRobot release), for the error needing it."""
    try:
        importlib.import_module("lerobot.envs.configs")
    except ImportError as exc:
        raise missing("lerobot.envs.configs") from exc
    failed = {}
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").replace("-", "_")
        if not name.startswith(ENV_PLUGIN_PREFIX) or name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # one broken simulator must not hide the others
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed


def env_types() -> list[str]:
    """The ``--env.type`` choices LeRobot knows (after :func:`register_env_plugins`)."""
    from lerobot.envs.configs import EnvConfig

    return sorted(EnvConfig.get_known_choices())


def env_config(env_type: str, flags: list[str], failed: dict[str, str] | None = None) -> Any:
    """LeRobot's EnvConfig for ``--env.type=env_type`` with the ``--env.<field>=value`` flags given (without
    the ``env.`` prefix: ``["--task=X"]``), parsed by draccus as lerobot-eval parses them; ``failed`` (from
    :func:`register_env_plugins`) explains an unknown type."""
    import draccus
    from lerobot.envs.configs import EnvConfig

    try:
        cls = EnvConfig.get_choice_class(env_type)
    except KeyError as exc:
        why = "".join(
            f"; {name} is installed but does not import with LeRobot {lerobot_version()} ({error})"
            for name, error in (failed or {}).items()
        )
        raise ValueError(f"unknown --env.type={env_type}; LeRobot knows {env_types()}{why}") from exc
    return draccus.parse(config_class=cls, args=flags)


def env_config_fields(env_type: str) -> list[str]:
    """The ``--env.<field>`` names the env type's config takes."""
    from lerobot.envs.configs import EnvConfig

    return [f.name for f in dataclasses.fields(EnvConfig.get_choice_class(env_type))]


def make_one_env(cfg: Any) -> tuple[Any, str, list[str]]:
    """One (not vectorised) gym env for ``cfg``: (env, gym id, notes). ``gym_kwargs`` the env's constructor
    does not take are left out, with a note (LeRobot's make_env passes them all and fails with a TypeError,
    e.g. ``reward_type`` for SO101PickPlace-v0)."""
    import inspect

    import gymnasium as gym

    gym_id = cfg.gym_id
    if gym_id not in gym.registry:
        importlib.import_module(cfg.package_name)
    if gym_id not in gym.registry:
        namespace = gym_id.split("/")[0]
        known = sorted(i.split("/", 1)[1] for i in gym.registry if i.startswith(namespace + "/"))
        raise ValueError(
            f"--env.task={getattr(cfg, 'task', None)}: {namespace} has no such env (it registers {known})"
        )
    spec = gym.spec(gym_id)
    kwargs = dict(cfg.gym_kwargs)
    notes = []
    entry = spec.entry_point
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    try:
        params = inspect.signature(entry).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if params and not takes_any:
        for name in sorted(set(kwargs) - set(params) - {"max_episode_steps"}):
            notes.append(
                f"{gym_id} does not take {name}={kwargs.pop(name)!r} (from LeRobot's env config): not passed"
            )
    env = gym.make(gym_id, disable_env_checker=True, **kwargs)
    return env, gym_id, notes


def env_processors(cfg: Any, policy_config: Any) -> tuple[Any, Any]:
    """The env's observation/action processors (LIBERO-style envs need them; identity elsewhere)."""
    try:
        from lerobot.envs.factory import make_env_pre_post_processors
    except ImportError:
        return (lambda batch: batch), (lambda action: action)
    return make_env_pre_post_processors(env_cfg=cfg, policy_cfg=policy_config)


def env_observation_batch(observation: dict[str, Any], task: str) -> dict[str, Any]:
    """One env observation as the policy's batch of one: LeRobot's key mapping and image layout."""
    from lerobot.envs.utils import preprocess_observation

    batch = preprocess_observation(observation)
    batch["task"] = [task]
    return batch


def policy_env_action(policy: Any, processors: tuple[Any, Any, Any, Any], batch: dict[str, Any]) -> Any:
    """The action the policy sends to the env for one observation batch (numpy, shape (action dim,))."""
    import torch

    env_pre, env_post, pre, post = processors
    batch = pre(env_pre(batch))
    with torch.inference_mode():
        action = policy.select_action(batch)
    action = post(action)
    action = env_post({"action": action})["action"]
    return action.to("cpu").numpy()[0]


def env_type_of(eval_config: Any) -> str | None:
    """The ``--env.type`` of lerobot-eval's parsed config (None when it has no env)."""
    env = getattr(eval_config, "env", None)
    if env is None:
        return None
    try:
        return env.type
    except Exception:
        return type(env).__name__


def wrap_eval_rollout(eval_globals: dict[str, Any], wrap_env: Any) -> None:
    """In lerobot-eval's namespace, run ``rollout`` on ``wrap_env(env)`` instead of the env."""

    def make_wrapper(original: Any) -> Any:
        def rollout(env: Any, *args: Any, **kwargs: Any) -> Any:
            return original(wrap_env(env), *args, **kwargs)

        return rollout

    wrap_train_global(eval_globals, EVAL_ROLLOUT_NAME, make_wrapper)
