"""The newcomer's whole path on real recordings with their real video files (issue 31, item 6):
``lerobot-local check`` -> ``lerobot-convert-local`` (a v2.x source; with the flags check printed, when it
printed a command) -> ``lerobot-train`` (tiny ACT on the cameras, validation on) stopped by a signal after its
first validation -> the ``--resume=true`` command the stopped run printed -> ``lerobot-local eval
--checkpoint=...``. Every step: its exit code, no traceback, the rows that matter; the source never changes.

Parametrized over the committed subsets (tests/data/README.md: where from, licences) and every recording
under ``$LEROBOT_LOCAL_REAL_DATA`` (full copies, not committed). A recording that check (or the before-train
checks) refuses with no command that makes it trainable is an expected failure that names the rows; a
committed subset never is.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import BIN, run_cli, tree_digest
from test_damage_catalogue import REAL_ENV, Damaged
from train_helpers import tiny_act_config, write_config

pytestmark = [pytest.mark.slow, pytest.mark.real_data]
DATA = Path(__file__).parent / "data"
COMMITTED = [("g1_inspire_v21_video", signal.SIGINT), ("dobot_cr5_v21", signal.SIGTERM)]
TRAIN_EPISODES = 4  # of a long recording: the first episodes it keeps walk the same path
VALIDATION = {"holdout": 0.34, "max_samples": 2, "plot_episodes": 0, "report": False, "time_budget": 0}
CONVERT_LINE = re.compile(r"^to [^:]*: (lerobot-convert-local .*)$", re.M)  # every command check prints
STOPPED = re.compile(r"^lerobot-train: interrupted \((SIG\w+)\): (.*)$", re.M)
GO_ON = re.compile(r"go on from it with: (lerobot-train .*)$")
FIRST_VALIDATION = "lerobot-local: validation at step 1 on 2 held-out frames"
HELD_OUT = re.compile(r"held out for validation: (\[[0-9, ]*\])")


def _sources() -> list:
    params = [pytest.param(DATA / name, sig, id=name) for name, sig in COMMITTED]
    base = os.environ.get(REAL_ENV)
    if base and Path(base).is_dir():
        for root in sorted(Path(base).iterdir()):
            if (root / "meta/info.json").is_file():
                params.append(pytest.param(root, signal.SIGTERM, id=f"real:{root.name}"))
    return params


def _clean(proc: subprocess.CompletedProcess, what: str) -> str:
    """stdout + stderr of a step that must not print a traceback."""
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, f"{what} printed a traceback:\n{text[-4000:]}"
    return text


def _refused(source: Path, text: str, what: str) -> None:
    """A committed subset must go through; a full recording refused with reasons is an expected failure."""
    rows = [line.strip() for line in text.splitlines() if " ERROR " in line][:4]
    assert rows, f"{what} refused {source} without an ERROR row:\n{text[-3000:]}"
    assert not source.is_relative_to(DATA), f"{what} refused a committed subset:\n{text[-4000:]}"
    pytest.xfail(f"{source.name}: {what} refuses it: {' | '.join(rows)[:600]}")


def _convert(source: Path, out: Path, check_text: str) -> subprocess.CompletedProcess:
    """The command check printed (the first: it keeps the cameras), else the plain one, into ``out``."""
    printed = CONVERT_LINE.findall(check_text)
    args = shlex.split(printed[0])[1:] if printed else [f"--input={source}"]
    args = [a for a in args if not a.startswith("--output=")] + [f"--output={out}", "--progress=false"]
    return run_cli("lerobot-convert-local", *args)


def _train_until_first_validation(config: Path, sig: int, log: Path) -> tuple[int, str]:
    """lerobot-train, stopped by ``sig`` once it said its first checkpoint's validation."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "lerobot-train"), f"--config_path={config}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        deadline = time.time() + 400
        while FIRST_VALIDATION not in log.read_text() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:  # refused (the caller reads why) or ended early
            return proc.returncode, log.read_text()
        proc.send_signal(sig)
        code = proc.wait(timeout=120)
    return code, log.read_text()


