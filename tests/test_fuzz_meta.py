"""Property-based fuzzing of the meta files (hypothesis).

Each example damages one meta file of a real dataset in one random way (a field set to any JSON value or
removed, a line replaced by arbitrary text, the whole file replaced by random bytes). Whatever the damage:

* the converter either succeeds with a v3.0 output or raises our ConversionError naming a file, never
  another exception (which the CLI would print as a raw traceback), and never leaves a partial output;
* the preflight checks never crash: every problem is a result row with a fix;
* the source is byte-identical afterwards.

Nothing here depends on the LeRobot version (``any_line``: one line runs it): the damage meets our own
readers, and where a converted output is loaded by LeRobot (``verify="quick"``) either outcome, loaded or
refused with our error, is accepted; LeRobot loading our output is test_convert's, on every line.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, tree_digest
from reliability_log import record
from train_helpers import tiny_act_config, write_config

pytestmark = pytest.mark.any_line
EXAMPLES = int(os.environ.get("LEROBOT_LOCAL_FUZZ_EXAMPLES", "150"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run and every LeRobot line
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PREFLIGHT_SETTINGS = {"lerobot_local.profile": "local_grasp", "lerobot_local.deep_video_check": True}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
# Keys the readers actually look at, plus arbitrary ones.
META_KEYS = st.sampled_from(
    [
        "codebase_version",
        "fps",
        "features",
        "data_path",
        "video_path",
        "total_episodes",
        "total_frames",
        "chunks_size",
        "episode_index",
        "length",
        "tasks",
        "task_index",
        "task",
        "stats",
        "dtype",
        "shape",
        "names",
        "min",
        "max",
        "mean",
        "std",
        "count",
    ]
) | st.text(min_size=1, max_size=8)


V21_META = ["info.json", "episodes.jsonl", "episodes_stats.jsonl", "tasks.jsonl"]
V30_META = ["info.json", "stats.json", "tasks.parquet", "episodes/chunk-000/file-000.parquet"]


@st.composite
def damage(draw: st.DrawFn, files: list[str]) -> tuple[str, str, Any]:
    """(file, kind, detail): one random change to one meta file (binary files: bytes or truncation)."""
    file = draw(st.sampled_from(files))
    if file.endswith(".parquet"):
        kind = draw(st.sampled_from(["bytes", "truncate"]))
    else:
        kind = draw(st.sampled_from(["set", "delete", "set_nested", "line_text", "bytes"]))
    if kind == "bytes":
        return file, kind, draw(st.binary(max_size=64))
    if kind == "truncate":
        return file, kind, draw(st.floats(0.0, 0.99))
    if kind == "line_text":
        return file, kind, (draw(st.integers(0, 3)), draw(st.text(max_size=40)))
    path = [draw(META_KEYS)]
    if kind == "set_nested":
        path = draw(st.lists(META_KEYS, min_size=2, max_size=3))
    return file, kind, (draw(st.integers(0, 3)), path, draw(json_values))


def _apply(root: Path, change: tuple[str, str, Any]) -> None:
    file, kind, detail = change
    path = root / "meta" / file
    if kind == "bytes":
        path.write_bytes(detail)
        return
    if kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * detail)])
        return
    if kind == "line_text":
        lineno, text = detail
        lines = path.read_text().splitlines() if file.endswith(".jsonl") else [path.read_text()]
        lines[lineno % len(lines)] = text
        path.write_text("\n".join(lines) + "\n")
        return
    lineno, keys, value = detail
    if file.endswith(".jsonl"):
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        target = rows[lineno % len(rows)]
    else:
        rows = None
        target = json.loads(path.read_text())
    node = target
    # Walk into existing objects where the key exists (e.g. stats -> action -> min), else create the path.
    for key in keys[:-1]:
        if isinstance(node.get(key), dict):
            node = node[key]
        elif node and isinstance(next(iter(node.values())), dict) and key not in node:
            node = next(iter(node.values()))
        else:
            node[key] = {}
            node = node[key]
    if kind == "delete":
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value
    if rows is None:
        path.write_text(json.dumps(target))
    else:
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def _convert(src: Path, out: Path) -> Any:
    from lerobot_local.convert.run import ConvertJob, run_conversion
    from lerobot_local.convert.writer import WriteOptions

    job = ConvertJob(input=src, output=out, verify="quick", write=WriteOptions(progress=False))
    return run_conversion(job, "local_v21")


@FUZZ_SETTINGS
@given(change=damage(V21_META))
def test_converter_on_damaged_meta(change: tuple[str, str, Any]) -> None:
    from lerobot_local.convert.errors import ConversionError

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        shutil.copytree(FIXTURES / "v21_video", src)
        _apply(src, change)
        before = tree_digest(src)
        try:
            report = _convert(src, out)
        except ConversionError as exc:
            assert exc.path and str(src) in exc.path, f"{change}: error names no file of the dataset: {exc}"
            assert exc.fix, f"{change}: error without a fix: {exc}"
            assert not out.exists(), f"{change}: partial output left behind"
            outcome = "refused"
        else:
            info = json.loads((out / "meta" / "info.json").read_text())
            assert info["codebase_version"] == "v3.0"
            assert report.episodes == info["total_episodes"]
            outcome = "converted"
        assert not list(Path(tmp).glob(".out*")), f"{change}: temporary folder left behind"
        assert tree_digest(src) == before
    _OUTCOMES[f"converter {outcome}"] = _OUTCOMES.get(f"converter {outcome}", 0) + 1


_OUTCOMES: dict[str, int] = {}


@pytest.fixture(scope="module")
def v30_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "v30"
    _convert(FIXTURES / "v21_video", out)
    return out


@pytest.fixture(scope="module")
def train_config(v30_dataset: Path) -> tuple[Any, Any]:
    """The LeRobot train config and plugin settings, parsed once (LeRobot's parser takes seconds)."""
    from lerobot_local.cli import gather_facts

    run = v30_dataset.parent / "run"
    config = tiny_act_config(v30_dataset, run, **PREFLIGHT_SETTINGS)
    config = write_config(v30_dataset.parent / "cfg.json", config)
    facts, local_settings, _ = gather_facts([f"--config_path={config}"])
    assert local_settings.profile == "local_grasp"
    return facts, local_settings


@FUZZ_SETTINGS
@given(change=damage(V30_META))
def test_preflight_on_damaged_meta(change: tuple[str, str, Any], v30_dataset: Path, train_config) -> None:
    from lerobot_local.facts import gather_run_facts
    from lerobot_local.results import render_table
    from lerobot_local.runner import collect_results

    facts, local_settings = train_config
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "v30"
        shutil.copytree(v30_dataset, root)
        _apply(root, change)
        before = tree_digest(root)
        facts.config.dataset.root = str(root)
        results = collect_results(gather_run_facts(facts.config, list(facts.argv)), local_settings)
        table = render_table(results)
        assert not [r for r in results if "crashed" in r.message], f"{change}: a check crashed\n{table}"
        errors = [r for r in results if r.severity == "error"]
        assert all(r.fix for r in errors), table
        dataset_result = next(r for r in results if r.name.split(":")[0] == "dataset")
        assert dataset_result.severity in ("ok", "error"), table
        assert tree_digest(root) == before
    outcome = "refused" if errors else "passed"
    _OUTCOMES[f"preflight {outcome}"] = _OUTCOMES.get(f"preflight {outcome}", 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _record_outcomes():
    yield
    if _OUTCOMES:
        record(
            "fuzzing",
            "converter and preflight on randomly damaged meta files (hypothesis, derandomized)",
            "success, or our error naming the file (converter) / an error row with a fix (preflight); "
            "no traceback, no partial output, dataset unchanged",
            ", ".join(f"{n} {k}" for k, n in sorted(_OUTCOMES.items())) + ", 0 crashes",
            trials=sum(_OUTCOMES.values()),
        )
