"""LeRobot's training script: how we recognise it and the names in its namespace that we wrap.

``activation.py`` wraps ``train`` and the checkpoint hook; ``validation/training.py`` and ``speed.py``
wrap the training step, the checkpoint writer and the factories (:func:`wrap_train_global`); the metrics
tracker's meters; the settings of a run that upload to the Hub.
"""

from __future__ import annotations

from typing import Any

from lerobot_local.compat.versions import missing

TRAIN_MODULE = "lerobot.scripts.lerobot_train"
# Names the train script imports into its module namespace and that we wrap (see activation.py).
CHECKPOINT_HOOK_NAME = "update_last_checkpoint"


def is_train_entry(fn: Any) -> bool:
    """True when ``fn`` is ``train`` of LeRobot's training script (imported, or run with ``python -m``)."""
    if getattr(fn, "__name__", None) != "train":
        return False
    module = getattr(fn, "__module__", "")
    if module == TRAIN_MODULE:
        return True
    code = getattr(fn, "__code__", None)
    filename = code.co_filename.replace("\\", "/") if code else ""
    return module == "__main__" and filename.endswith("lerobot/scripts/lerobot_train.py")


def activation_probe() -> str:
    """Python source that imports LeRobot's training script as lerobot-train does and prints, as JSON,
    whether our hooks are in place (run by ``lerobot-local doctor`` in a fresh interpreter)."""
    return f"""
import json, sys
sys.argv = ["lerobot-train"]
import lerobot.configs.parser as parser
import {TRAIN_MODULE} as t
print(json.dumps({{"wrap_patched": bool(getattr(parser.wrap, "__lerobot_local__", False)),
                  "train_guarded": bool(getattr(getattr(t, "train", None), "__lerobot_local__", False)),
                  "checkpoint_hook_point": "{CHECKPOINT_HOOK_NAME}" in vars(t)}}))
"""


def push_fields(config: Any, policy: Any | None) -> list[tuple[str, bool | None]]:
    """Every setting of the run that uploads to the Hub, with its value (``None``: cannot be read)."""
    found: list[tuple[str, bool | None]] = []
    if policy is not None and hasattr(policy, "push_to_hub"):
        found.append(("policy.push_to_hub", bool(policy.push_to_hub)))
    if hasattr(config, "save_checkpoint_to_hub"):
        found.append(("save_checkpoint_to_hub", bool(config.save_checkpoint_to_hub)))
    return found


# Names the train script imports into its namespace and that validation wraps: the training step (returns the
# metrics tracker whose averages LeRobot logs), the checkpoint writer (receives the live policy and
# processors) and the processor factory.
TRAIN_STEP_NAME = "update_policy"
SAVE_CHECKPOINT_NAME = "save_checkpoint"
PROCESSORS_FACTORY_NAME = "make_pre_post_processors"
MAKE_POLICY_NAME = "make_policy"
OPTIMIZER_FACTORY_NAME = "make_optimizer_and_scheduler"


def wrap_train_global(train_globals: dict[str, Any], name: str, make_wrapper: Any) -> None:
    """Replace ``name`` in the train script's namespace by ``make_wrapper(original)`` (once)."""
    original = train_globals.get(name)
    if original is None:
        raise missing(f"'{name}' in its training script")
    original = getattr(original, "__lerobot_local_original__", original)
    wrapper = make_wrapper(original)
    wrapper.__lerobot_local_original__ = original
    train_globals[name] = wrapper


# LeRobot's MetricsTracker meters that every supported line logs (0.4-0.6: loss, grdn, lr, updt_s, data_s)
TRACKER_METERS = ("loss", "grad_norm", "lr", "update_s", "dataloading_s")


def tracker_step_metrics(tracker: Any) -> dict[str, float]:
    """The averaged train metrics LeRobot logs at a log step (loss, grad norm, lr, update and data-loading
    seconds) from its MetricsTracker."""
    out = {}
    for name in TRACKER_METERS:
        meter = tracker.metrics.get(name) if isinstance(getattr(tracker, "metrics", None), dict) else None
        if meter is not None and getattr(meter, "count", 0):
            out[name] = float(meter.avg)
    return out


def tracker_steps(tracker: Any) -> int:
    """Steps done before the current update (LeRobot increments the tracker after ``update_policy``)."""
    return int(getattr(tracker, "steps", 0) or 0)
