"""Check: say how the run was sized to this machine (``lerobot_local.fill_gpu``) and why."""

from __future__ import annotations

from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "sizing"


@hookimpl
def lerobot_local_before_train(settings: LocalSettings) -> list[CheckResult]:
    if not settings.fill_gpu:
        return []
    if not settings.sizing:
        return [CheckResult(NAME, "ok", "fill_gpu: a resumed run keeps the values of its checkpoint")]
    return [CheckResult(NAME, "ok", "; ".join(f"{k}={v}" for k, v in settings.sizing.items()))]
