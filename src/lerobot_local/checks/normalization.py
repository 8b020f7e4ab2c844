"""Check: every feature the policy reads is normalised; a type missing from ``normalization_mapping`` (ACT's
default has no ``ENV``) or from ``meta/stats.json`` enters the model raw and nothing in LeRobot says so."""

from __future__ import annotations

import json

from lerobot_local import compat
from lerobot_local.argv import arg_value
from lerobot_local.dataset import STATS_PATH, read_stats_json
from lerobot_local.facts import RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult

NAME = "normalization"
TYPE_ORDER = ("VISUAL", "STATE", "ENV", "ACTION")  # the order LeRobot's own defaults write them in
RAW_MEANING = {
    "VISUAL": "enters the model raw: pixels in [0, 1] where the model expects standardised ones",
    "ACTION": "is learned raw: the loss weighs each joint by its range in its own units (degrees, metres, "
    "gripper steps), so small-range joints are barely learned",
}
RAW_DEFAULT = (
    "enters the model raw: values in metres/degrees next to normalised ones; the model tends to ignore it"
)
RESTATS = (
    "recompute the stats into a new copy: lerobot-convert-local --input={root} --output={root}_restats "
    "--stats=recompute, then train on the copy"
)


def _suggested_mode(missing_type: str, modes: dict[str, str]) -> str:
    """The mode to add for a type with no entry: images MEAN_STD, the others as the policy normalises its
    state (diffusion: MIN_MAX, ACT: MEAN_STD), else MEAN_STD."""
    if missing_type != "VISUAL":
        for kind in ("STATE", "ENV", "ACTION"):
            if modes.get(kind) not in (None, "IDENTITY"):
                return modes[kind]
    return "MEAN_STD"


def _mapping_text(modes: dict[str, str]) -> str:
    ordered = [t for t in TYPE_ORDER if t in modes] + [t for t in modes if t not in TYPE_ORDER]
    return json.dumps({t: modes[t] for t in ordered})


def _fix(facts: RunFacts, modes: dict[str, str], missing: list[str]) -> str:
    fixed = _mapping_text({**modes, **{t: _suggested_mode(t, modes) for t in missing}})
    # facts.argv names lerobot-local's temporary copy of the user's file, not the file itself
    has_file = arg_value(list(facts.argv), "config_path") is not None
    where = "your --config_path file" if has_file else "a --config_path file"
    raw = ", ".join(f'"{t}": "IDENTITY"' for t in missing)
    return (
        "add the missing type(s), keeping the other entries: "
        f"--policy.normalization_mapping='{fixed}' on the command line, or "
        f'"normalization_mapping": {fixed} in the "policy" section of {where} ({raw} keeps it raw on purpose)'
    )


def _label(key: str, ftype: str, mode: str | None = None) -> str:
    return f"{key} ({ftype}{': ' + mode if mode else ''})"


def _stats_problems(facts: RunFacts, normalised: list[tuple[str, str, str]]) -> list[CheckResult]:
    """A normalised feature whose ``meta/stats.json`` entry is missing (LeRobot passes it through raw) or
    lacks the stats its mode needs (LeRobot stops at the first batch)."""
    ds = facts.dataset
    if ds is None or not normalised:
        return []
    stats = read_stats_json(ds.root) or {}
    no_stats, short = [], []
    for key, ftype, mode in normalised:
        entry = stats.get(key)
        if not isinstance(entry, dict):
            no_stats.append(_label(key, ftype, mode))
            continue
        lacking = [s for s in compat.NORMALIZATION_STATS.get(mode, ()) if s not in entry]
        if lacking:
            short.append((key, ftype, mode, lacking))
    results = []
    if no_stats:
        results.append(
            CheckResult(
                NAME,
                "error",
                f"{ds.root / STATS_PATH} has no stats for {', '.join(no_stats)}, so LeRobot's normalizer "
                "passes it through raw (silently): values in metres/degrees next to normalised ones.",
                RESTATS.format(root=ds.root),
                details=tuple({"feature": f, "problem": "no stats"} for f in no_stats),
            )
        )
    if short:
        said = "; ".join(
            f"{key} has no {'/'.join(lack)} stats, which {t}: {m} needs" for key, t, m, lack in short
        )
        modes = compat.normalization_modes(facts.policy) or {}
        fixed = _mapping_text({**modes, **{t: "MEAN_STD" for _, t, _, _ in short}})
        results.append(
            CheckResult(
                NAME,
                "error",
                f"{ds.root / STATS_PATH}: {said}; LeRobot's normalizer stops at the first batch with a "
                "ValueError.",
                "normalise with the stats the dataset holds: "
                f"--policy.normalization_mapping='{fixed}' (or add the missing stats with LeRobot's "
                "augment_dataset_quantile_stats script)",
                details=tuple(
                    {"feature": key, "type": t, "mode": m, "missing_stats": lack} for key, t, m, lack in short
                ),
            )
        )
    return results


