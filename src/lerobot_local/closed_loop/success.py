"""How each simulator reports success, read from the env itself; an env that reports none is refused.

LeRobot's convention is ``info["is_success"]``; some envs use another key (SO-101 sim: ``info["succeed"]``).
LeRobot 0.6.1's lerobot-eval falls back to a non-empty list when ``is_success`` is missing, which counts as
success: an untrained policy scores 100%. Here a missing signal is an error, never a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LEROBOT_KEY = "is_success"
# --env.type -> the info key its env sets on every step (True once the task is done)
_KEYS: dict[str, str] = {
    "so101": "succeed",
    "aloha": LEROBOT_KEY,
    "pusht": LEROBOT_KEY,
    "xarm": LEROBOT_KEY,
    "libero": LEROBOT_KEY,
    "metaworld": LEROBOT_KEY,
}


class NoSuccessSignal(RuntimeError):
    """The env's step info carries no success signal this package knows how to read."""


def register_success_key(env_type: str, info_key: str) -> None:
    """Tell lerobot-local which ``info`` key an env type sets on success (for a plugin's simulator)."""
    _KEYS[env_type] = info_key


def success_key(env_type: str, override: str | None = None) -> str:
    """The info key to read for ``env_type`` (``override`` first, then the registry, then LeRobot's)."""
    return override or _KEYS.get(env_type, LEROBOT_KEY)


def read_success(info: Mapping[str, Any], key: str, env_type: str) -> bool:
    """Whether ``info`` (one env's step info) says the task succeeded; refuses an info without ``key``."""
    if key not in info:
        raise NoSuccessSignal(
            f"the {env_type} env reports no success signal: its step info has no {key!r} "
            f"(keys: {sorted(info) or 'none'}), so success cannot be counted and is not assumed. Fix: pass "
            "--success_key=KEY naming the info key your env sets when the task is done, or register it in "
            "your plugin with lerobot_local.closed_loop.success.register_success_key(ENV_TYPE, KEY)"
        )
    value = info[key]
    if hasattr(value, "item"):
        value = value.item()
    if not isinstance(value, (bool, int, float)):
        raise NoSuccessSignal(
            f"the {env_type} env's info[{key!r}] is {value!r}, not a boolean: success cannot be counted"
        )
    return bool(value)
