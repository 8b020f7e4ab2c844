"""Safety fails closed: the plugin allowlist cannot drop the built-in checks, an unimportable package
refuses to train (one loud line), duplicate registrations warn with both sources, hooks run in pluggy's
order (tryfirst, wrappers), and the precision a config asks for is the one accelerate trains in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, run_cli
from reliability_log import record
from train_helpers import tiny_act_config, tiny_run_facts, train, write_config


def test_allowlist_filters_third_parties_only(
    v30_dataset: Path, tmp_path: Path, example_plugin: Path
) -> None:
    push = {"policy.push_to_hub": True, "policy.repo_id": "me/x"}
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", **push))
    env = {"PYTHONPATH": str(example_plugin), "LEROBOT_LOCAL_PLUGINS": "my_check"}
    proc = run_cli("lerobot-local", "preflight", f"--config_path={cfg}", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "  hub_push" in proc.stdout and "ERROR" in proc.stdout  # the built-in still runs
    assert "example plugin saw" not in proc.stdout  # the third party not allowed is left out
    assert "names plugin 'my_check', but no installed distribution provides it" in proc.stderr
    allowed = run_cli(
        "lerobot-local", "preflight", f"--config_path={cfg}", env={**env, "LEROBOT_LOCAL_PLUGINS": "example"}
    )
    assert "example plugin saw batch_size=2" in allowed.stdout and "  hub_push" in allowed.stdout
    record(
        "fail closed",
        "LEROBOT_LOCAL_PLUGINS naming only a third-party plugin",
        "built-in safety checks still run; unknown names warned about",
        "hub_push ERROR with LEROBOT_LOCAL_PLUGINS=my_check; warning names my_check",
    )


UNIMPORTABLE = """
import runpy, sys

class DeletedCheckout:
    '''What an editable install whose checkout was removed looks like: the package cannot be found.'''
    def find_spec(self, name, path=None, target=None):
        if name == "lerobot_local" or name.startswith("lerobot_local."):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, DeletedCheckout())
sys.argv = [sys.argv[1], *sys.argv[2:]]
if sys.argv[0] == "lerobot-train":
    runpy.run_module("lerobot.scripts.lerobot_train", run_name="__main__")
else:
    import lerobot.configs.parser  # another LeRobot tool
    print("OTHER TOOL RAN")
