"""Check: the policy accepts the dataset's features (LeRobot's own verdict, before anything is built); a
pretrained policy's cameras and state/action sizes fit the dataset (else: the rename map)."""

from __future__ import annotations

import json

from lerobot_local import compat
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult

NAME = "policy_features"


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    refused = inputs_refused(facts)
    if refused is not None or not facts.policy_path:
        return [refused] if refused is not None else []
    return pretrained_fit(facts)


def inputs_refused(facts: RunFacts) -> CheckResult | None:
    """An ERROR when LeRobot's policy would refuse the dataset's features at build time (ACT, Diffusion and
    the VLAs need a camera or ``observation.environment_state``: a copy converted without its cameras)."""
    if facts.dataset is None or facts.policy is None:
        return None
    features = facts.dataset.info.get("features", {})
    unread = compat.unread_features(facts.policy, features)
    if unread is not None:
        return _no_action(facts, *unread)
    why = compat.features_refused(facts.policy, features)
    if why is None:
        return None
    kind = compat.policy_type(facts.policy) or "the"
    cameras = [k for k, f in features.items() if f.get("dtype") in ("video", "image")]
    has = f"its cameras are {cameras}" if cameras else "it has no camera"
    return CheckResult(
        NAME,
        "error",
        f"LeRobot's {kind} policy refuses the features of {facts.dataset.root} ({has}): {why}",
        "convert the recording again keeping a camera (leave it out of --drop_features), or train a policy "
        "that reads what the dataset has",
    )


def _no_action(facts: RunFacts, actions: list[str], skipped: list[str]) -> CheckResult:
    """The policy reads its targets from ``action`` and the dataset names them otherwise (LeRobot's ACT then
    dies building its action head: AttributeError 'NoneType' object has no attribute 'shape')."""
    kind = compat.policy_type(facts.policy) or "the"
    info = f"{facts.dataset.root}/meta/info.json"
    named = f"names its action {actions}" if actions else "has no action feature"
    ignored = f"; LeRobot hands no policy its {skipped} either (not under 'observation.')" if skipped else ""
    renames = [(a, compat.ACTION_KEY) for a in actions[:1]]
    renames += [(k, compat.OBS_STATE_KEY) for k in skipped if "state" in k.lower()][:1]
    spelled = ", ".join(f"'{a}' to '{b}'" for a, b in renames) or f"its action to '{compat.ACTION_KEY}'"
    return CheckResult(
        NAME,
        "error",
        f"LeRobot's {kind} policy reads its actions from a feature named '{compat.ACTION_KEY}', and {info} "
        f"{named}{ignored}: it would stop building the policy (AttributeError) before the first step.",
        f"rename {spelled} in {info}, meta/stats.json, meta/episodes/ and the data files' columns (a copy of "
        "the dataset, as LeRobot's recorder names them), then point dataset.root at the copy",
    )


def pretrained_fit(facts: RunFacts) -> list[CheckResult]:
    """A pretrained policy's cameras and state/action sizes against the dataset's."""
    ds, policy = facts.dataset, facts.policy
    inputs = getattr(policy, "input_features", None) if policy is not None else None
    if ds is None or not inputs:
        return [CheckResult(NAME, "skipped", "pretrained features or dataset not readable")]
    features = ds.info.get("features", {})
    data_cams = sorted(k for k, f in features.items() if f.get("dtype") in ("video", "image"))
    policy_cams = sorted(k for k in inputs if k.startswith("observation.images."))
    problems = []
    unmatched = [c for c in data_cams if c not in policy_cams]
    if unmatched and policy_cams:
        mapping = dict(zip(unmatched, [c for c in policy_cams if c not in data_cams], strict=False))
        problems.append(
            CheckResult(
                NAME,
                "warning",
                f"dataset cameras {unmatched} are not among the pretrained policy's {policy_cams}",
                f"map them with --rename_map='{json.dumps(mapping)}' (or keep them: fine-tuning "
                "uses the dataset's features)",
            )
        )
    for key in ("observation.state", "action"):
        max_dim = getattr(policy, "max_state_dim" if key != "action" else "max_action_dim", None)
        shape = features.get(key, {}).get("shape")
        if shape and max_dim and shape[0] > max_dim:
            problems.append(
                CheckResult(
                    NAME,
                    "error",
                    f"dataset '{key}' has {shape[0]} dims, more than the policy's {max_dim}",
                    "use a policy with a larger max dim",
                )
            )
    return problems or [CheckResult(NAME, "ok", f"dataset cameras {data_cams} fit the pretrained policy")]
