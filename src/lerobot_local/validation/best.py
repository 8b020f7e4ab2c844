"""The best checkpoint of a run: the lowest validation loss; a ``best`` link beside LeRobot's ``last``."""

from __future__ import annotations

from pathlib import Path

from lerobot_local import compat
from lerobot_local.validation.config import BEST_LINK
from lerobot_local.validation.records import read_checkpoint_validation


def best_checkpoint(checkpoints: Path) -> tuple[Path, float] | None:
    """(checkpoint folder, validation loss) of the lowest validation loss, the newest on a tie."""
    best: tuple[Path, float] | None = None
    for folder in compat.step_checkpoints(checkpoints):
        result = read_checkpoint_validation(folder)
        loss = (result or {}).get("val_loss")
        if isinstance(loss, (int, float)) and (best is None or loss <= best[1]):
            best = (folder, float(loss))
    return best


def point_best(checkpoints: Path) -> tuple[Path, float] | None:
    """Point ``checkpoints/best`` at the best checkpoint (a relative link, like ``last``)."""
    found = best_checkpoint(checkpoints)
    if found is None:
        return None
    link = checkpoints / BEST_LINK
    if link.is_symlink() and link.resolve() == found[0].resolve():
        return found
    tmp = checkpoints / f".{BEST_LINK}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(found[0].name)
    tmp.replace(link)
    return found
