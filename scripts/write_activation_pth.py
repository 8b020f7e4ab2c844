"""Write src/lerobot_local_activate.pth: one line that defines and installs the activation finder inline.

The finder's source is kept readable here; ``tests/test_activation_pth.py`` checks that the committed
``.pth`` is what this script writes. Run it after editing FINDER: ``python scripts/write_activation_pth.py``.
"""

from __future__ import annotations

from pathlib import Path

PTH = Path(__file__).resolve().parents[1] / "src" / "lerobot_local_activate.pth"

FINDER = '''\
class LeRobotLocalFinder:
    """lerobot-local: waits for LeRobot's config parser, then activates (see lerobot_local._boot)."""
    def find_spec(self, name, path=None, target=None):
        if name not in ("lerobot.configs.parser", "lerobot.datasets.video_utils"):
            return None
        try:
            from lerobot_local._boot import hand_over
        except Exception as exc:
            sys.meta_path.remove(self)
            import os
            off = os.environ.get("LEROBOT_LOCAL_DISABLE", "").strip().lower() in ("1", "true", "yes")
            if off:
                return None
            prog = os.path.basename(sys.argv[0]) if sys.argv else ""
            sys.stderr.write(
                "lerobot-local: ERROR: the lerobot_local package cannot be imported (%s: %s), so its "
                "before-train checks and checkpoint manifests cannot run. Fix: reinstall it into this "
                "environment (pip install lerobot-local, or pip install -e <your checkout>), or set "
                "LEROBOT_LOCAL_DISABLE=1 to run LeRobot without it.\\n" % (type(exc).__name__, exc)
            )
            if prog in ("lerobot-train", "lerobot_train.py"):
                raise SystemExit("lerobot-local: refusing to train unchecked (see the error above)")
            return None
        return hand_over(self, name, path, target)
if "lerobot.configs.parser" not in sys.modules and not any(
    type(f).__name__ == "LeRobotLocalFinder" for f in sys.meta_path
):
    sys.meta_path.insert(0, LeRobotLocalFinder())
'''


def pth_text() -> str:
    return f"import sys; exec({FINDER!r}, {{'sys': sys}})\n"


if __name__ == "__main__":
    PTH.write_text(pth_text())
    print(f"wrote {PTH}")
