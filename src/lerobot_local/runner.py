"""Run the hooks: the dataset checks (the same for ``lerobot-local check``, the converter, preflight and
``lerobot-train``), the before-train checks (one verdict for the whole job, see verdict.py) and the
after-checkpoint actions (once, on the global main process)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.dataset import V2X
from lerobot_local.facts import DatasetFacts, RunFacts
from lerobot_local.manifest import write_manifest
from lerobot_local.plugins import call_each_guarded, get_plugin_manager
from lerobot_local.results import CheckResult, apply_severity, render_table, worst
from lerobot_local.settings import LocalSettings, write_checkpoint_settings
from lerobot_local.verdict import VerdictBoard

logger = logging.getLogger("lerobot_local")


class ChecksFailed(SystemExit):
    """A before-train check failed: the run stops with exit code 1 before anything is built."""

    def __init__(self, message: str) -> None:
        super().__init__(1)
        self.message = message


def _call(hook: Any, kwargs: dict[str, Any]) -> list[CheckResult]:
    """Every plugin's results of one check hook (pluggy's order; a check that crashes becomes an error row
    naming its plugin)."""
    batches = call_each_guarded(hook, kwargs, on_crash=lambda plugin, exc: [_crashed(plugin, exc)])
    return [r for batch in batches for r in (batch or [])]


def run_dataset_checks(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult]:
    """The dataset checks on one folder, with the severity overrides of the settings applied."""
    hook = get_plugin_manager().hook.lerobot_local_check_dataset
    return apply_severity(_call(hook, {"dataset": dataset, "settings": settings}), settings.severity)


def collect_results(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    """The dataset checks on the run's dataset, then every before-train check, severity overrides applied."""
    pm = get_plugin_manager()
    results = []
    if facts.data is not None and facts.data.version not in V2X:  # a v2.x root: the dataset row says convert
        results += _call(pm.hook.lerobot_local_check_dataset, {"dataset": facts.data, "settings": settings})
    results += _call(
        pm.hook.lerobot_local_before_train, {"facts": facts, "config": facts.config, "settings": settings}
    )
    return apply_severity(results, settings.severity)


def _crashed(plugin_name: str, exc: Exception) -> CheckResult:
    logger.debug("check plugin %s crashed", plugin_name, exc_info=exc)
    return CheckResult(
        plugin_name,
        "error",
        f"the check crashed ({type(exc).__name__}: {exc})",
        f"fix the input it names, or skip it with --lerobot_local.severity='{{{plugin_name}: off}}' "
        "and report the crash to the plugin's authors",
    )


def run_before_train(facts: RunFacts, settings: LocalSettings) -> list[CheckResult]:
    """Run the checks (on each node's local main process in a distributed launch) and stop every process
    of every node if one node's checks failed."""
    launch = facts.launch
    if not launch.distributed:
        results = _checked(facts, settings, "lerobot-local before-train checks")
        _stop_if_failed(results)
        return results
    started = time.time()
    board = VerdictBoard(launch)
    where = f"rank {launch.rank}/{launch.world_size}, node {launch.node_rank}/{launch.num_nodes}"
    results: list[CheckResult] = []
    if launch.is_local_main:
        try:
            results = _checked(
                facts,
                settings,
                f"lerobot-local before-train checks (node {launch.node_rank}/{launch.num_nodes})",
            )
        except BaseException as exc:
            board.publish(False, f"the checks crashed ({exc!r})")
            raise
        failed = _failed(results)
        board.publish(not failed, _describe(failed))
    else:
        logger.info("lerobot-local: %s waits for the checks of its node's main process", where)
    verdicts = board.wait_for_job(started)
    bad = [v for v in verdicts if not v.ok]
    if bad:
        reason = "; ".join(f"{v.describe()}: {v.message}" for v in bad)
        logger.error("lerobot-local: %s stops: the checks failed on %s", where, reason)
        raise ChecksFailed(f"lerobot-local: stopping {where}: checks failed on {reason}")
    logger.info("lerobot-local: %s goes on: the checks passed on every node (%d)", where, len(verdicts))
    return results


def _checked(facts: RunFacts, settings: LocalSettings, title: str) -> list[CheckResult]:
    results = collect_results(facts, settings)
    logger.info("\n%s", render_table(results, title))
    if worst(results) == "warning":
        logger.warning("lerobot-local: checks passed with warnings")
    return results


def _failed(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.severity == "error"]


def _describe(failed: list[CheckResult]) -> str:
    return "; ".join(f"{r.name}: {r.message}" for r in failed)


def _stop_if_failed(results: list[CheckResult]) -> None:
    failed = _failed(results)
    if failed:
        message = _describe(failed)
        logger.error(
            "lerobot-local: %d check(s) failed, the run stops before loading the dataset or the model: %s",
            len(failed),
            message,
        )
        raise ChecksFailed(message)


def install_checkpoint_hook(train_globals: dict[str, Any], config: Any, settings: LocalSettings) -> None:
    """Wrap the train script's checkpoint function so the after-checkpoint hooks run after it."""

    def make_wrapper(original: Any) -> Any:
        def after_checkpoint(checkpoint_dir: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(checkpoint_dir, *args, **kwargs)
            if compat.process_rank()[0] == 0:
                run_after_checkpoint(config, settings, Path(checkpoint_dir))
            return result

        return after_checkpoint

    compat.wrap_train_global(train_globals, compat.CHECKPOINT_HOOK_NAME, make_wrapper)


def mark_checkpoint(settings: LocalSettings, checkpoint_dir: Path) -> None:
    """Right after LeRobot wrote a checkpoint, before anything slow (validation): save the settings (the
    holdout) and the manifest with it, so a run killed from here on resumes from it with the same split.
    The after-checkpoint actions write both again once the checkpoint is complete (with its validation)."""
    write_checkpoint_settings(checkpoint_dir, settings)
    if settings.manifests:
        write_manifest(checkpoint_dir)


def run_after_checkpoint(config: Any, settings: LocalSettings, checkpoint_dir: Path) -> None:
    step = compat.checkpoint_step(checkpoint_dir)
    get_plugin_manager().hook.lerobot_local_after_checkpoint(
        config=config, settings=settings, step=step, checkpoint_dir=checkpoint_dir
    )
