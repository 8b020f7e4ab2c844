"""LeRobot's releases, in one place: what upgrading LeRobot reads and edits first.

The supported range (written once, in pyproject.toml, read back from the package metadata) and why a
release is excluded; the tables that differ between releases: train-config fields renamed between lines,
where each line keeps its v2.1 -> v3.0 converter and ``dataset_to_policy_features``, how each release sets
mixed precision, what each policy type feeds its model. :class:`IncompatibleLeRobotError` and :func:`missing`
are what every room of ``compat`` raises when a hook point is missing.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import metadata
from typing import Any

DISTRIBUTION = "lerobot-local"
# The supported LeRobot range is written once, in pyproject.toml's dependencies (what the compatibility
# matrix in docs/compatibility.md proved); it is read back from this package's metadata. Why a release is
# excluded from it (``!=``):
EXCLUSION_REASONS = {
    "0.5.0": "its own lerobot-train fails to import in a fresh install (a dataclass error in its groot "
    "policy); 0.5.1 fixes it",
}
# TrainPipelineConfig fields renamed between LeRobot lines: each tuple lists the spellings of one field.
RENAMED_TRAIN_FIELDS = (("eval_freq", "env_eval_freq"),)


class IncompatibleLeRobotError(RuntimeError):
    """The installed LeRobot lacks something lerobot-local relies on (or is outside the supported range)."""


def lerobot_version() -> str:
    """The installed LeRobot version, or ``"not installed"``."""
    try:
        return metadata.version("lerobot")
    except metadata.PackageNotFoundError:
        return "not installed"


@cache
def supported_specifier() -> Any:
    """The LeRobot versions this install of lerobot-local declares for the running Python (a SpecifierSet)."""
    from packaging.requirements import Requirement

    for line in metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(line)
        if requirement.name == "lerobot" and (
            requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        ):
            return requirement.specifier
    raise IncompatibleLeRobotError(
        f"the metadata of {DISTRIBUTION} declares no LeRobot range for this Python; reinstall lerobot-local"
    )


def supported_range() -> str:
    """The supported range as people write it: ``>=0.4.0,<0.7,!=0.5.0``."""
    order = {">": 0, "<": 1, "!": 2, "=": 3, "~": 4}
    return ",".join(sorted((str(s) for s in supported_specifier()), key=lambda s: (order.get(s[0], 5), s)))


def require_supported_lerobot() -> str:
    """Return the LeRobot version, or raise if it is outside the range the compatibility matrix proved."""
    from packaging.version import InvalidVersion, Version

    version = lerobot_version()
    if os.environ.get("LEROBOT_LOCAL_ALLOW_UNTESTED_LEROBOT") == "1":
        return version
    try:
        inside = Version(version) in supported_specifier()
    except InvalidVersion:
        inside = False
    if not inside:
        raise IncompatibleLeRobotError(
            f"lerobot-local supports LeRobot {supported_range()} but LeRobot {version} is installed"
            + (f" ({EXCLUSION_REASONS[version]})" if version in EXCLUSION_REASONS else "")
            + f"; install a supported LeRobot (pip install 'lerobot{supported_range()}'), upgrade "
            "lerobot-local, or set LEROBOT_LOCAL_ALLOW_UNTESTED_LEROBOT=1 to try anyway (or "
            "LEROBOT_LOCAL_DISABLE=1 to run without the safety checks)"
        )
    return version


def missing(what: str) -> IncompatibleLeRobotError:
    return IncompatibleLeRobotError(
        f"LeRobot {lerobot_version()} has no {what}, which lerobot-local needs to run its safety checks; "
        "install a LeRobot version listed in docs/compatibility.md or set LEROBOT_LOCAL_DISABLE=1 to train "
        "without the checks"
    )


# LeRobot's own v2.1 -> v3.0 converter (benchmarked against ours), by release line.
LEROBOT_CONVERTER_MODULES = (
    "lerobot.scripts.convert_dataset_v21_to_v30",
    "lerobot.datasets.v30.convert_dataset_v21_to_v30",
)
# How each LeRobot release turns the config into accelerate's mixed precision (newest first; read in each
# release's lerobot_train.py): 0.6.1 maps policy.dtype, else policy.use_amp; 0.4.0-0.6.0 pass nothing, so
# accelerate reads ACCELERATE_MIXED_PRECISION. Releases with an ``accelerator.mixed_precision`` config field
# (LeRobot main, 0.6.2-dev) read only that field.
PRECISION_BY_RELEASE = (("0.6.1", "policy_dtype_or_use_amp"), ("0.4.0", "none"))
# What each policy type feeds its model, read in its modeling_*.py on LeRobot 0.4.4, 0.5.1 and 0.6.1: "state"
# is observation.state (config.robot_state_feature), "env" observation.environment_state
# (config.env_state_feature, or input_features[OBS_ENV_STATE] for sac/gaussian_actor), "images" every VISUAL
# feature, "action" the target it learns to predict. A policy type missing here is not known: the check says
# so instead of passing. Its normalizer step looks up each feature's type in normalization_mapping and treats
# a type with no entry as IDENTITY (processor/normalize_processor.py: norm_map.get(type, IDENTITY)).
_READS_ENV = frozenset({"state", "env", "images", "action"})
_READS_NO_ENV = frozenset({"state", "images", "action"})
_ENV_READERS = ("act", "diffusion", "tdmpc", "sac", "gaussian_actor")
_NO_ENV_READERS = ("vqbet", "smolvla", "pi0", "pi05", "pi0_fast", "groot", "xvla", "wall_x")
_NO_ENV_READERS_06 = ("eo1", "evo1", "molmoact2", "multi_task_dit")  # LeRobot 0.6.x only
POLICY_READS: dict[str, frozenset[str]] = {
    **dict.fromkeys(_ENV_READERS, _READS_ENV),
    **dict.fromkeys(_NO_ENV_READERS + _NO_ENV_READERS_06, _READS_NO_ENV),
}
# LeRobot's modules that define dataset_to_policy_features, newest first (0.6.x, 0.5.x, 0.4.x).
POLICY_FEATURES_MODULES = (
    "lerobot.utils.feature_utils",
    "lerobot.datasets.feature_utils",
    "lerobot.datasets.utils",
)