@hookimpl
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    policy = facts.policy
    if policy is None:
        why = (
            f"the pretrained config at {facts.policy_path} is unreadable (see offline_models)"
            if facts.policy_path
            else facts.policy_error or "no policy config"
        )
        return [CheckResult(NAME, "skipped", f"cannot tell what the policy normalises: {why}.")]
    modes = compat.normalization_modes(policy)
    if modes is None:
        return [CheckResult(NAME, "skipped", "the policy config has no normalization_mapping.")]
    info = facts.dataset_info
    features = info.get("features") if isinstance(info, dict) else None
    if not isinstance(features, dict):
        return [
            CheckResult(
                NAME,
                "skipped",
                "cannot tell which features the policy reads: the dataset's meta/info.json is not readable "
                "(the dataset row says why).",
            )
        ]
    typed = compat.typed_policy_features(policy, {k: f for k, f in features.items() if isinstance(f, dict)})
    kind = compat.policy_type(policy) or type(policy).__name__
    reads = compat.policy_reads(kind)
    raw: list[tuple[str, str]] = []
    identity, unread = [], []
    normalised: list[tuple[str, str, str]] = []
    for key, ftype in typed.items():
        role = compat.feature_role(key, ftype)
        if reads is not None and role not in reads:
            unread.append(_label(key, ftype))
            continue
        mode = modes.get(ftype)
        if mode is None:
            raw.append((key, ftype))
        elif mode == "IDENTITY":
            identity.append(_label(key, ftype))
        else:
            normalised.append((key, ftype, mode))
    results = []
    if raw:
        missing = sorted({t for _, t in raw}, key=lambda t: (*TYPE_ORDER, t).index(t))
        said = "; ".join(f"{key} ({t}) {RAW_MEANING.get(t, RAW_DEFAULT)}" for key, t in raw)
        mapping = _mapping_text(modes)
        if reads is None:
            message = (
                f"cannot tell whether the {kind} policy reads {', '.join(k for k, _ in raw)}: its "
                f"normalization_mapping {mapping} has no {'/'.join(missing)} entry, so if it does, {said}."
            )
        else:
            message = f"the {kind} policy's normalization_mapping {mapping} has no {'/'.join(missing)} entry"
            message += f": {said}."
        results.append(
            CheckResult(
                NAME,
                "warning" if reads is None else "error",
                message,
                _fix(facts, modes, missing),
                details=tuple({"feature": k, "type": t, "mode": None} for k, t in raw),
            )
        )
    results += _stats_problems(facts, normalised)
    if results:
        return results
    normalised.sort(key=lambda n: ((*TYPE_ORDER, n[1]).index(n[1]), n[0]))
    parts = [f"the {kind} policy normalises " + (", ".join(_label(*n) for n in normalised) or "nothing")]
    if identity:
        parts.append(f"keeps raw by its mapping's IDENTITY {', '.join(identity)}")
    if unread:
        parts.append(f"does not read {', '.join(unread)}")
    return [CheckResult(NAME, "ok", "; ".join(parts) + ".")]
