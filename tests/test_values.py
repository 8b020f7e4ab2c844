"""The value and timing checks: what real recordings show normally (sub-rate sensors, noise, joints
resting at a limit, a property of every episode) gives no finding, the causes of bad timestamps are told
apart, and ``lerobot-local check`` lists every problem at once. The catalogue of single damages is
tests/test_damage_catalogue.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from conftest import FIXTURES, SAMPLE, run_cli, tree_digest
from lerobot_local.values import ValueCheckSettings, ValueData, check_timing, to_results
from lerobot_local.values.data import joint_names, names_problem
from lerobot_local.values.scan import ScanContext, scan

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


def _damage(root: Path, ep: int, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    table, arrays = _read_episode(root, ep)
    change(arrays)
    _write_episode(root, ep, table, arrays)


def _check(root: Path, *flags: str):
    from lerobot_local.dataset_check import parse_args, run_check

    return run_check(parse_args([str(root), "--profile=local_grasp", *flags]))


def _data(
    features: dict[str, np.ndarray],
    lengths: list[int],
    fps: float = 30.0,
    names: dict[str, list[str]] | None = None,
    timestamp: np.ndarray | None = None,
    frame: np.ndarray | None = None,
) -> ValueData:
    """A ValueData of the given arrays (rows of consecutive episodes of the given lengths)."""
    episode = np.repeat(np.arange(len(lengths)), lengths)
    frames = np.concatenate([np.arange(n) for n in lengths]) if frame is None else frame
    n = int(sum(lengths))
    return ValueData(
        root=Path("/data/set"),
        fps=fps,
        features=features,
        names=names or {k: [f"j{i}" for i in range(v.shape[1])] for k, v in features.items()},
        episode=episode,
        frame=frames,
        file_of_row=np.zeros(n, dtype=np.int32),
        files=["data/chunk-000/file-000.parquet"],
        timestamp=frames / fps if timestamp is None else timestamp,
    )


def _scan(data: ValueData, **settings) -> list:
    return scan(data, ScanContext(ValueCheckSettings(**settings)))


def _walk(rng: np.random.Generator, lengths: list[int], width: int, scale: float = 1.0) -> np.ndarray:
    """Smooth random motion per episode (what a teleoperated arm looks like)."""
    parts = []
    for n in lengths:
        t = np.linspace(0, 1, n)[:, None]
        phase = rng.uniform(0, 2 * np.pi, width)
        parts.append(scale * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5, width) + phase))
    return np.concatenate(parts)


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
    _damage(src, 2, lambda a: a["action"].__setitem__((17, 3), np.nan))

    def idle_then_wrap(a: dict[str, np.ndarray]) -> None:
        for key in a:
            a[key][:35] = a[key][0]  # 1.17 s idle head
        a["observation.state"][40:, 4] += 360.0  # an encoder wrap after it

    _damage(src, 1, idle_then_wrap)
    (src / TOP.format(3)).unlink()
    (src / "videos/chunk-000/observation.images.wrist/episode_000003.mp4").unlink()
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
    # the converter refuses the same folder listing both missing files, then converts the rest with the flag
    out = tmp_path / "out"
    proc = run_cli("lerobot-convert-local", f"--input={src}", f"--output={out}", "--progress=false")
    assert proc.returncode == 1 and not out.exists()
    error = proc.stderr[proc.stderr.index("conversion failed") :]
    assert "values:nan" in error and "episode_000003.mp4" in error, error
    assert "--exclude_episodes=[2,3]" in error
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


def test_joint_names_flat_nested_per_axis_and_dict() -> None:
    assert joint_names({"names": ["a", "b"]}, 2) == ["a", "b"]
    assert joint_names({"names": [["kLeftShoulderPitch", "kRightHandIndex"]]}, 2) == [
        "kLeftShoulderPitch",
        "kRightHandIndex",
    ]
    assert joint_names({"names": {"motors": ["m0", "m1", "m2"]}}, 3) == ["m0", "m1", "m2"]
    per_axis = joint_names({"names": [["l", "r"], ["x", "y", "z"]]}, 6)
    assert per_axis == ["l.x", "l.y", "l.z", "r.x", "r.y", "r.z"]
    assert joint_names({"names": ["a"]}, 2) == ["0", "1"]
    assert "gives 1 name(s) for 2 values" in names_problem("action", {"names": ["a"]}, 2)
    assert names_problem("action", {"names": None}, 2) is None


def test_sub_rate_sensor_is_said_once_and_makes_no_jump() -> None:
    """A hand streamed at 10 Hz inside 30 fps (held 3 frames, then a step): one ok row, no jump."""
    rng = np.random.default_rng(0)
    lengths = [300] * 6
    arm = _walk(rng, lengths, 4, 0.5)
    hand = _walk(rng, lengths, 3, 0.5) + 0.5
    action = np.concatenate([arm, hand], axis=1)
    state = np.concatenate([arm, hand[(np.arange(hand.shape[0]) // 3) * 3]], axis=1)  # held 3 frames
    joints = [*(f"arm{i}" for i in range(4)), "kHandA", "kHandB", "kHandC"]
    names = {"observation.state": joints, "action": joints}
    data = _data({"observation.state": state, "action": action}, lengths, names=names)
    findings = _scan(data)
    assert [f.check for f in findings if f.severity != "ok"] == [], findings
    rate = [f for f in findings if f.check == "values:rate"]
    assert len(rate) == 1, rate
    assert "observation.state[kHandA..kHandC] (3 of 7 joints) updates at ~10 Hz" in rate[0].message


def test_noise_and_resting_at_a_limit_are_not_findings() -> None:
    """A still arm with 2e-4 rad noise, a hand resting at 1.0 with its action at 1.0, rest pose at a
    limit at each episode's start: no finding."""
    rng = np.random.default_rng(1)
    lengths = [240] * 5
    moving = _walk(rng, lengths, 3, 1.0)
    still = 0.3 + rng.normal(0, 2e-4, (sum(lengths), 1))
    hand = np.clip(_walk(rng, lengths, 1, 1.0) + 0.8, 0, 1)
    state = np.concatenate([moving, still, hand], axis=1)
    state[np.repeat(np.arange(5) * 240, 1)] = state[0]  # rest pose at the start
    data = _data({"observation.state": state, "action": state.copy()}, lengths)
    assert [f for f in _scan(data) if f.severity != "ok"] == []


