"""A learnable synthetic v3.0 dataset written with LeRobot's own writer, for the validation tests.

Each episode has a goal ``g`` (``observation.environment_state``, constant) and a 2-joint arm state that moves
a quarter of the way to the goal every frame; the recorded action is the next state. So the action chunk is
a deterministic function of the observation: a policy can learn it, a constant action cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

JOINTS = ["shoulder", "elbow"]
TASKS = ["reach the left target", "reach the right target"]


def make_reach_dataset(
    root: Path, episodes: int = 12, length: int = 30, seed: int = 0, joints: list[str] | None = None
) -> Path:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    joints = joints or JOINTS
    n = len(joints)
    features = {
        "observation.state": {"dtype": "float32", "shape": (n,), "names": joints},
        "observation.environment_state": {
            "dtype": "float32",
            "shape": (n,),
            "names": [f"goal_{j}" for j in joints],
        },
        "action": {"dtype": "float32", "shape": (n,), "names": joints},
    }
    dataset = LeRobotDataset.create(
        repo_id=f"local/{root.name}", fps=10, features=features, root=root, use_videos=False
    )
    rng = np.random.default_rng(seed)
    for episode in range(episodes):
        task = TASKS[episode % len(TASKS)]
        goal = rng.uniform(-1, 1, size=n).astype(np.float32)
        goal[0] = -abs(goal[0]) if episode % 2 == 0 else abs(goal[0])
        state = rng.uniform(-1, 1, size=n).astype(np.float32)
        for _ in range(length):
            nxt = (state + 0.25 * (goal - state)).astype(np.float32)
            dataset.add_frame(
                {
                    "observation.state": state,
                    "observation.environment_state": goal,
                    "action": nxt,
                    "task": task,
                }
            )
            state = nxt
        dataset.save_episode()
    if hasattr(dataset, "finalize"):
        dataset.finalize()
    return root
