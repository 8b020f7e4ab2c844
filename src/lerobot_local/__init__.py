"""lerobot-local: local, Hub-free LeRobot workflows (converter, presets, safety hooks in lerobot-train).

Kept import-free on purpose: a ``.pth`` file imports ``lerobot_local._boot`` at every interpreter start-up.
"""

__version__ = "0.1.0"