"""


def test_unimportable_package_refuses_to_train(v30_dataset: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cfg.json", tiny_act_config(v30_dataset, tmp_path / "run", steps=2))
    proc = run_cli("-c", UNIMPORTABLE, "lerobot-train", f"--config_path={cfg}")
    assert proc.returncode != 0, proc.stderr[-3000:]
    assert "lerobot-local: ERROR: the lerobot_local package cannot be imported (ModuleNotFoundError" in (
        proc.stderr
    )
    assert "refusing to train unchecked" in proc.stderr and "pip install -e" in proc.stderr
    assert not (tmp_path / "run").exists()
    other = run_cli("-c", UNIMPORTABLE, "lerobot-info")
    assert other.returncode == 0 and "OTHER TOOL RAN" in other.stdout, other.stderr[-2000:]
    assert "cannot be imported" in other.stderr  # still said, once, but the other tool is not blocked
    off = run_cli("-c", UNIMPORTABLE, "lerobot-info", env={"LEROBOT_LOCAL_DISABLE": "1"})
    assert "cannot be imported" not in off.stderr and "OTHER TOOL RAN" in off.stdout
    record(
        "fail closed",
        "lerobot_local unimportable while lerobot-train starts (e.g. editable checkout deleted)",
        "one loud line naming the cause and the fix; nothing trains",
        "exit != 0, no output dir; other LeRobot tools still run",
    )


@pytest.mark.any_line  # a text file and its generator: the same on every LeRobot line
def test_activation_pth_is_what_its_generator_writes() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from write_activation_pth import PTH, pth_text
    finally:
        sys.path.pop(0)
    assert PTH.read_text() == pth_text(), "run: python scripts/write_activation_pth.py"


def test_duplicate_registration_warns_with_both_sources(example_plugin: Path) -> None:
    env = {"PYTHONPATH": str(example_plugin), "EXAMPLE_PLUGIN_DUPLICATE": "1"}
    proc = run_cli("lerobot-local", "preset", "local_grasp", "--dataset_root=/data/x", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (
        "preset 'local_grasp' from plugin example is ignored: lerobot-local (built-in) already registered"
        in proc.stderr
    )
    assert '"batch_size": 16' in proc.stdout  # the built-in preset is the one used
    listed = run_cli("lerobot-local", "preset", env=env)
    assert "example_grasp" in listed.stderr


@pytest.fixture(scope="module")
def facts(v30_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    return tiny_run_facts(v30_dataset, tmp_path_factory.mktemp("cfg"))


def test_hooks_run_in_pluggys_order_with_wrappers(facts: tuple[Any, Any]) -> None:
    from lerobot_local.hookspecs import hookimpl
    from lerobot_local.plugins import get_plugin_manager
    from lerobot_local.results import CheckResult
    from lerobot_local.runner import collect_results, run_dataset_checks

    seen: list[str] = []

    class First:
        @hookimpl(tryfirst=True)
        def lerobot_local_before_train(self) -> list:
            seen.append("first")
            return [CheckResult("first", "ok", "called first")]

    class Last:
        @hookimpl(trylast=True)
        def lerobot_local_before_train(self) -> list:
            seen.append("last")
            return [CheckResult("last", "ok", "called last")]

    class Around:
        @hookimpl(wrapper=True)
        def lerobot_local_before_train(self):
            seen.append("wrapper before")
            results = yield
            seen.append("wrapper after")
            return [*results, [CheckResult("wrapped", "ok", f"saw {len(results)} batches")]]

    class Crashing:
        @hookimpl
        def lerobot_local_before_train(self) -> list:
            raise RuntimeError("boom")

    pm = get_plugin_manager()
    plugins = {"t_first": First(), "t_last": Last(), "t_around": Around(), "t_crash": Crashing()}
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    try:
        names = [r.name for r in collect_results(*facts)]
    finally:
        for name in plugins:
            pm.unregister(name=name)
    dataset_rows = [r.name for r in run_dataset_checks(facts[0].data, facts[1])]
    assert names[: len(dataset_rows)] == dataset_rows  # the dataset checks' rows come first
    before_train = names[len(dataset_rows) :]
    assert seen[0] == "wrapper before" and seen[1] == "first" and seen[-2:] == ["last", "wrapper after"]
    assert before_train[0] == "first" and before_train[-2:] == ["last", "wrapped"]
    assert "t_crash" in names and "dataset" in names  # a crash is a row; the other checks still ran


def test_precision_asked_for_is_the_one_accelerate_trains_in(
    v30_dataset: Path, tmp_path: Path, example_plugin: Path, lerobot_version: str
) -> None:
    """policy.use_amp=true on the CPU: bf16 on every line (0.4.x ignores use_amp; the plugin makes it so).
    One step is enough: the example plugin reads accelerate's state at the checkpoint. The fp32 side (no
    use_amp: "fp32" row, accelerate's "no") is test_train_hooks' third-party run."""
    cfg = write_config(
        tmp_path / "cfg.json",
        tiny_act_config(v30_dataset, tmp_path / "run", steps=1, save_freq=1, **{"policy.use_amp": True}),
    )
    proc = train(f"--config_path={cfg}", env={"PYTHONPATH": str(example_plugin)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = next(line for line in proc.stderr.splitlines() if line.startswith("  precision "))
    assert "bf16: policy.use_amp=true" in row, row
    assert (tmp_path / "run/checkpoints/example_plugin_precision.txt").read_text() == "bf16"
    record(
        "precision",
        f"policy.use_amp=true on CPU, LeRobot {lerobot_version}",
        "accelerate trains in bf16; the precision row says so and where it comes from",
        row.split("OK", 1)[-1].strip(),
    )