def test_a_finding_in_most_episodes_is_said_once_and_flags_none() -> None:
    rng = np.random.default_rng(2)
    lengths = [200] * 4
    state = _walk(rng, lengths, 3)
    for e in range(4):  # every episode ends with 2 s of identical frames
        state[e * 200 + 140 : (e + 1) * 200] = state[e * 200 + 139]
    data = _data({"observation.state": state, "action": state.copy()}, lengths)
    findings = [f for f in _scan(data) if f.severity != "ok"]
    assert len(findings) == 1 and findings[0].check == "values:idle" and findings[0].episode is None
    assert "in 4 of 4 episodes" in findings[0].message
    rows = to_results(data, findings, ValueCheckSettings(), lambda eps: f"--exclude_episodes={eps}")
    idle = next(r for r in rows if r.name == "values:idle")
    assert idle.episodes == () and "--exclude_episodes" not in idle.fix


def test_stats_printed_with_the_digits_that_differ() -> None:
    rng = np.random.default_rng(3)
    state = 152.3 + _walk(rng, [100, 100], 2, 10.0)
    data = _data({"observation.state": state}, [100, 100])
    mean = state.mean(0)
    given = {
        "observation.state": {
            "mean": (mean + np.array([5.0, 0.0])).tolist(),
            "std": state.std(0).tolist(),
            "min": state.min(0).tolist(),
            "max": state.max(0).tolist(),
        }
    }
    findings = scan(data, ScanContext(ValueCheckSettings(), stats_json=given))
    stats = [f for f in findings if f.check == "values:stats"]
    assert len(stats) == 1 and stats[0].joint == "j0", stats
    shown = stats[0].message.split(" mean is ")[1]
    given_text, real_text = shown.rstrip(".").split(" but the data gives ")
    assert given_text != real_text


def _timing(ts: np.ndarray, lengths: list[int], frame: np.ndarray | None = None, fps: float = 30.0):
    state = np.zeros((len(ts), 1))
    return check_timing(_data({"observation.state": state}, lengths, fps=fps, timestamp=ts, frame=frame))


def test_timing_tells_the_causes_apart() -> None:
    lengths = [90] * 4
    frames = np.concatenate([np.arange(n) for n in lengths])
    exact = (frames / 30).astype(np.float32).astype(np.float64)  # float32 on 1/fps: normal
    assert _timing(exact, lengths) == []
    wrong = [f.check for f in _timing(frames / 15, lengths)]
    assert wrong == ["fps"]
    gap = exact.copy()
    gap[90 + 40 : 180] += 1.0
    [found] = _timing(gap, lengths)
    assert (found.check, found.episode, found.first_frame, found.last_frame) == ("fps:gap", 1, 39, 40)
    back = exact.copy()
    back[180 + 50] = back[180 + 48]
    assert {(f.check, f.episode) for f in _timing(back, lengths)} == {("fps:gap", 2)}
    clock = exact + 0.04 + np.random.default_rng(0).normal(0, 0.003, exact.size)
    [found] = _timing(clock, lengths)
    assert found.check == "fps:timestamps" and found.episode is None and "instead of 0" in found.message
    dropped = np.r_[np.arange(90), np.arange(0, 40), np.arange(50, 90), np.arange(90), np.arange(90)]
    found = _timing(dropped / 30, [90, 80, 90, 90], frame=dropped)
    assert [(f.check, f.episode) for f in found] == [("fps:frames", 1)] and "10 row(s) are missing" in found[
        0
    ].message
    duplicated = np.r_[np.arange(90), np.arange(0, 41), np.arange(40, 90), np.arange(90), np.arange(90)]
    found = _timing(duplicated / 30, [90, 91, 90, 90], frame=duplicated)
    assert [(f.check, f.episode) for f in found] == [("fps:frames", 1)] and "repeat a frame_index" in found[
        0
    ].message