@pytest.mark.parametrize(("source", "sig"), _sources())
def test_newcomer_path_on_a_real_recording(source: Path, sig: int, tmp_path: Path) -> None:
    before = tree_digest(source)
    version = json.loads((source / "meta/info.json").read_text())["codebase_version"]

    check = run_cli("lerobot-local", "check", str(source))
    text = _clean(check, "lerobot-local check")
    assert check.returncode in (0, 1), text[-3000:]
    if source.is_relative_to(DATA):
        assert "every file present and every video stream as declared" in text, text[-3000:]
    if check.returncode == 1 and not CONVERT_LINE.search(text):
        _refused(source, text, "lerobot-local check")

    dataset = source
    if version != "v3.0" or check.returncode == 1:
        dataset = tmp_path / "v30"
        convert = _convert(source, dataset, text)
        converted = _clean(convert, "lerobot-convert-local")
        if convert.returncode == 1:
            _refused(source, converted, "lerobot-convert-local")
        assert convert.returncode == 0, converted[-3000:]
        assert re.search(r"ok: LeRobot \S+ loads \d+ episodes", converted), converted[-3000:]
    assert tree_digest(source) == before, "the source was modified"

    total = json.loads((dataset / "meta/info.json").read_text())["total_episodes"]
    run = tmp_path / "run"
    overrides = {"steps": 40, "save_freq": 1, "lerobot_local.validation": VALIDATION}
    if total > TRAIN_EPISODES:
        overrides["dataset.episodes"] = list(range(TRAIN_EPISODES))
    config = write_config(tmp_path / "train.json", tiny_act_config(dataset, run, **overrides))
    code, log = _train_until_first_validation(config, sig, tmp_path / "train.log")
    if code == 1 and "before-train checks" in log:
        _refused(source, log, "lerobot-train's before-train checks")
    assert "Traceback" not in log, log[-4000:]
    assert code == 130, f"exit {code} (not stopped by the signal after its first validation)\n{log[-4000:]}"
    held_out = HELD_OUT.findall(log)
    stopped = STOPPED.findall(log)
    assert [name for name, _ in stopped] == [signal.Signals(sig).name], log[-3000:]
    go_on = GO_ON.search(stopped[0][1])
    assert go_on and held_out, log[-3000:]

    resumed = run_cli(*shlex.split(go_on.group(1)), "--steps=2")  # the printed command, fewer steps
    resumed_log = _clean(resumed, "lerobot-train --resume=true")
    assert resumed.returncode == 0, resumed_log[-4000:]
    assert "step:2 " in resumed_log and "step:1 " not in resumed_log, resumed_log[-3000:]
    assert set(HELD_OUT.findall(resumed_log)) == {held_out[0]}, resumed_log[-3000:]  # the same split
    assert "lerobot-local: validation at step 2 on 2 held-out frames" in resumed_log, resumed_log[-3000:]
    assert "lerobot-local: verdict at step 2: " in resumed_log, resumed_log[-3000:]
    checkpoint = run / "checkpoints/000002"
    assert (checkpoint / "lerobot_local_manifest.json").is_file()

    report = tmp_path / "eval.json"
    evaluated = run_cli("lerobot-local", "eval", f"--checkpoint={checkpoint}", f"--report_json={report}")
    eval_text = _clean(evaluated, "lerobot-local eval")
    assert evaluated.returncode == 0, eval_text[-4000:]
    result = json.loads(report.read_text())
    (scored,) = result["checkpoints"]
    assert result["episodes"] == json.loads(held_out[0]), result
    assert scored["verdict"]["status"] and f"verdict {checkpoint.name}: " in eval_text, eval_text[-2000:]
    assert abs(scored["metrics"]["val_loss"] - scored["in_training"]["val_loss"]) < 1e-4, scored
    assert tree_digest(source) == before, "the source was modified"


