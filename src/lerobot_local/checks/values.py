"""Check: the numbers the policy learns from (``values:*``): one vectorised pass over the state and action
columns of ``data/*.parquet`` (see :mod:`lerobot_local.values`)."""

from __future__ import annotations

from lerobot_local.checks.dataset import convert_command
from lerobot_local.facts import DatasetFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.profiles import get_profile
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings
from lerobot_local.values import check_v2x, check_v30, to_results

NAME = "values"
MAX_EPISODES_IN_FLAG = 60  # a longer --dataset.episodes list is in `lerobot-local check --report_json`


def profile_gripper_index(profile_name: str) -> int | None:
    """The gripper index the dataset profile knows (None without a profile or index)."""
    if not profile_name:
        return None
    try:
        return get_profile(profile_name).gripper_index
    except KeyError:
        return None  # the profile check reports an unknown profile


def train_without(episodes: list[int], total: int) -> str:
    """How to train on the other episodes of a v3.0 dataset (LeRobot's --dataset.episodes)."""
    keep = [e for e in range(total) if e not in set(episodes)]
    if not keep:
        return "no episode is free of findings"
    flagged = "[" + ",".join(str(e) for e in episodes) + "]"
    if len(keep) > MAX_EPISODES_IN_FLAG:
        return (
            f"to train without episodes {flagged}: `lerobot-local check DATASET --report_json=r.json` "
            "writes the --dataset.episodes=[...] list of the others"
        )
    return f"to train without episodes {flagged}: --dataset.episodes=[{','.join(str(e) for e in keep)}]"


@hookimpl
def lerobot_local_check_dataset(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult]:
    values = settings.values
    if not values.enabled:
        return [CheckResult(NAME, "skipped", "value checks switched off (lerobot_local.values.enabled).")]
    normalised = set(dataset.normalised) if dataset.normalised is not None else None
    gripper = profile_gripper_index(settings.profile)
    if dataset.local is not None:
        ds = dataset.local
        data, findings = check_v30(ds.root, ds.info, values, normalised, gripper)
        total = int(ds.info.get("total_episodes") or 0)
        return to_results(data, findings, values, lambda episodes: train_without(episodes, total))
    if dataset.source is not None:
        src = dataset.source
        data, findings = check_v2x(src, values, normalised, gripper)
        return to_results(
            data,
            findings,
            values,
            lambda episodes: f"convert without them: {convert_command(src.root, episodes)}",
        )
    return [CheckResult(NAME, "skipped", "no readable dataset (see the dataset check).")]
