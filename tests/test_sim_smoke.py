"""The simulated pipeline of ``make bench-sim``: the expert recorder's v2.1 output (layout, names, seeds, only
successes), and a smoke run of record -> convert -> the native lerobot-train with configs/sim_act.json ->
closed-loop rollouts through ``lerobot-local eval``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import REPO, run_cli, simulator_unsupported
from lerobot_local.sim import so101
from lerobot_local.sim.record import play_episode, read_sim_env, record

SIM_CONFIG = REPO / "configs" / "sim_act.json"
STATE, ENV_STATE = "observation.state", "observation.environment_state"


def _episode_table(root: Path, episode: int) -> dict[str, np.ndarray]:
    table = pq.read_table(root / f"data/chunk-000/episode_{episode:06d}.parquet")
    return {name: np.asarray(table[name].to_pylist()) for name in table.column_names}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two expert episodes (seeds 3 and 4), state only."""
    root = tmp_path_factory.mktemp("rec") / "so101_v21"
    result = record(root, episodes=2, seed=3, progress=False)
    assert result.kept_seeds == [3, 4] and result.dropped_seeds == []
    return root


def test_recording_is_a_v21_dataset_keyed_as_lerobot_maps_the_env(recording: Path) -> None:
    info = json.loads((recording / "meta" / "info.json").read_text())
    assert (info["codebase_version"], info["fps"], info["total_episodes"]) == ("v2.1", 10, 2)
    features = info["features"]
    assert list(features) == [
        "observation.state",
        "observation.environment_state",
        "action",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    package_names = so101.import_package().policy.OBS_FIELD_NAMES[:14]
    assert features["observation.state"]["names"] == list(package_names)
    assert features["observation.state"]["names"][-3:] == ["ee_x", "ee_y", "ee_z"]
    assert features["observation.environment_state"]["names"] == [
        "block_x",
        "block_y",
        "block_z",
        "goal_x",
        "goal_y",
        "goal_z",
    ]
    assert features["action"] == {"dtype": "float32", "shape": [4], "names": ["dx", "dy", "dz", "grasp"]}
    episodes = _jsonl(recording / "meta" / "episodes.jsonl")
    tasks = _jsonl(recording / "meta" / "tasks.jsonl")
    stats = _jsonl(recording / "meta" / "episodes_stats.jsonl")
    assert tasks == [{"task_index": 0, "task": so101.TASKS["SO101PickPlace-v0"]}]
    assert [e["episode_index"] for e in episodes] == [0, 1] == [s["episode_index"] for s in stats]
    assert sum(e["length"] for e in episodes) == info["total_frames"]
    index = 0
    for episode in episodes:
        columns = _episode_table(recording, episode["episode_index"])
        n = episode["length"]
        assert columns["observation.state"].shape == (n, 14)
        assert columns["observation.environment_state"].shape == (n, 6)
        assert columns["action"].shape == (n, 4)
        assert np.allclose(columns["timestamp"], np.arange(n) / 10)
        assert list(columns["index"]) == list(range(index, index + n))
        assert set(columns["episode_index"]) == {episode["episode_index"]}
        assert set(columns["task_index"]) == {0}
        line = stats[episode["episode_index"]]["stats"]
        assert np.allclose(line["action"]["mean"], columns["action"].mean(0))
        index += n
    sidecar = read_sim_env(recording)
    assert sidecar["episode_seeds"] == [3, 4] and sidecar["dropped_seeds"] == []
    assert sidecar["env"]["action_scale"] == 0.025 and sidecar["env"]["random_block_position"] is True
    assert sidecar["eval_flags"][:2] == ["--env.type=so101", "--env.task=SO101PickPlace-v0"]


def test_recorded_actions_replayed_from_the_seed_reproduce_the_episode_and_succeed_at_its_end(
    recording: Path,
) -> None:
    """Frame t holds the observation before step t and the action taken on it; the seed gives the same
    block and goal; the env reports success exactly at the last recorded action."""
    settings = so101.EnvSettings()
    env = so101.make_env(settings)
    try:
        for episode, seed in enumerate(read_sim_env(recording)["episode_seeds"]):
            columns = _episode_table(recording, episode)
            observation, _ = env.reset(seed=seed)
            successes = []
            for t, action in enumerate(columns["action"].astype(np.float32)):
                assert np.array_equal(
                    observation["agent_pos"], columns["observation.state"][t].astype(np.float32)
                )
                assert np.array_equal(
                    observation["environment_state"],
                    columns["observation.environment_state"][t].astype(np.float32),
                )
                observation, _, _, _, info = env.step(action)
                successes.append(info["succeed"])
            assert successes[-1] is True and not any(successes[:-1]), (episode, successes)
    finally:
        env.close()


def test_the_same_seed_records_the_same_data(recording: Path, tmp_path: Path) -> None:
    again = record(tmp_path / "again", episodes=1, seed=3, progress=False)
    assert again.kept_seeds == [3]
    first, second = _episode_table(recording, 0), _episode_table(tmp_path / "again", 0)
    for key in ("observation.state", "observation.environment_state", "action"):
        assert np.array_equal(first[key], second[key]), key


def test_only_successful_expert_episodes_are_kept_renumbered_and_the_dropped_seeds_named(
    tmp_path: Path,
) -> None:
    settings = so101.EnvSettings()
    env, controller = so101.make_env(settings), so101.expert(settings)
    lengths = {seed: len(play_episode(env, controller, seed, camera=False)[0]["action"]) for seed in range(5)}
    env.close()
    limit = sorted(lengths.values())[2]  # the expert needs 45-49 steps: cut the slower episodes short
    expected_kept = [s for s, n in lengths.items() if n <= limit]
    assert 0 < len(expected_kept) < 5, lengths
    result = record(
        tmp_path / "cut", 5, seed=0, settings=so101.EnvSettings(episode_length=limit), progress=False
    )
    assert result.kept_seeds == expected_kept
    assert result.dropped_seeds == [s for s in range(5) if s not in expected_kept]
    sidecar = read_sim_env(tmp_path / "cut")
    assert sidecar["dropped_seeds"] == result.dropped_seeds and sidecar["episodes_played"] == 5
    episodes = _jsonl(tmp_path / "cut" / "meta" / "episodes.jsonl")
    assert [e["episode_index"] for e in episodes] == list(range(len(expected_kept)))
    assert [e["length"] for e in episodes] == [lengths[s] for s in expected_kept]


def test_record_cli_refuses_bad_flags_an_existing_output_and_a_run_with_no_success(tmp_path: Path) -> None:
    proc = run_cli("-m", "lerobot_local.sim.record", f"--output={tmp_path / 'a'}", "--task=SO101PickCube-v0")
    assert proc.returncode == 2 and "--task=SO101PickCube-v0: the expert completes only" in proc.stderr
    proc = run_cli("-m", "lerobot_local.sim.record", "--episodes=0")
    assert proc.returncode == 2
    assert "--output=DIR is required" in proc.stderr and "--episodes=0 must be at least 1" in proc.stderr
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("user data")
    proc = run_cli("-m", "lerobot_local.sim.record", f"--output={existing}", "--episodes=1")
    assert proc.returncode == 1 and "exists; pass a new --output folder" in proc.stderr
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    short = tmp_path / "short"
    proc = run_cli(
        "-m", "lerobot_local.sim.record", f"--output={short}", "--episodes=2", "--episode_length=5"
    )
    assert proc.returncode == 1 and "none of the 2 expert episodes (seeds 0..1) succeeded" in proc.stderr
    assert not short.exists() and not list(tmp_path.glob(".short*"))


def test_sim_config_normalises_the_environment_state(tmp_path: Path) -> None:
    """The trap of issue 26: ACT's default normalization_mapping has no ENV entry, so the block and goal
    positions would enter the model raw. The shipped config must normalise every feature type it reads."""
    from lerobot_local import compat
    from lerobot_local.config_file import prepare_argv

    prepared = prepare_argv([f"--config_path={SIM_CONFIG}", f"--dataset.root={tmp_path}"])
    cfg = compat.parse_train_config(prepared.argv)
    policy = cfg.policy
    mapping = {
        str(getattr(k, "value", k)): str(getattr(v, "value", v))
        for k, v in policy.normalization_mapping.items()
    }
    assert mapping == {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ENV": "MEAN_STD", "ACTION": "MEAN_STD"}
    assert (policy.type, policy.dim_model, policy.n_encoder_layers, policy.use_vae) == ("act", 256, 2, False)
    assert (policy.chunk_size, policy.n_action_steps, cfg.batch_size) == (20, 10, 64)
    assert policy.pretrained_backbone_weights is None and policy.push_to_hub is False
    assert prepared.settings.validation.enabled


def test_smoke_record_convert_train_and_roll_out(sim_run: SimpleNamespace, tmp_path: Path) -> None:
    """The bench in miniature: 2 expert episodes (v2.1), converted, 2 steps of configs/sim_act.json through
    the real lerobot-train with validation on (the shared ``sim_run`` fixture), then 2 closed-loop rollouts
    per actor."""
    assert '"episodes_kept": 2' in sim_run.record.stdout and "--env.type=so101" in sim_run.record.stdout
    log = sim_run.train.stdout + sim_run.train.stderr
    assert "1 held out for validation" in log and "validation at step 2" in log
    policy = sim_run.run / "checkpoints" / "last" / "pretrained_model"
    assert (policy / "model.safetensors").is_file()

    reason = simulator_unsupported()
    if reason:
        pytest.skip(f"closed-loop stage not run: {reason}")
    report = tmp_path / "eval.json"
    proc = run_cli(
        "lerobot-local",
        "eval",
        f"--policy.path={policy}",
        *read_sim_env(sim_run.v21)["eval_flags"],
        "--n_episodes=2",
        "--seed=1000",
        "--baselines=random,untrained",
        "--videos=0",
        f"--report_json={report}",
        "--device=cpu",
        "--progress=false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loop = json.loads(report.read_text())["closed_loop"]
    assert loop["policy"]["episodes"] == 2 and set(loop["baselines"]) == {"random", "untrained"}
    for actor in [loop["policy"], *loop["baselines"].values()]:
        assert 0 <= actor["successes"] <= 2 and actor["ci_low"] <= actor["rate"] <= actor["ci_high"]
    assert loop["verdict"]["text"]
