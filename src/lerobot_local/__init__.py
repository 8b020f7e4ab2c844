"""lerobot-local: local, Hub-free LeRobot workflows (converter, presets, safety hooks in lerobot-train).

Kept import-free on purpose: the finder that ``lerobot_local_activate.pth`` installs imports
``lerobot_local._boot`` when LeRobot's config parser is imported.
"""

__version__ = "0.1.0"
