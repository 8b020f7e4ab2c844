"""Bad input: exit 1, one sentence naming the file and the fix, nothing written, the source untouched."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run_cli, tree_digest
from reliability_log import record

EP1_PARQUET = "data/chunk-000/episode_000001.parquet"
EP1_TOP = "videos/chunk-000/observation.images.top/episode_000001.mp4"


def _edit_json(rel: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        data = json.loads((root / rel).read_text())
        change(data)
        (root / rel).write_text(json.dumps(data))

    return apply


def _edit_jsonl(rel: str, change: Callable[[list[dict]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        rows = [json.loads(x) for x in (root / rel).read_text().splitlines() if x]
        change(rows)
        (root / rel).write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    return apply


def _truncate(rel: str, keep: float = 0.5) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(data[: int(len(data) * keep)])

    return apply


def _write(rel: str, content: bytes) -> Callable[[Path], None]:
    return lambda root: (root / rel).write_bytes(content)


def _delete(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


def _copy_other_episode_video(root: Path) -> None:
    """Episode 1's top camera replaced by episode 0's (20 frames instead of 31)."""
    shutil.copy(root / "videos/chunk-000/observation.images.top/episode_000000.mp4", root / EP1_TOP)


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda d: d.__setitem__(key, value)


CASES = {
    "missing info.json": (_delete("meta/info.json"), "meta/info.json", "does not exist"),
    "invalid info.json": (_write("meta/info.json", b"{not json"), "meta/info.json", "not valid JSON"),
    "info.json not an object": (_write("meta/info.json", b"[1, 2]"), "meta/info.json", "codebase_version"),
    "already v3.0": (
        _edit_json("meta/info.json", _set("codebase_version", "v3.0")),
        "meta/info.json",
        "already describes a v3.0 dataset",
    ),
    "unknown version": (
        _edit_json("meta/info.json", _set("codebase_version", "v1.6")),
        "meta/info.json",
        "no registered converter",
    ),
    "fps zero": (_edit_json("meta/info.json", _set("fps", 0)), "meta/info.json", "fps=0"),
    "fps string": (_edit_json("meta/info.json", _set("fps", "30")), "meta/info.json", "fps='30'"),
    "total_episodes wrong": (
        _edit_json("meta/info.json", _set("total_episodes", 9)),
        "meta/info.json",
        "total_episodes=9",
    ),
    "data_path escapes": (
        _edit_json("meta/info.json", _set("data_path", "../../etc/{episode_index}.parquet")),
        "meta/info.json",
        "points outside the dataset",
    ),
    "data_path absolute": (
        _edit_json("meta/info.json", _set("data_path", "/etc/{episode_index}.parquet")),
        "meta/info.json",
        "points outside the dataset",
    ),
    "video_path escapes": (
        _edit_json("meta/info.json", _set("video_path", "videos/../../{video_key}/{episode_index}.mp4")),
        "meta/info.json",
        "points outside the dataset",
    ),
    "features not an object": (
        _edit_json("meta/info.json", _set("features", [1])),
        "meta/info.json",
        "features",
    ),
    "chunks_size a string": (
        _edit_json("meta/info.json", _set("chunks_size", "1000")),
        "meta/info.json",
        "chunks_size='1000'",
    ),
    "absurd fps": (_edit_json("meta/info.json", _set("fps", 10**9)), "meta/info.json", "fps=1000000000"),
    "tasks.jsonl bad line": (
        _write("meta/tasks.jsonl", b'{"task_index": 0, "task": "x"}\n[\n'),
        "meta/tasks.jsonl",
        "line 2 is not valid JSON",
    ),
    "tasks.jsonl task not a string": (
        _edit_jsonl("meta/tasks.jsonl", lambda r: r[0].__setitem__("task", 7)),
        "meta/tasks.jsonl",
        "task=7",
    ),
    "episodes_stats.jsonl bad line": (
        _write("meta/episodes_stats.jsonl", b"\xff\xfe not text"),
        "meta/episodes_stats.jsonl",
        "UTF-8",
    ),
    "episode tasks not a list": (
        _edit_jsonl("meta/episodes.jsonl", lambda r: r[0].__setitem__("tasks", "grasp")),
        "meta/episodes.jsonl",
        "tasks='grasp'",
    ),
    "episode index a string": (
        _edit_jsonl("meta/episodes.jsonl", lambda r: r[0].__setitem__("episode_index", "0")),
        "meta/episodes.jsonl",
        "episode_index='0'",
    ),
    "episodes.jsonl bad line": (
        _write("meta/episodes.jsonl", b'{"episode_index": 0, "length": 20}\n{oops\n'),
        "meta/episodes.jsonl",
        "line 2 is not valid JSON",
    ),
    "negative length": (
        _edit_jsonl("meta/episodes.jsonl", lambda r: r[0].__setitem__("length", -3)),
        "meta/episodes.jsonl",
        "length=-3",
    ),
    "duplicate episode": (
        _edit_jsonl("meta/episodes.jsonl", lambda r: r[1].__setitem__("episode_index", 0)),
        "meta/episodes.jsonl",
        "appears twice",
    ),
    "missing tasks.jsonl": (_delete("meta/tasks.jsonl"), "meta/tasks.jsonl", "does not exist"),
    "task index nowhere": (
        _edit_jsonl("meta/tasks.jsonl", lambda r: r.pop()),
        "episode_000002.parquet",
        "does not define",
    ),
    "missing episode stats": (
        _edit_jsonl("meta/episodes_stats.jsonl", lambda r: r.pop()),
        "meta/episodes_stats.jsonl",
        "no stats for episode 2",
    ),
    "stats not numeric": (
        _edit_jsonl("meta/episodes_stats.jsonl", lambda r: r[1]["stats"]["action"].__setitem__("min", "low")),
        "meta/episodes_stats.jsonl",
        "stats/action/min is not a numeric array",
    ),
    "stats lack a mean": (
        _edit_jsonl("meta/episodes_stats.jsonl", lambda r: r[0]["stats"]["action"].pop("mean")),
        "meta/episodes_stats.jsonl",
        "lack mean",
    ),
    "stats shape disagrees": (
        _edit_jsonl("meta/episodes_stats.jsonl", lambda r: r[2]["stats"]["action"].__setitem__("max", [1.0])),
        "meta/episodes_stats.jsonl",
        "has shape [1], other episodes [6]",
    ),
    "truncated parquet": (_truncate(EP1_PARQUET), EP1_PARQUET, "not a readable parquet file"),
    "missing parquet": (_delete(EP1_PARQUET), EP1_PARQUET, "is missing"),
    "row count disagrees": (
        _edit_jsonl("meta/episodes.jsonl", lambda r: r[1].__setitem__("length", 30)),
        "meta/info.json",
        "total_frames",
    ),
    "missing mp4 (camera missing for one episode)": (_delete(EP1_TOP), EP1_TOP, "is missing"),
    "undecodable mp4": (_write(EP1_TOP, b"\x00" * 512), EP1_TOP, "cannot be read as a video"),
    "truncated mp4": (_truncate(EP1_TOP, 0.3), EP1_TOP, ""),
    "video frame count disagrees": (_copy_other_episode_video, EP1_TOP, "holds 20 frames"),
    "fps disagrees with video": (
        _edit_json("meta/info.json", _set("fps", 15)),
        "observation.images.top",
        "fps",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_refused_clearly(case: str, copy_dataset, tmp_path: Path) -> None:
    corrupt, names_file, says = CASES[case]
    src = copy_dataset("v21_video")
    corrupt(src)
    before = tree_digest(src)
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--progress=false")
    # the error block: one line for one problem; with several, a count line, then one line per problem
    message = proc.stderr.strip().split("ERROR", 1)[-1] if proc.stderr.strip() else ""
    assert proc.returncode == 1, f"{case}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert names_file in message and says in message, message
    assert "; " in message  # problem; fix
    assert not out.exists() and not list(tmp_path.glob(".out.lerobot-local-*"))
    assert tree_digest(src) == before
    record("bad input", f"malformed dataset: {case}", f"exit 1 naming {names_file}", message, trials=1)


def test_row_count_disagreeing_with_parquet(copy_dataset, tmp_path: Path) -> None:
    """episodes.jsonl length and info total_frames both say 30, the parquet file holds 31 rows."""
    src = copy_dataset("v21_video")
    _edit_jsonl("meta/episodes.jsonl", lambda r: r[1].__setitem__("length", 30))(src)
    _edit_json("meta/info.json", _set("total_frames", 67))(src)
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={tmp_path / 'out'}")
    assert proc.returncode == 1
    assert EP1_PARQUET in proc.stderr and "has 31 rows but meta/episodes.jsonl says" in proc.stderr
    record(
        "bad input",
        "parquet row count disagrees with episodes.jsonl",
        "exit 1 naming the file",
        "as expected",
    )


def test_symlink_leading_out_is_refused(copy_dataset, tmp_path: Path) -> None:
    src = copy_dataset("v21_video")
    outside = tmp_path / "elsewhere.parquet"
    shutil.move(src / EP1_PARQUET, outside)
    (src / EP1_PARQUET).symlink_to(outside)
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={tmp_path / 'out'}")
    assert proc.returncode == 1 and "symbolic link leading outside the dataset" in proc.stderr
    record(
        "paths", "a data file that is a symlink leading outside SRC", "refused, nothing read", "as expected"
    )


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("lerobot-convert-local", f"--input={tmp_path / 'nope'}", f"--output={tmp_path / 'out'}")
    assert proc.returncode == 2 and "no such directory" in proc.stderr


def test_help_lists_registered_converters() -> None:
    proc = run_cli("lerobot-convert-local", "--help")
    assert proc.returncode == 0
    assert "local_v21" in proc.stdout and "local_v20" in proc.stdout and "--report_json" in proc.stdout
    from dataclasses import fields

    from lerobot_local.convert.cli import ConvertCLIConfig

    lines = [line.strip() for line in proc.stdout.splitlines()]
    for f in fields(ConvertCLIConfig):  # every flag, one line each, with what it does
        (line,) = [x for x in lines if x.startswith(f"--{f.name}=")]
        assert len(line.split(maxsplit=1)) == 2, line
