"""Closed-loop evaluation: success is what the env says (never assumed), with intervals and baselines.

The accounting runs on small gymnasium envs written here (one reports no signal, one ``succeed``, one
LeRobot's ``is_success``); the command line and LeRobot's own ``lerobot-eval`` run on the real SO-101
simulator (lerobot-env-so101, which registers with LeRobot 0.6 and later).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from conftest import BIN, run_cli, simulator_unsupported
from lerobot_local.closed_loop.interval import wilson
from lerobot_local.closed_loop.judge import FAILS, SUSPECT, UNPROVEN, WORKS, judge, rate
from lerobot_local.closed_loop.lerobot_eval import SuccessSignalVectorEnv
from lerobot_local.closed_loop.rollout import RandomActor, run_episodes
from lerobot_local.closed_loop.success import NoSuccessSignal, register_success_key, success_key


class ReachEnv(gym.Env):
    """Walk a point to x >= 3 with actions in [-1, 1]; says so under ``signal`` (None: says nothing)."""

    def __init__(self, signal: str | None) -> None:
        self.signal = signal
        self.observation_space = gym.spaces.Box(-10, 10, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.x = 0.0

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x = 0.0
        return np.array([self.x], np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.x += float(action[0])
        done = self.x >= 3
        info = {self.signal: done} if self.signal else {}
        return np.array([self.x], np.float32), float(done), done, False, info


class Forward:
    """Always +1: reaches x = 3 at step 3."""

    def reset(self, seed: int) -> None:
        pass

    def act(self, observation: Any) -> np.ndarray:
        return np.ones(1, np.float32)


@pytest.mark.any_line
def test_success_is_the_envs_own_signal_and_a_missing_one_is_refused() -> None:
    register_success_key("reach_succeed", "succeed")
    episodes = run_episodes(ReachEnv("succeed"), Forward(), [0, 1], "succeed", "reach_succeed", 10)
    assert [(e.success, e.steps, e.ended) for e in episodes] == [(True, 3, "succeeded")] * 2
    # LeRobot's key for an env type nobody registered
    key = success_key("reach_lerobot")
    assert key == "is_success"
    assert all(e.success for e in run_episodes(ReachEnv("is_success"), Forward(), [0], key, "reach", 10))
    # an env that ends without saying whether it succeeded: refused, not counted either way
    with pytest.raises(NoSuccessSignal, match=r"reports no success signal.*'is_success'.*--success_key"):
        run_episodes(ReachEnv(None), Forward(), [0], key, "reach_silent", 10)
    # random actions rarely get there in 4 steps; the count is what the env said, step limit named
    random = run_episodes(
        ReachEnv("succeed"), RandomActor(gym.spaces.Box(-1, 1, (1,))), [0, 1, 2], "succeed", "r", 4
    )
    assert all(e.ended in ("succeeded", "time limit") for e in random)
    assert all(e.success == (e.ended == "succeeded") for e in random)


@pytest.mark.any_line
def test_lerobot_evals_vector_env_gets_is_success_from_the_envs_key() -> None:
    """LeRobot 0.6.1 reads final_info['is_success'] and counts a missing one as success (a non-empty list)."""
    from gymnasium.vector import AutoresetMode

    env = gym.vector.SyncVectorEnv([lambda: ReachEnv("succeed")] * 2, autoreset_mode=AutoresetMode.SAME_STEP)
    wrapped = SuccessSignalVectorEnv(env, "reach", "succeed")
    wrapped.reset(seed=0)
    _, _, _, _, info = wrapped.step(np.array([[1.0], [0.5]], np.float32))
    assert info["is_success"].tolist() == [False, False]
    for _ in range(2):
        _, _, terminated, _, info = wrapped.step(np.array([[1.0], [0.5]], np.float32))
    assert terminated.tolist() == [True, False]
    assert info["final_info"]["is_success"].tolist()[0] is True
    assert wrapped.call("signal") == ("succeed", "succeed")  # what lerobot-eval calls passes through
    silent = SuccessSignalVectorEnv(gym.vector.SyncVectorEnv([lambda: ReachEnv(None)]), "reach", "succeed")
    silent.reset(seed=0)
    with pytest.raises(NoSuccessSignal, match="no success signal"):
        silent.step(np.array([[1.0]], np.float32))


@pytest.mark.any_line
def test_interval_and_verdict_words() -> None:
    low, high = wilson(0, 50)
    assert low == 0 and 0.06 < high < 0.08
    low, high = wilson(18, 50)
    assert 0.23 < low < 0.25 and 0.49 < high < 0.51
    nothing = {"random": rate(0, 50), "untrained": rate(0, 50)}
    works = judge(rate(18, 50), nothing)
    assert works["status"] == WORKS and "18/50 (36%, 95% CI 24%-50%)" in works["text"]
    assert judge(rate(2, 10), {"random": rate(0, 10)})["status"] == UNPROVEN  # intervals overlap
    assert judge(rate(0, 50), nothing)["status"] == FAILS
    suspect = judge(rate(50, 50), {"random": rate(0, 50), "untrained": rate(50, 50)})
    assert (
        suspect["status"] == SUSPECT
        and "but the untrained policy (50/50, 95% CI 93%-100%)" in suspect["text"]
    )
    assert "clearly better than random actions (0/50, 95% CI 0%-7%) and the untrained policy" in works["text"]


# --- the real simulator ---------------------------------------------------------------------------------


def _simulator_or_skip() -> None:
    reason = simulator_unsupported()
    if reason:
        pytest.skip(reason)


SIM_FLAGS = (
    "--env.type=so101",
    "--env.task=SO101PickPlace-v0",
    "--env.random_block_position=true",
    "--env.action_scale=0.025",
    "--env.episode_length=20",
)


def test_closed_loop_eval_counts_the_envs_successes_beside_baselines(
    sim_run: SimpleNamespace, tmp_path: Path
) -> None:
    _simulator_or_skip()
    out = tmp_path / "closed_loop.json"
    proc = run_cli(
        "lerobot-local",
        "eval",
        f"--policy.path={sim_run.run / 'checkpoints' / 'last' / 'pretrained_model'}",
        *SIM_FLAGS,
        "--eval.n_episodes=2",
        "--seed=7",
        "--videos=1",
        f"--report_json={out}",
        "--progress=false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loop = json.loads(out.read_text())["closed_loop"]
    assert loop["success_key"] == "succeed" and loop["seeds"] == [7, 8] and loop["max_steps"] == 20
    for result in [loop["policy"], *loop["baselines"].values()]:
        per_episode = result["per_episode"]
        assert [e["seed"] for e in per_episode] == [7, 8]
        assert result["successes"] == sum(e["success"] for e in per_episode)
        assert result["ci_low"] <= result["rate"] <= result["ci_high"]
    assert set(loop["baselines"]) == {"random", "untrained"}
    # 20 steps of a 2-step policy cannot pick and place: the words say so, and why the kwarg was dropped
    assert loop["verdict"]["status"] == FAILS
    assert "verdict (closed loop): the policy succeeded in 0/2" in proc.stdout
    assert any("does not take reward_type" in n for n in loop["notes"])
    # the run's own report gains the section, and a real browser shows it
    report = sim_run.run / "lerobot_local_report.html"
    text = report.read_text()
    assert "id='closed-loop-verdict'" in text and "info[&#x27;succeed&#x27;]" in text
    if loop["frame_strips"]:
        assert Path(loop["frame_strips"][0]).is_file() and "id='closed-loop-frames'" in text
    else:
        assert loop["frames_note"] and "OpenGL" in loop["frames_note"]
    dom = _chromium_dom(report)
    assert "Closed loop in simulation" in dom and "the policy succeeded in 0/2" in dom


def test_closed_loop_eval_refuses_a_missing_signal_and_a_mismatched_env(sim_run: SimpleNamespace) -> None:
    _simulator_or_skip()
    policy = f"--policy.path={sim_run.run / 'checkpoints' / 'last'}"
    proc = run_cli("lerobot-local", "eval", policy, *SIM_FLAGS, "--n_episodes=1", "--success_key=done_flag")
    assert proc.returncode == 1
    assert "no success signal: its step info has no 'done_flag'" in proc.stderr
    assert "keys: ['succeed']" in proc.stderr and "report:" not in proc.stdout
    # PickCube's environment_state is the block alone (3,): the policy was trained with block + goal (6,)
    proc = run_cli("lerobot-local", "eval", policy, "--env.type=so101", "--n_episodes=1")
    assert proc.returncode == 1
    assert "reads observation.environment_state of shape (6,) but the env gives (3,)" in proc.stderr
    proc = run_cli("lerobot-local", "eval", policy, "--env.type=so101", "--env.tsk=SO101PickPlace-v0")
    assert (
        proc.returncode == 1
        and "--env.tsk is not a setting of --env.type=so101; did you mean --env.task?" in proc.stderr
    )
    proc = run_cli("lerobot-local", "eval", policy, "--env.type=so101", "--env.task=Nope-v0")
    assert proc.returncode == 1
    assert (
        "lerobot_env_so101 has no such env (it registers ['SO101PickCube-v0', 'SO101PickPlace-v0'])"
        in proc.stderr
    )
    proc = run_cli("lerobot-local", "eval", policy, "--env.type=so101", "--n_episode=1")
    assert proc.returncode == 2 and "did you mean --n_episodes" in proc.stderr


def test_lerobot_eval_reports_the_envs_success_not_a_made_up_one(tmp_path: Path) -> None:
    """LeRobot's own lerobot-eval, untrained ACT: pc_success was 100 on LeRobot 0.6.1 without the plugin."""
    _simulator_or_skip()
    args = (
        "lerobot-eval",
        "--env.type=so101",
        "--env.episode_length=5",
        "--policy.type=act",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        "--eval.n_episodes=2",
        "--eval.batch_size=1",
        f"--output_dir={tmp_path / 'eval'}",
    )
    no_display = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MUJOCO_GL")}
    no_display["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.run([str(BIN / args[0]), *args[1:]], env=no_display, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]  # it films episodes: no display, so EGL
    assert "no display: MuJoCo renders through MUJOCO_GL=egl" in proc.stderr
    assert "the so101 env reports success as info['succeed']" in proc.stderr
    assert "'pc_success': 0.0" in proc.stderr


def _chromium_dom(page: Path) -> str:
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Chromium is not installed in CI: .ci/run must install it (apt-get install -y chromium)"
            )
        pytest.skip("no chromium on this machine (apt-get install -y chromium)")
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tempfile.mkdtemp()}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
