"""What a policy reads of a dataset: LeRobot's own typing of the features (``dataset_to_policy_features``),
the shapes a policy sees, its normalisation modes and the stats each mode needs (``checks/normalization.py``,
``checks/policy_features.py``).
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

from lerobot_local.compat.versions import POLICY_FEATURES_MODULES, POLICY_READS, missing

OBS_STATE_KEY = "observation.state"
OBS_ENV_STATE_KEY = "observation.environment_state"


def _dataset_to_policy_features() -> Any:
    for name in POLICY_FEATURES_MODULES:
        try:
            return importlib.import_module(name).dataset_to_policy_features
        except (ImportError, AttributeError):
            continue
    raise missing("dataset_to_policy_features (" + ", ".join(POLICY_FEATURES_MODULES) + ")")


def type_name(value: Any) -> str:
    return str(getattr(value, "value", value))


# The image axis names LeRobot reads as channel-last, turned channel-first for the policy (its own
# ``dataset_to_policy_features``: ``channels``, and ``channel`` written by v2.0 ports). Used only when
# LeRobot's function cannot read an entry.
CHANNEL_LAST_NAMES = ("channel", "channels")


def dataset_feature_shapes(dataset_features: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Feature key -> the shape the policy sees it with, as LeRobot's own ``dataset_to_policy_features`` makes
    it (an image named ``[height, width, channel(s)]`` becomes channel-first); an entry LeRobot cannot read or
    does not hand a policy keeps its ``info.json`` shape."""
    convert = _dataset_to_policy_features()
    shapes: dict[str, tuple[int, ...]] = {}
    for key, feature in dataset_features.items():
        if not isinstance(feature, dict):
            continue
        try:
            found = convert({key: feature})
        except Exception:  # malformed entry: the dataset check names it
            found = {}
        if key in found:
            shapes[key] = tuple(int(n) for n in found[key].shape)
            continue
        try:
            shape = tuple(int(n) for n in feature.get("shape") or ())
        except (TypeError, ValueError):
            continue
        names = feature.get("names") if isinstance(feature.get("names"), list) else []
        visual = feature.get("dtype") in ("video", "image")
        if visual and len(shape) == 3 and len(names) == 3 and names[2] in CHANNEL_LAST_NAMES:
            shape = (shape[2], shape[0], shape[1])
        shapes[key] = shape
    return shapes


def policy_type(policy: Any) -> str | None:
    """The ``policy.type`` name of a policy config (None when it has none)."""
    try:
        name = policy.type
    except Exception:
        return None
    return name if isinstance(name, str) else None


def policy_reads(policy_type_name: str | None) -> frozenset[str] | None:
    """What the policy type feeds its model (``state``, ``env``, ``images``, ``action``); None: not known."""
    return POLICY_READS.get(policy_type_name or "")


def normalization_modes(policy: Any) -> dict[str, str] | None:
    """The policy config's ``normalization_mapping`` as feature type -> mode names (None: it has none)."""
    mapping = getattr(policy, "normalization_mapping", None)
    if not isinstance(mapping, dict):
        return None
    return {type_name(k): type_name(v) for k, v in mapping.items()}


def typed_policy_features(policy: Any, dataset_features: dict[str, Any]) -> dict[str, str]:
    """Feature key -> LeRobot feature type (VISUAL, STATE, ENV, ACTION, ...) of what ``make_policy`` hands the
    policy: its ``input_features`` when the config sets them (a pretrained policy), else the dataset's typed
    by LeRobot's own ``dataset_to_policy_features``; plus the dataset's action features. A feature LeRobot
    cannot type (a malformed entry: the dataset check reports it) is left out."""
    convert = _dataset_to_policy_features()
    typed: dict[str, str] = {}
    for key, feature in dataset_features.items():
        try:
            found = convert({key: feature})
        except Exception:  # malformed info.json entry: the dataset check names it
            continue
        typed.update({k: type_name(f.type) for k, f in found.items()})
    outputs = {k: t for k, t in typed.items() if t == "ACTION"}
    inputs = getattr(policy, "input_features", None)
    if isinstance(inputs, dict) and inputs:
        declared = {k: type_name(getattr(f, "type", "")) for k, f in inputs.items()}
        return {**declared, **outputs}
    return typed


