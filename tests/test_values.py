"""The value checks and ``lerobot-local check`` on a catalogue of damaged copies of the bundled sample.

Each case damages one thing (the per-episode stats are rewritten to match the damaged data, so the only
defect is the intended one) and must be found with the right check, episode, frames and joint; the clean
datasets (sample, fixtures, generated ones) give no error and no warning; the source is never modified.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import FIXTURES, SAMPLE, run_cli, tree_digest
from reliability_log import record

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
EP_FILE = "data/chunk-000/episode_{:06d}.parquet"
TOP = "videos/chunk-000/observation.images.top/episode_{:06d}.mp4"


def _read_episode(root: Path, ep: int) -> tuple[pa.Table, dict[str, np.ndarray]]:
    table = pq.read_table(root / EP_FILE.format(ep))
    arrays = {
        k: np.stack(table[k].to_numpy(zero_copy_only=False)).astype(np.float32)
        for k in ("observation.state", "action")
    }
    return table, arrays


def _write_episode(root: Path, ep: int, table: pa.Table, arrays: dict[str, np.ndarray]) -> None:
    """Write the damaged arrays back and make episodes_stats.jsonl describe them (one defect only)."""
    for key, values in arrays.items():
        column = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), 6)
        column = column.cast(table.schema.field(key).type)
        table = table.set_column(table.schema.get_field_index(key), table.schema.field(key), column)
    pq.write_table(table, root / EP_FILE.format(ep))
    path = root / "meta/episodes_stats.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines() if x]
    for line in lines:
        if line["episode_index"] == ep:
            for key, values in arrays.items():
                v = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
                line["stats"][key] = {
                    "min": v.min(0).tolist(),
                    "max": v.max(0).tolist(),
                    "mean": v.mean(0).tolist(),
                    "std": v.std(0).tolist(),
                    "count": [len(v)],
                }
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _damage(ep: int, change: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        table, arrays = _read_episode(root, ep)
        change(arrays)
        _write_episode(root, ep, table, arrays)

    return apply


def _every_episode(change: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for ep in range(4):
            _damage(ep, change)(root)

    return apply


def _set(key: str, rows: slice | int, joint: int | None, value) -> Callable[[dict[str, np.ndarray]], None]:
    def change(a: dict[str, np.ndarray]) -> None:
        target = a[key]
        if joint is None:
            target[rows] = value(target) if callable(value) else value
        else:
            target[rows, joint] = value(target[rows, joint]) if callable(value) else value

    return change


def _idle_head(a: dict[str, np.ndarray]) -> None:
    for key in a:
        a[key][:15] = a[key][0]


def _idle_tail(a: dict[str, np.ndarray]) -> None:
    for key in a:
        a[key][25:] = a[key][24]


def _gripper_never_moves(a: dict[str, np.ndarray]) -> None:
    for key in a:
        a[key][:, 5] = a[key][0, 5]


def _saturate(root: Path) -> None:
    """shoulder_pan of episode 2 runs into the dataset's maximum and stays there from frame 5 on."""
    top = max(float(_read_episode(root, e)[1]["observation.state"][:, 0].max()) for e in range(4))
    table, a = _read_episode(root, 2)
    x = a["observation.state"][:, 0]
    x[:5] = np.linspace(x[0], top, 6)[:5]
    x[5:] = top
    _write_episode(root, 2, table, a)