@pytest.mark.any_line
def test_the_exclusion_check_prints_converts_a_source_with_a_stats_json(tmp_path: Path) -> None:
    """Regression (the SO-101 cloth recording): meta/stats.json describes every episode of the source; the
    converter compared it with the kept episodes only, so ``--exclude_episodes`` of an episode far off the
    others (what check prints for it) was refused with 'values:stats ... std is X but the data gives Y'."""
    root = tmp_path / "src"
    subprocess.run(["cp", "-r", str(DATA / "g1_inspire_v21_video"), str(root)], check=True)
    (root / "meta/stats.json").write_text("{}")
    damaged = Damaged(root)
    joint = damaged.joint()
    damaged.edit(0, damaged.state, lambda a: a.__setitem__((slice(None), joint), a[:, joint] * 57.29578))
    damaged.save()  # stats.json and episodes_stats.jsonl describe the damaged data: they agree with it
    out = tmp_path / "out"
    proc = run_cli(
        "lerobot-convert-local",
        f"--input={root}",
        f"--output={out}",
        "--exclude_episodes=[0]",
        "--verify=none",
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    stats = json.loads((out / "meta/stats.json").read_text())["observation.state"]
    kept = np.concatenate([damaged.array(damaged.file_of(e), damaged.state)[damaged.rows(e)] for e in (1, 2)])
    assert stats["std"][joint] == pytest.approx(kept[:, joint].std(), rel=1e-3)


def test_an_action_not_named_action_is_refused_before_the_policy_is_built(
    v30_dataset: Path, tmp_path: Path
) -> None:
    """Regression (the open_50 recording: 'actions', 'state', 'image'): LeRobot types 'actions' as an action
    but ACT reads 'action' and died building its head (AttributeError: 'NoneType' object has no attribute
    'shape'); the policy_features row says so before anything is built, with the renames as its fix."""
    from lerobot_local.checks.policy_features import inputs_refused
    from train_helpers import tiny_run_facts

    root = tmp_path / "named"
    subprocess.run(["cp", "-r", str(v30_dataset), str(root)], check=True)
    info = json.loads((root / "meta/info.json").read_text())
    renames = {"action": "actions", "observation.state": "state"}
    info["features"] = {renames.get(k, k): f for k, f in info["features"].items()}
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))
    facts, _ = tiny_run_facts(root, tmp_path)
    row = inputs_refused(facts)
    assert row is not None and row.severity == "error", row
    assert "named 'action'" in row.message and "['actions']" in row.message and "'state'" in row.message
    assert "'actions' to 'action', 'state' to 'observation.state'" in row.fix, row.fix
    (tmp_path / "as_written").mkdir()
    assert inputs_refused(tiny_run_facts(v30_dataset, tmp_path / "as_written")[0]) is None


def _one_file_per_episode(v30: Path, source: Path, short: int | None = None) -> None:
    """The layout of the open_50 recorder, made from a real converted subset: each episode's own video file
    (the source's mp4, packets untouched) with ``to_timestamp`` its last frame's time; episode ``short``'s
    file one frame short (its last packet left out)."""
    import importlib.util

    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = importlib.util.spec_from_file_location(
        "cut", Path(__file__).parents[1] / "scripts/cut_real_subset.py"
    )
    cut = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cut)
    info = json.loads((v30 / "meta/info.json").read_text())
    (key,) = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    fps = float(info["fps"])
    path = next((v30 / "meta/episodes").rglob("*.parquet"))
    table = pq.read_table(path)
    lengths = table["length"].to_pylist()
    for e, n in enumerate(lengths):
        src = source / f"videos/chunk-000/{key}/episode_{e:06d}.mp4"
        dst = v30 / f"videos/{key}/chunk-000/file-{e:03d}.mp4"
        dst.unlink(missing_ok=True)
        cut._cut_video(src, dst, 0, n - 1 if e == short else n)
    columns = {
        f"videos/{key}/file_index": pa.array(range(len(lengths)), pa.int64()),
        f"videos/{key}/from_timestamp": pa.array([0.0] * len(lengths), pa.float64()),
        f"videos/{key}/to_timestamp": pa.array([(n - 1) / fps for n in lengths], pa.float64()),
    }
    for name, column in columns.items():
        i = table.schema.get_field_index(name)
        table = table.set_column(i, table.schema.field(i), column.cast(table.schema.field(i).type))
    pq.write_table(table, path)


