"""Run the hooks: before-train checks (one verdict shared by all processes) and after-checkpoint actions."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.facts import RunFacts
from lerobot_local.results import CheckResult, render_table, worst
from lerobot_local.settings import LocalSettings

logger = logging.getLogger("lerobot_local")
VERDICT_TIMEOUT_S = float(os.environ.get("LEROBOT_LOCAL_VERDICT_TIMEOUT_S", "3600"))


class ChecksFailed(SystemExit):
    """A before-train check failed: the run stops with exit code 1 before anything is built."""

    def __init__(self, message: str) -> None:
        super().__init__(1)
        self.message = message


def collect_results(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    """Call every plugin's before-train hook (pluggy's order; a check that crashes becomes an error row
    naming its plugin) and apply the severity overrides of the settings."""
    from lerobot_local.plugins import call_each_guarded, get_plugin_manager

    batches = call_each_guarded(
        get_plugin_manager().hook.lerobot_local_before_train,
        {"facts": facts, "config": facts.config, "settings": settings},
        on_crash=lambda plugin, exc: [_crashed(plugin, exc)],
    )
    adjusted = []
    for r in (r for batch in batches for r in (batch or [])):
        override = settings.severity.get(r.name) or settings.severity.get(r.name.split(":")[0])
        if override == "off":
            continue
        if override in ("error", "warning") and r.severity in ("error", "warning"):
            r = CheckResult(r.name, override, r.message, r.fix)
        adjusted.append(r)
    return adjusted


def _crashed(plugin_name: str, exc: Exception) -> CheckResult:
    logger.debug("check plugin %s crashed", plugin_name, exc_info=exc)
    return CheckResult(
        plugin_name,
        "error",
        f"the check crashed ({type(exc).__name__}: {exc})",
        f"fix the input it names, or skip it with --lerobot_local.severity='{{{plugin_name}: off}}' "
        "and report the crash to the plugin's authors",
    )


def _verdict_path() -> Path:
    # Every rank of one launch shares the launcher (its parent process), the run id and the master port.
    return Path(tempfile.gettempdir()) / "lerobot-local-verdicts" / f"{compat.launch_key()}.json"


def _write_verdict(ok: bool, message: str) -> None:
    path = _verdict_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"ok": ok, "message": message, "pid": os.getpid(), "time": time.time()}))
    os.replace(tmp, path)


def _wait_for_verdict(started: float) -> dict[str, Any]:
    path = _verdict_path()
    while time.time() - started < VERDICT_TIMEOUT_S:
        if path.is_file():
            verdict = json.loads(path.read_text())
            if verdict.get("time", 0) >= started - 600:
                return verdict
        time.sleep(0.2)
    return {"ok": False, "message": f"no verdict from the main process after {VERDICT_TIMEOUT_S:.0f} s"}


def run_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    """Run the checks on the main process and stop every process if one fails."""
    rank, world = facts.rank, facts.world_size
    started = time.time()
    if rank != 0:
        logger.info("lerobot-local: rank %d/%d waits for the checks of the main process", rank, world)
        verdict = _wait_for_verdict(started)
        if not verdict["ok"]:
            raise ChecksFailed(f"lerobot-local: stopping rank {rank}: {verdict['message']}")
        logger.info("lerobot-local: rank %d/%d goes on: the main process's checks passed", rank, world)
        return []
    try:
        results = collect_results(facts, settings)
    except BaseException as exc:
        if world > 1:
            _write_verdict(False, f"the checks crashed on the main process ({exc!r})")
        raise
    logger.info("\n%s", render_table(results, "lerobot-local before-train checks"))
    failed = [r for r in results if r.severity == "error"]
    message = "; ".join(f"{r.name}: {r.message}" for r in failed)
    if world > 1:
        _write_verdict(not failed, message)
    if failed:
        logger.error(
            "lerobot-local: %d check(s) failed, the run stops before loading the dataset or the model: %s",
            len(failed),
            message,
        )
        raise ChecksFailed(message)
    if worst(results) == "warning":
        logger.warning("lerobot-local: checks passed with warnings")
    return results


def install_checkpoint_hook(train_globals: dict[str, Any], config: Any, settings: LocalSettings) -> None:
    """Wrap the train script's checkpoint function so the after-checkpoint hooks run after it."""
    name = compat.CHECKPOINT_HOOK_NAME
    original = compat.checkpoint_function(train_globals)
    if getattr(original, "__lerobot_local__", False):
        original = original.__wrapped__

    def after_checkpoint(checkpoint_dir: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(checkpoint_dir, *args, **kwargs)
        if compat.process_rank()[0] == 0:
            run_after_checkpoint(config, settings, Path(checkpoint_dir))
        return result

    after_checkpoint.__wrapped__ = original
    after_checkpoint.__lerobot_local__ = True
    train_globals[name] = after_checkpoint


def run_after_checkpoint(config: Any, settings: LocalSettings, checkpoint_dir: Path) -> None:
    from lerobot_local.plugins import get_plugin_manager

    try:
        step = int(checkpoint_dir.name)
    except ValueError:
        step = -1
    get_plugin_manager().hook.lerobot_local_after_checkpoint(
        config=config, settings=settings, step=step, checkpoint_dir=checkpoint_dir
    )