def _edit_stats_mean(root: Path) -> None:
    path = root / "meta/episodes_stats.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines() if x]
    lines[1]["stats"]["action"]["mean"][0] += 10.0
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _truncate(rel: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(data[: len(data) // 2])

    return apply


def _unlink(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


def _timestamp_gap(root: Path) -> None:
    table = pq.read_table(root / EP_FILE.format(3))
    stamps = table["timestamp"].to_numpy().copy()
    stamps[20:] += 0.1  # three frames dropped
    column = pa.array(stamps, table.schema.field("timestamp").type)
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", column)
    pq.write_table(table, root / EP_FILE.format(3))


def _wrap(x: np.ndarray) -> np.ndarray:
    return x + 360.0


# name: (damage, check, severity, episode, (first frame, last frame) or None, joint or None)
CATALOGUE = {
    "NaN in one action row": (
        _damage(2, _set("action", 17, 3, np.nan)),
        "values:nan",
        "error",
        2,
        (17, 17),
        "wrist_flex",
    ),
    "Inf in one state row": (
        _damage(1, _set("observation.state", 30, 2, np.inf)),
        "values:nan",
        "error",
        1,
        (30, 30),
        "elbow_flex",
    ),
    "15 idle frames at an episode's start": (
        _damage(1, _idle_head),
        "values:idle",
        "warning",
        1,
        (0, 14),
        None,
    ),
    "21 idle frames at an episode's end": (
        _damage(3, _idle_tail),
        "values:idle",
        "warning",
        3,
        (24, 44),
        None,
    ),
    "a gripper that never moves": (
        _damage(0, _gripper_never_moves),
        "values:gripper",
        "warning",
        0,
        (0, 44),
        "gripper",
    ),
    "a frozen joint": (
        _damage(2, _set("observation.state", slice(None), 2, lambda x: x[0])),
        "values:frozen_joint",
        "warning",
        2,
        (0, 44),
        "elbow_flex",
    ),
    "a frozen state through a whole episode": (
        _damage(3, _set("observation.state", slice(None), None, lambda x: x[0])),
        "values:frozen_state",
        "warning",
        3,
        (0, 44),
        None,
    ),
    "an encoder-wrap jump": (
        _damage(1, _set("observation.state", slice(20, None), 4, _wrap)),
        "values:jump",
        "warning",
        1,
        (19, 20),
        "wrist_roll",
    ),
    "a dropped serial packet (one action reads 0)": (
        _damage(0, _set("action", 10, 1, 0.0)),
        "values:jump",
        "warning",
        0,
        (9, 11),
        "shoulder_lift",
    ),
    "a saturated joint": (_saturate, "values:saturation", "warning", 2, (5, 44), "shoulder_pan"),
    "a joint constant over the whole dataset": (
        _every_episode(_set("observation.state", slice(None), 4, 0.0)),
        "values:constant_joint",
        "error",
        None,
        None,
        "wrist_roll",
    ),
    "episodes_stats.jsonl disagreeing with the data": (
        _edit_stats_mean,
        "values:stats",
        "error",
        1,
        None,
        "shoulder_pan",
    ),
    "a missing video file": (_unlink(TOP.format(2)), "dataset:missing_files", "error", 2, None, None),
    "a missing episode parquet file": (
        _unlink(EP_FILE.format(3)),
        "dataset:missing_files",
        "error",
        3,
        None,
        None,
    ),
    "a truncated parquet file": (
        _truncate(EP_FILE.format(1)),
        "dataset:unreadable_files",
        "error",
        1,
        None,
        None,
    ),
    "a truncated video file": (_truncate(TOP.format(0)), "dataset:video_streams", "error", 0, None, None),
    "a timestamp gap": (_timestamp_gap, "fps", "error", None, None, None),
}


def _check(root: Path, *flags: str):
    from lerobot_local.dataset_check import parse_args, run_check

    return run_check(parse_args([str(root), "--profile=local_grasp", *flags]))


@pytest.mark.parametrize("case", list(CATALOGUE), ids=list(CATALOGUE))
def test_catalogue_defect_is_found(case: str, copy_dataset) -> None:
    damage, check, severity, episode, frames, joint = CATALOGUE[case]
    src = copy_dataset("sample")
    damage(src)
    before = tree_digest(src)
    report = _check(src)
    assert tree_digest(src) == before, "the check modified the dataset"
    rows = {r.name: r for r in report.results}
    table = "\n".join(f"{r.name} {r.severity} {r.message}" for r in report.results)
    assert check in rows and rows[check].severity == severity, table
    assert rows[check].fix, table
    others = [r for r in report.results if r.name != check and r.severity in ("error", "warning")]
    assert not others, f"{case}: more than the one defect was reported\n{table}"
    if check.startswith("values:"):
        found = [f for f in report.findings if f["check"] == check]
        assert len(found) == 1, found
        f = found[0]
        assert f["episode"] == episode and f["joint"] == joint, f
        if frames is not None:
            assert (f["first_frame"], f["last_frame"]) == frames, f
        if joint is not None:
            assert joint in f["message"], f
        if episode is not None:
            assert f"episode {episode}" in f["message"] and f["file"] in f["message"], f
    if episode is not None:
        assert report.flagged_episodes == [episode], report.flagged_episodes
        assert f"--exclude_episodes=[{episode}]" in report.flag
    record("value checks", f"damaged sample: {case}", f"{check} ({severity})", rows[check].message[:160])


def test_clean_datasets_give_no_error_and_no_warning(tmp_path: Path) -> None:
    """The sample, both fixtures and generated benchmark-style datasets (random-walk joints, h264)."""
    from lerobot_local.demo.synthetic_v21 import write_v21_dataset

    generated = write_v21_dataset(tmp_path / "gen", 40, length=(40, 80), height=24, width=32, seed=40)
    for root in (SAMPLE, FIXTURES / "v21_video", FIXTURES / "v21_images", generated):
        report = _check(root, "--deep_video_check=false")
        loud = [r for r in report.results if r.severity in ("error", "warning")]
        assert not loud, f"{root}: {loud}"
        assert report.flagged_episodes == [] and report.flag is None


def test_every_problem_of_a_damaged_dataset_at_once(copy_dataset, tmp_path: Path) -> None:
    """Five defects in three episodes: all listed in one run, the flag leaves exactly those out."""
    src = copy_dataset("sample")
    _damage(2, _set("action", 17, 3, np.nan))(src)
    _damage(1, _idle_head)(src)
    _unlink(TOP.format(3))(src)
    _unlink("videos/chunk-000/observation.images.wrist/episode_000003.mp4")(src)
    _damage(1, _set("observation.state", slice(20, None), 4, _wrap))(src)
    before = tree_digest(src)
    report_path = tmp_path / "check.json"
    proc = run_cli("lerobot-local", "check", str(src), f"--report_json={report_path}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert tree_digest(src) == before
    report = json.loads(report_path.read_text())
    assert report["flagged_episodes"] == [1, 2, 3]
    assert report["keep_episodes"] == [0]
    assert "--exclude_episodes=[1,2,3]" in report["flag"] and report["flag"] in proc.stdout
    names = {r["name"]: r["severity"] for r in report["results"]}
    assert names["values:nan"] == "error" and names["values:idle"] == "warning"
    assert names["values:jump"] == "warning" and names["dataset:missing_files"] == "error"
    assert report["structure_problems"]["problems"] == 2
    # the converter refuses the same folder listing both missing files, then converts the rest with the flag
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--progress=false")
    assert proc.returncode == 1 and not out.exists()
    error = proc.stderr[proc.stderr.index("conversion failed") :]
    assert error.splitlines()[0].endswith("2 problems in 1 episode(s) of " + str(src) + ":"), error
    assert "--exclude_episodes=[3]" in error
    proc = run_cli(
        "lerobot-convert-local",
        f"--input={src}",
        f"--output={out}",
        "--progress=false",
        "--verify=none",
        "--exclude_episodes=[1,2,3]",
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(src) == before
    clean = _check(out)
    assert all(r.severity == "ok" for r in clean.results), clean.results


def test_v30_stats_json_disagreeing_is_an_error(tmp_path: Path) -> None:
    src_out = tmp_path / "v30"
    proc = run_cli("lerobot-convert-local", f"--input={SAMPLE}", f"--output={src_out}", "--verify=none")
    assert proc.returncode == 0, proc.stderr
    assert all(r.severity == "ok" for r in _check(src_out).results)
    stats = json.loads((src_out / "meta/stats.json").read_text())
    stats["observation.state"]["std"][1] *= 2
    (src_out / "meta/stats.json").write_text(json.dumps(stats))
    report = _check(src_out)
    row = next(r for r in report.results if r.name == "values:stats")
    assert row.severity == "error" and "observation.state[shoulder_lift] std" in row.message
    assert "meta/stats.json" in row.message


def test_frames_dir_writes_the_frames_lerobot_decodes(tmp_path: Path) -> None:
    """PNG frames per camera, equal to what the installed LeRobot decodes at that index (v3.0)."""
    from PIL import Image

    from lerobot_local import compat

    out = tmp_path / "v30"
    assert (
        run_cli("lerobot-convert-local", f"--input={SAMPLE}", f"--output={out}", "--verify=none").returncode
        == 0
    )
    frames = tmp_path / "frames"
    report = _check(out, f"--frames_dir={frames}", "--frames_per_camera=2")
    assert len(report.frames_written) == 4, report.frames_written
    dataset = compat.load_lerobot_dataset(out, video_backend="pyav")
    for path in map(Path, report.frames_written):
        key = path.parent.name
        episode, frame = int(path.stem.split("_")[1]), int(path.stem.split("_")[3])
        index = int(dataset.meta.episodes[episode]["dataset_from_index"]) + frame
        expected = np.clip(np.round(dataset[index][key].numpy() * 255), 0, 255).astype(np.uint8)
        assert np.array_equal(np.asarray(Image.open(path)), expected.transpose(1, 2, 0)), path


def test_check_cli_exit_codes(tmp_path: Path) -> None:
    ok = run_cli("lerobot-local", "check", str(SAMPLE))
    assert ok.returncode == 0 and "values" in ok.stdout, ok.stdout + ok.stderr
    missing = run_cli("lerobot-local", "check", str(tmp_path / "nope"))
    assert missing.returncode == 2
    bad = run_cli("lerobot-local", "check", str(SAMPLE), "--values.max_idle_s=soon")
    assert bad.returncode == 2


VALUE_CASES = [c for c, spec in CATALOGUE.items() if spec[1].startswith("values:")]


@pytest.mark.parametrize("case", VALUE_CASES, ids=VALUE_CASES)
def test_catalogue_value_defect_is_found_after_conversion(case: str, copy_dataset, tmp_path: Path) -> None:
    """The same defect in the converted v3.0 dataset (aggregated files, renumbered rows): same check,
    episode, frames and joint, now naming data/chunk-000/file-000.parquet."""
    from lerobot_local.convert.run import ConvertJob, run_conversion
    from lerobot_local.convert.writer import WriteOptions

    damage, check, severity, episode, frames, joint = CATALOGUE[case]
    src = copy_dataset("sample")
    damage(src)
    out = tmp_path / "v30"
    run_conversion(ConvertJob(input=src, output=out, verify="none", write=WriteOptions(progress=False)), "t")
    report = _check(out, "--deep_video_check=false")
    loud = {r.name: r.severity for r in report.results if r.severity in ("error", "warning")}
    assert loud == {check: severity}, report.results
    found = [f for f in report.findings if f["check"] == check]
    if check == "values:stats":  # the wrong per-episode mean went into stats.json's mean (and pooled std)
        episode = None
        assert "meta/stats.json: action[shoulder_pan] mean" in found[0]["message"], found
        assert {f["joint"] for f in found} == {"shoulder_pan"}, found
        found = found[:1]
    assert len(found) == 1 and found[0]["episode"] == episode and found[0]["joint"] == joint, found
    if frames is not None:
        assert (found[0]["first_frame"], found[0]["last_frame"]) == frames, found
    if episode is not None:
        assert found[0]["file"] == "data/chunk-000/file-000.parquet"
        assert f"--dataset.episodes=[{','.join(str(e) for e in range(4) if e != episode)}]" in report.flag
