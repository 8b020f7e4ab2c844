"""Check: the dataset matches the dataset profile named in the settings (``lerobot_local.profile``)."""

from __future__ import annotations

from lerobot_local.facts import DatasetFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.profiles import get_profile
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings


@hookimpl
def lerobot_local_check_dataset(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult]:
    if not settings.profile:
        return [CheckResult("profile", "skipped", "no dataset profile set (lerobot_local.profile).")]
    try:
        profile = get_profile(settings.profile)
    except KeyError as exc:
        return [
            CheckResult("profile", "error", f"{exc.args[0]}.", "run `lerobot-local doctor` to list profiles")
        ]
    if dataset.source is not None:
        return [
            CheckResult(
                f"profile:{settings.profile}", "skipped", "profiles describe v3.0 datasets: convert first."
            )
        ]
    ds = dataset.local
    if ds is None:
        return [CheckResult(f"profile:{settings.profile}", "skipped", "no readable local v3.0 dataset.")]
    return profile.check(ds.root, ds.info)