def test_to_timestamp_at_the_last_frame_of_an_own_file_is_no_false_alarm(tmp_path: Path) -> None:
    """Regression (open_50: each episode in its own mp4, to_timestamp = its last frame's time): check said
    'episode 0 has 427 data rows but its image video part holds 426 frames; LeRobot's loader fails' for 43
    episodes, while LeRobot loads every frame; a file one frame short is still an error."""
    from lerobot_local import compat

    source = DATA / "dobot_cr5_v21"
    v30 = tmp_path / "v30"
    convert = run_cli("lerobot-convert-local", f"--input={source}", f"--output={v30}", "--retime=true")
    assert convert.returncode == 0, convert.stderr[-3000:]
    _one_file_per_episode(v30, source)
    check = run_cli("lerobot-local", "check", str(v30))
    assert check.returncode == 0 and "dataset:rows" not in check.stdout, check.stdout[-3000:]
    dataset = compat.load_lerobot_dataset(v30)
    assert float(dataset[len(dataset) - 1]["timestamp"]) == pytest.approx(3.9)  # the last frame decodes

    _one_file_per_episode(v30, source, short=1)
    check = run_cli("lerobot-local", "check", str(v30))
    assert check.returncode == 1, check.stdout[-3000:]
    assert (
        "episode 1 has 40 data rows but its observation.images.top video part holds 39 frames" in check.stdout
    )


@pytest.mark.any_line
def test_a_video_folder_under_another_name_is_found_and_the_fix_works(tmp_path: Path) -> None:
    """Regression (open_50 keeps its mp4 files under video/ where meta/info.json says videos/): check said
    only 'missing ...; restore the files' (or drop the camera); it now names the folder, and its mv works."""
    v30 = tmp_path / "v30"
    source = DATA / "dobot_cr5_v21"
    convert = run_cli(
        "lerobot-convert-local", f"--input={source}", f"--output={v30}", "--retime=true", "--verify=none"
    )
    assert convert.returncode == 0, convert.stderr[-3000:]
    (v30 / "videos").rename(v30 / "video")
    check = run_cli("lerobot-local", "check", str(v30))
    assert check.returncode == 1, check.stdout[-3000:]
    assert f"1 of them is under {v30 / 'video'}/, a folder named 'video'" in check.stdout, check.stdout
    fix = re.search(r"fix: rename the folder \((mv \S+ \S+)\)", check.stdout)
    assert fix, check.stdout[-3000:]
    subprocess.run(shlex.split(fix.group(1)), check=True)
    again = run_cli("lerobot-local", "check", str(v30))
    assert again.returncode == 0, again.stdout[-3000:]


@pytest.mark.any_line
def test_many_extra_files_are_counted_not_listed(tmp_path: Path) -> None:
    """Regression (the SO-101 cloth recording: .DS_Store files and 171 per-episode JSON side files): the
    converter's summary listed every extra file copied on one line (~200 names); five and a count now."""
    root = tmp_path / "src"
    subprocess.run(["cp", "-r", str(DATA / "g1_inspire_v21_video"), str(root)], check=True)
    (root / "data/metadata").mkdir()
    for e in range(12):
        (root / f"data/metadata/episode_{e:06d}.json").write_text("{}")
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={root}", f"--output={out}", "--verify=none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [x for x in proc.stdout.splitlines() if "extra files copied" in x]
    assert line.count(" -> ") == 5 and "copied (13): " in line, line
    assert line.endswith("(and 8 more, all in --report_json)"), line
    assert len(list((out / "extra/data/metadata").iterdir())) == 12  # every one copied all the same
