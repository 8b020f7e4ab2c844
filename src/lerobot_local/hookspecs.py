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
    from lerobot_local.facts import RunFacts
    from lerobot_local.results import CheckResult
    from lerobot_local.settings import LocalSettings

PROJECT = "lerobot_local"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def lerobot_local_before_train(
    facts: RunFacts, config: Any, settings: LocalSettings
) -> list[CheckResult] | None:
    """Called once, on the main process, after LeRobot parsed the train config and before anything is built,
    and by ``lerobot-local preflight`` with the same arguments.

    ``facts`` holds what is known about the run, gathered once (the policy config it will train, the
    ``policy.path`` and its overrides, the resume checkpoint, the dataset's ``info.json``, the precision);
    ``config`` is LeRobot's ``TrainPipelineConfig`` (not yet validated, also ``facts.config``). Read what you
    need from them, never from ``sys.argv``. Return the results of your checks; a result with severity
    ``error`` stops the run before the dataset or the model is loaded. An implementation that raises
    becomes an ``error`` row naming its plugin. Called in pluggy's order (``tryfirst``/``trylast`` apply).
    """


@hookspec
def lerobot_local_after_checkpoint(
    config: Any, settings: LocalSettings, step: int, checkpoint_dir: Path
) -> None:
    """Called on the main process after LeRobot wrote ``checkpoint_dir`` and pointed ``last`` at it."""


@hookspec
def lerobot_local_register_converters(register: Callable[[str, type], None]) -> None:
    """Register dataset converters: ``register(name, config_class)``, a ``ConverterConfig`` subclass.

    Called once per process, the first time the converters are listed. A name already taken (by a
    built-in or another plugin) is refused with a warning naming both plugins.
    """


@hookspec
def lerobot_local_register_profiles(register: Callable[[str, type], None]) -> None:
    """Register dataset profiles: ``register(name, profile_class)``, a ``DatasetProfile`` subclass."""


@hookspec
def lerobot_local_register_presets(register: Callable[[str, type], None]) -> None:
    """Register train presets: ``register(name, preset_class)``, a ``TrainPreset`` subclass."""
