"""The facts of one run, gathered once from the argv LeRobot parses and handed to every before-train check.

``lerobot-train`` and ``lerobot-local preflight`` both call :func:`gather_run_facts` with the same prepared
argv (see :mod:`lerobot_local.config_file`), so their check tables agree by construction: no check reads
``sys.argv``, reloads the pretrained policy config or re-reads ``meta/info.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.checks.dataset_info import LocalDataset, local_dataset
from lerobot_local.config_file import arg_value


@dataclass(frozen=True)
class RunFacts:
    """What the checks may know about a run. ``policy`` is the policy config the run will train
    (the pretrained one with its overrides when ``policy_path`` is set), or None with ``policy_error``."""

    config: Any
    argv: tuple[str, ...]
    lerobot_version: str
    policy_path: str | None
    policy_overrides: tuple[str, ...]
    policy: Any | None
    policy_error: str | None
    resume: bool
    resume_checkpoint: Path | None
    dataset_root: Path | None
    dataset_info: dict[str, Any] | None
    dataset_info_error: str | None
    dataset: LocalDataset | None
    precision: compat.PrecisionPlan
    launch: compat.Launch

    @property
    def info_path(self) -> Path | None:
        return self.dataset_root / "meta" / "info.json" if self.dataset_root else None


def _arg(argv: list[str], name: str) -> str | None:
    found = arg_value(argv, name)  # the same reading of argv that prepared it (config_file)
    return found[1] if found else None


def _read_info(root: Path | None) -> tuple[dict[str, Any] | None, str | None]:
    if root is None:
        return None, None
    path = root / "meta" / "info.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return (data, None) if isinstance(data, dict) else (None, "is not a JSON object")


def gather_run_facts(config: Any, argv: list[str]) -> RunFacts:
    """Build the run facts from LeRobot's parsed ``config`` and the ``argv`` it was parsed from."""
    argv = list(argv)
    policy_path = _arg(argv, "policy.path")
    overrides = compat.policy_cli_overrides(argv) if policy_path else []
    if policy_path:
        policy, policy_error = compat.load_policy_config(policy_path, overrides)
    else:
        policy, policy_error = getattr(config, "policy", None), None
    resume = bool(getattr(config, "resume", False))
    config_path = _arg(argv, "config_path")
    checkpoint = compat.checkpoint_of_train_config(Path(config_path)) if resume and config_path else None
    root_value = getattr(getattr(config, "dataset", None), "root", None)
    root = Path(root_value).expanduser() if root_value else None
    info, info_error = _read_info(root)
    return RunFacts(
        config=config,
        argv=tuple(argv),
        lerobot_version=compat.lerobot_version(),
        policy_path=policy_path,
        policy_overrides=tuple(overrides),
        policy=policy,
        policy_error=policy_error,
        resume=resume,
        resume_checkpoint=checkpoint,
        dataset_root=root,
        dataset_info=info,
        dataset_info_error=info_error,
        dataset=local_dataset(root, info) if root is not None and info is not None else None,
        precision=compat.precision_plan(config, policy),
        launch=compat.launch(),
    )
