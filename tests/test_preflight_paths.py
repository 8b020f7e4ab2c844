"""Preflight on v3.0 datasets whose metadata points outside dataset.root, and a check that crashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reliability_log import record
from train_helpers import tiny_run_facts


@pytest.fixture(scope="module")
def parsed(v30_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    return tiny_run_facts(v30_dataset, tmp_path_factory.mktemp("cfg"))


def _dataset_result(parsed: tuple[Any, Any], root: Path):
    from lerobot_local.facts import gather_run_facts
    from lerobot_local.runner import collect_results

    facts, local_settings = parsed
    facts.config.dataset.root = str(root)
    results = collect_results(gather_run_facts(facts.config, list(facts.argv)), local_settings)
    return next(r for r in results if r.name == "dataset"), results


def _results_with_plugin(parsed: tuple[Any, Any], root: Path, plugin: object, name: str):
    """The check results with ``plugin`` registered for this one run of the checks."""
    from lerobot_local.plugins import get_plugin_manager

    pm = get_plugin_manager()
    pm.register(plugin, name=name)
    try:
        return _dataset_result(parsed, root)
    finally:
        pm.unregister(name=name)


@pytest.mark.parametrize(
    "template",
    [
        "../outside/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "/tmp/file-{chunk_index}-{file_index:03d}.parquet",
    ],
    ids=["dotdot", "absolute"],
)
def test_data_path_leaving_the_dataset_is_refused(
    template: str, v30_dataset: Path, parsed, tmp_path: Path
) -> None:
    root = tmp_path / "v30_dataset"
    shutil.copytree(v30_dataset, root)
    info = json.loads((root / "meta/info.json").read_text())
    info["data_path"] = template
    (root / "meta/info.json").write_text(json.dumps(info))
    result, _ = _dataset_result(parsed, root)
    assert result.severity == "error" and "points outside the dataset" in result.message, result
    assert str(root / "meta/info.json") in result.message and result.fix
    record("paths", f"v3.0 data_path template {template!r} (preflight)", "error row", "as expected")


def test_data_file_symlinked_outside_is_refused(v30_dataset: Path, parsed, tmp_path: Path) -> None:
    root = tmp_path / "v30_dataset"
    shutil.copytree(v30_dataset, root)
    data = root / "data/chunk-000/file-000.parquet"
    outside = tmp_path / "elsewhere.parquet"
    shutil.move(data, outside)
    data.symlink_to(outside)
    result, _ = _dataset_result(parsed, root)
    assert result.severity == "error" and "leads outside the dataset folder" in result.message, result
    assert str(data) in result.message
    record("paths", "v3.0 data file symlinked outside dataset.root (preflight)", "error row", "as expected")


def test_a_crashing_check_is_an_error_row_not_a_traceback(v30_dataset: Path, parsed) -> None:
    from lerobot_local.hookspecs import hookimpl

    class Broken:
        @hookimpl
        def lerobot_local_before_train(self, config: Any, settings: Any) -> list:
            raise ZeroDivisionError("boom")

    result, results = _results_with_plugin(parsed, v30_dataset, Broken(), "broken_check")
    crashed = next(r for r in results if r.name == "broken_check")
    assert crashed.severity == "error" and "ZeroDivisionError: boom" in crashed.message
    assert "broken_check: off" in crashed.fix
    assert result.severity == "ok"  # the other checks still ran


def test_a_check_may_take_only_some_hook_arguments(v30_dataset: Path, parsed) -> None:
    """pluggy lets an implementation name a subset of the hookspec's arguments; so does the runner."""
    from lerobot_local.hookspecs import hookimpl
    from lerobot_local.results import CheckResult

    class ConfigOnly:
        @hookimpl
        def lerobot_local_before_train(self, config: Any) -> list:
            return [CheckResult("config_only", "ok", f"saw {config.dataset.repo_id}")]

    _, results = _results_with_plugin(parsed, v30_dataset, ConfigOnly(), "config_only")
    row = next(r for r in results if r.name == "config_only")
    assert row.severity == "ok" and row.message == "saw local/fixture"