def feature_role(key: str, feature_type: str) -> str | None:
    """The role (see :data:`POLICY_READS`) a typed feature plays for the known policies, or None (an extra
    STATE feature such as observation.velocity: no known policy feeds it to its model)."""
    if feature_type == "VISUAL":
        return "images"
    if feature_type == "ACTION":
        return "action"
    if feature_type == "ENV" and key == OBS_ENV_STATE_KEY:
        return "env"
    if feature_type == "STATE" and key == OBS_STATE_KEY:
        return "state"
    return None


# The stats each normalisation mode needs in meta/stats.json (normalize_processor.py): a feature with no stats
# at all is passed through raw, silently; a mode whose stats are missing raises at the first batch.
NORMALIZATION_STATS: dict[str, tuple[str, ...]] = {
    "MEAN_STD": ("mean", "std"),
    "MIN_MAX": ("min", "max"),
    "QUANTILES": ("q01", "q99"),
    "QUANTILE10": ("q10", "q90"),
}


def _trial(policy: Any, dataset_features: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """A copy of the policy config with the action features ``make_policy`` would hand it as its outputs,
    and the policy features of the dataset; None when info.json's features are malformed (the dataset check
    reports them)."""
    try:
        features = _dataset_to_policy_features()(dataset_features)
    except Exception:  # malformed info.json: the dataset check reports it
        return None
    trial = copy.deepcopy(policy)
    trial.output_features = {k: f for k, f in features.items() if type_name(f.type) == "ACTION"}
    return trial, features


def features_refused(policy: Any, dataset_features: dict[str, Any]) -> str | None:
    """LeRobot's own verdict on the features ``make_policy`` would hand the policy (its config's
    ``validate_features``, e.g. ACT's "You must provide at least one image or the environment state"): the
    reason it refuses them, or None when it accepts them or cannot be asked (a malformed ``info.json`` entry:
    the dataset check names it)."""
    if policy is None or not callable(getattr(policy, "validate_features", None)):
        return None
    tried = _trial(policy, dataset_features)
    if tried is None:
        return None
    trial, features = tried
    outputs = trial.output_features
    if not getattr(trial, "input_features", None):
        trial.input_features = {k: f for k, f in features.items() if k not in outputs}
    try:
        trial.validate_features()
    except Exception as exc:  # LeRobot raises ValueError (some policies other types) with its reason
        return str(exc) or type(exc).__name__
    return None


# the one feature LeRobot's policies read their targets from (``config.action_feature``)
ACTION_KEY = "action"
BOOKKEEPING = ("timestamp", "frame_index", "episode_index", "index", "task_index")  # every dataset's


def unread_features(policy: Any, dataset_features: dict[str, Any]) -> tuple[list[str], list[str]] | None:
    """When the policy would find no ``action`` among the features ``make_policy`` hands it (the recorder
    named it otherwise, e.g. ``actions``; ACT then dies building its action head): (the dataset's features
    LeRobot types as actions, the numeric features it hands no policy at all, e.g. a ``state`` not under
    ``observation.``). None when the policy finds its action, or cannot be asked."""
    if policy is None or not hasattr(type(policy), "action_feature"):
        return None
    tried = _trial(policy, dataset_features)
    if tried is None:
        return None
    trial, features = tried
    if trial.action_feature is not None:
        return None
    skipped = [
        k
        for k, f in dataset_features.items()
        if k not in features
        and k not in BOOKKEEPING
        and isinstance(f, dict)
        and f.get("dtype") in ("float32", "float64")
    ]
    return sorted(trial.output_features), skipped
