"""The extension points of lerobot-local, documented in one place.

Plugins are modules or objects with functions marked ``@hookimpl``; they reach the plugin manager through the
``lerobot_local`` entry-point group (see :mod:`lerobot_local.plugins`). The built-in checks, checkpoint
actions, converters, profiles and presets are plugins written against these same hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from lerobot_local.results import CheckResult
    from lerobot_local.settings import LocalSettings

PROJECT = "lerobot_local"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def lerobot_local_before_train(config: Any, settings: LocalSettings) -> list[CheckResult] | None:
    """Called once, on the main process, after LeRobot parsed the train config and before anything is built.

    ``config`` is LeRobot's ``TrainPipelineConfig`` (not yet validated); return the results of your checks.
    A result with severity ``error`` stops the run before the dataset or the model is loaded.
    """


@hookspec
def lerobot_local_after_checkpoint(
    config: Any, settings: LocalSettings, step: int, checkpoint_dir: Path
) -> None:
    """Called on the main process after LeRobot wrote ``checkpoint_dir`` and pointed ``last`` at it."""


@hookspec
def lerobot_local_register_converters(register: Callable[[str, type], None]) -> None:
    """Register dataset converters: ``register(name, config_class)``, a ``ConverterConfig`` subclass."""


@hookspec
def lerobot_local_register_profiles(register: Callable[[str, type], None]) -> None:
    """Register dataset profiles: ``register(name, profile_class)``, a ``DatasetProfile`` subclass."""


@hookspec
def lerobot_local_register_presets(register: Callable[[str, type], None]) -> None:
    """Register train presets: ``register(name, preset_class)``, a ``TrainPreset`` subclass."""
