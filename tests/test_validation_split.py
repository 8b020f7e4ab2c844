"""The holdout split, frame selection, joint names, feature comparison and the best checkpoint (no training:
real files, real LeRobot writer for the dataset)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lerobot_local.actions.prune import prune
from lerobot_local.manifest import write_manifest
from lerobot_local.validation.best import best_checkpoint, point_best
from lerobot_local.validation.config import CHECKPOINT_VALIDATION_FILE, ValidationSettings
from lerobot_local.validation.eval_offline import feature_problems
from lerobot_local.validation.metrics import action_names, select_frames
from lerobot_local.validation.split import SplitError, compute_split, episode_tasks
from validation_helpers import TASKS, make_reach_dataset

# The split of the generated 12-episode dataset with holdout=0.25, seed=0: a golden value, asserted on every
# LeRobot line, so 0.4 and 0.6 hold out the same episodes.
GOLDEN_HOLDOUT = [1, 8, 9]


@pytest.fixture(scope="module")
def reach(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reach_dataset(tmp_path_factory.mktemp("data") / "reach")


def test_split_is_per_task_deterministic_and_the_same_on_every_line(reach: Path) -> None:
    tasks = episode_tasks(reach)
    assert {t for ts in tasks.values() for t in ts} == set(TASKS)
    split = compute_split(tasks, ValidationSettings(holdout=0.25, seed=0))
    assert split.holdout == GOLDEN_HOLDOUT
    assert split.train == [e for e in range(12) if e not in GOLDEN_HOLDOUT]
    assert compute_split(tasks, ValidationSettings(holdout=0.25, seed=0)) == split
    assert compute_split(tasks, ValidationSettings(holdout=0.25, seed=1)).holdout != split.holdout
    for seed in range(20):  # every task keeps a training episode, whatever the seed and fraction
        s = compute_split(tasks, ValidationSettings(holdout=0.9, seed=seed))
        assert {t for e in s.train for t in tasks[e]} == set(TASKS)
    # a restricted dataset.episodes is split within itself; an explicit list is used as given
    sub = compute_split(tasks, ValidationSettings(holdout=0.5), candidates=[0, 1, 2, 3])
    assert set(sub.train) | set(sub.holdout) == {0, 1, 2, 3}
    explicit = compute_split(tasks, ValidationSettings(episodes=[3, 0]))
    assert explicit.holdout == [0, 3] and 0 not in explicit.train
    # resume: the saved train list with the recorded holdout gives the same split
    again = compute_split(tasks, ValidationSettings(episodes=split.holdout, holdout=0.25), split.train)
    assert again.train == split.train and again.holdout == split.holdout


def test_a_holdout_that_leaves_a_task_untrained_is_refused_with_the_fix() -> None:
    tasks = {0: ["pick"], 1: ["place"], 2: ["place"]}
    with pytest.raises(SplitError, match=r"leave task\(s\) \['pick'\] without a training episode.*holdout"):
        compute_split(tasks, ValidationSettings(episodes=[0]))
    with pytest.raises(SplitError, match="cannot hold out any"):
        compute_split({0: ["pick"], 1: ["place"]}, ValidationSettings(holdout=0.5))
    with pytest.raises(SplitError, match="does not have"):
        compute_split(tasks, ValidationSettings(episodes=[7]))
    # a fraction outside [0, 1) is refused where the setting is declared
    with pytest.raises(ValueError, match=r"holdout=1.5 must be a fraction in \[0, 1\)"):
        ValidationSettings(holdout=1.5)
    # holdout=0.5 of 3 episodes: only a 'place' episode may go
    assert compute_split(tasks, ValidationSettings(holdout=0.5)).holdout in ([1], [2])


def test_frames_names_and_features() -> None:
    assert select_frames(5, 10) == [0, 1, 2, 3, 4]
    picked = select_frames(1000, 64)
    assert len(picked) == 64 and picked[0] == 0 and picked[-1] == 999
    info = {"features": {"action": {"dtype": "float32", "shape": [2], "names": ["a", "b"]}}}
    assert action_names(info, 2) == ["a", "b"]
    assert action_names(info, 3) == ["action[0]", "action[1]", "action[2]"]
    nested = {"features": {"action": {"names": [["kLeftShoulderPitch", "kRightHandIndex"]]}}}
    assert action_names(nested, 2) == ["kLeftShoulderPitch", "kRightHandIndex"]  # a humanoid recorder
    motors = {"features": {"action": {"names": {"motors": ["pan", "lift", "gripper"]}}}}
    assert action_names(motors, 3) == ["pan", "lift", "gripper"]
    info["features"]["observation.images.top"] = {
        "dtype": "video",
        "shape": [96, 128, 3],
        "names": ["height", "width", "channels"],
    }
    assert feature_problems({"action": (2,), "observation.images.top": (3, 96, 128)}, info) == []
    problems = feature_problems({"action": (6,), "observation.images.wrist": (3, 96, 128)}, info)
    assert problems == [
        "'action' has shape [2] in the dataset but [6] in the policy",
        "the dataset has no 'observation.images.wrist'",
    ]
    # every image axis spelling LeRobot accepts (its dataset_to_policy_features): 'channel' (v2.0 ports, a
    # real industrial recording), and channel-first names; a policy trained on either must never be refused
    for names, shape in (
        (["height", "width", "channel"], [96, 128, 3]),
        (["channels", "height", "width"], [3, 96, 128]),
        (["channel", "height", "width"], [3, 96, 128]),
    ):
        info["features"]["observation.images.top"] = {"dtype": "video", "shape": shape, "names": names}
        assert feature_problems({"action": (2,), "observation.images.top": (3, 96, 128)}, info) == [], names
    info["features"]["observation.images.top"]["shape"] = [1, 96, 128]  # a real difference still says so
    assert feature_problems({"observation.images.top": (3, 96, 128)}, info) == [
        "'observation.images.top' has shape [1, 96, 128] in the dataset but [3, 96, 128] in the policy"
    ]


def _checkpoint(root: Path, step: int, val_loss: float | None) -> Path:
    folder = root / f"{step:06d}"
    (folder / "pretrained_model").mkdir(parents=True)
    (folder / "pretrained_model" / "model.safetensors").write_bytes(b"weights %d" % step)
    if val_loss is not None:
        (folder / CHECKPOINT_VALIDATION_FILE).write_text(json.dumps({"val_loss": val_loss}))
    write_manifest(folder)
    return folder


def test_pruning_keeps_the_best_checkpoint_and_best_points_at_it(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    for step, loss in ((100, 0.5), (200, 0.2), (300, 0.4), (400, 0.3)):
        _checkpoint(checkpoints, step, loss)
    (checkpoints / "last").symlink_to("000400")
    assert best_checkpoint(checkpoints) == (checkpoints / "000200", 0.2)
    point_best(checkpoints)
    assert (checkpoints / "best").is_symlink() and Path((checkpoints / "best").readlink()) == Path("000200")
    removed = prune(checkpoints, keep_last_n=1)
    assert sorted(p.name for p in removed) == ["000100", "000300"]
    assert sorted(p.name for p in checkpoints.iterdir()) == ["000200", "000400", "best", "last"]
    _checkpoint(checkpoints, 500, 0.1)  # a new best moves the link; the old best may then go
    point_best(checkpoints)
    assert Path((checkpoints / "best").readlink()) == Path("000500")
    assert sorted(p.name for p in prune(checkpoints, keep_last_n=1)) == ["000200"]


def test_without_validation_results_there_is_no_best(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    _checkpoint(checkpoints, 2, None)
    assert best_checkpoint(checkpoints) is None and point_best(checkpoints) is None
    assert not (checkpoints / "best").exists()
