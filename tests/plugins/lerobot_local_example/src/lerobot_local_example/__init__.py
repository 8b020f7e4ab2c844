"""Example third-party plugin: a dataset check and a before-train check driven by env vars, and a checkpoint
action."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult


@hookimpl
def lerobot_local_check_dataset(dataset: Any, settings: Any) -> list[CheckResult]:
    if os.environ.get("EXAMPLE_DATASET_FAIL") == "1":
        return [
            CheckResult(
                "example:dataset",
                "error",
                f"the example plugin refuses the dataset {dataset.root.name}.",
                "unset EXAMPLE_DATASET_FAIL",
            )
        ]
    return [CheckResult("example:dataset", "ok", f"example plugin saw a {dataset.version} dataset.")]


@hookimpl
def lerobot_local_before_train(config: Any, settings: Any) -> list[CheckResult]:
    if os.environ.get("EXAMPLE_PLUGIN_FAIL") == "1":
        return [
            CheckResult(
                "example", "error", "the example plugin refuses this run", "unset EXAMPLE_PLUGIN_FAIL"
            )
        ]
    return [CheckResult("example", "ok", f"example plugin saw batch_size={config.batch_size}")]


@hookimpl
def lerobot_local_after_checkpoint(config: Any, settings: Any, step: int, checkpoint_dir: Path) -> None:
    if os.environ.get("EXAMPLE_ACTION_FAIL") == "1":
        raise RuntimeError(f"the example action failed after checkpoint {step}")
    (checkpoint_dir.parent / f"example_plugin_saw_{step}.txt").write_text(str(checkpoint_dir))
    # The precision the run really trains in, as accelerate's process-wide state holds it.
    from accelerate.state import AcceleratorState

    (checkpoint_dir.parent / "example_plugin_precision.txt").write_text(
        str(AcceleratorState().mixed_precision)
    )


@hookimpl
def lerobot_local_register_presets(register: Any) -> None:
    from lerobot_local.presets import LocalGraspPreset

    register("example_grasp", LocalGraspPreset)
    if os.environ.get("EXAMPLE_PLUGIN_DUPLICATE") == "1":  # a name the built-ins already use
        register("local_grasp", ExampleGraspPreset)


class ExampleGraspPreset:
    """A stand-in preset class (never instantiated: its registration is refused as a duplicate)."""
