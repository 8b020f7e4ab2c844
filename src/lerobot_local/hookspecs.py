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
    from lerobot_local.facts import DatasetFacts, RunFacts
    from lerobot_local.results import CheckResult
    from lerobot_local.settings import LocalSettings

PROJECT = "lerobot_local"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def lerobot_local_check_dataset(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult] | None:
    """Check a dataset folder. Called the same way by ``lerobot-local check PATH``, by
    ``lerobot-convert-local`` (dry run and real run, before anything is written), by ``lerobot-local
    preflight`` and inside ``lerobot-train`` (before :func:`lerobot_local_before_train`), so a check written
    here gives the same row everywhere.

    ``dataset`` holds the folder's parsed ``info.json`` and, by version, the readable v3.0 dataset
    (``dataset.local``) or v2.x source (``dataset.source``); ``dataset.normalised`` names the features the
    policy normalises when a run is known. Return your results; an ``error`` refuses the conversion and
    stops the run. Return nothing for a dataset your check does not apply to. An implementation that raises
    becomes an ``error`` row naming its plugin.
    """


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
    """Called on the global main process after LeRobot wrote ``checkpoint_dir`` (the step's folder) and
    pointed ``last`` at it, in pluggy's order.

    An implementation that raises stops the training run with that exception: the checkpoint is already
    complete on disk, so ``--resume=true`` continues from it. That is on purpose: an action such as the
    manifest guards what the next run trusts, and a run that silently goes on without it would leave
    unverified checkpoints behind. An action that may fail harmlessly catches its own errors and logs them.
    """


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
