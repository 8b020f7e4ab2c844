"""Ctrl-C (SIGINT) and SIGTERM in lerobot-local's own commands (the converter, check, eval, preflight).

The command stops with one line on stderr that says what was and was not written, and exit code 130, never a
traceback. Once the signal arrived, whatever the body raises on its way out is the interruption: a Ctrl-C
during an import leaves a half-imported module behind (``AttributeError: partially initialized module
'pandas'`` at the next use of it), which is not a second problem to report. Inside lerobot-train (LeRobot
installs no handler of its own there) the same line names the checkpoint to resume from, and the command.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from lerobot_local import compat

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_interruptible(command: str, body: Callable[[], int], written: Callable[[], str]) -> int:
    """``body()``'s exit code; on SIGINT or SIGTERM, one line ``<command>: interrupted (<signal>): <what
    written() says>`` on stderr and :data:`EXIT_INTERRUPTED`. ``written`` is asked after the body unwound
    (its cleanup done), so it can look at what is on disk."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        return body()
    received: list[str] = []

    def stop(signum: int, _frame: object) -> None:
        if not received:
            received.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, stop) for s in SIGNALS}
    try:
        return body()
    except BaseException as exc:
        if not received and not isinstance(exc, KeyboardInterrupt):
            raise
        for s in SIGNALS:  # a second Ctrl-C while saying what was written: stop saying it, quietly
            signal.signal(s, signal.SIG_IGN)
        # an object the signal cut short in its __init__ (a tqdm bar without its ``pos``) fails in its
        # __del__ later, which Python reports as 'Exception ignored ... Traceback': part of the interruption
        sys.unraisablehook = _quiet
        name = received[0] if received else "SIGINT"
        try:
            said = written()
        except Exception as why:  # the line must come out whatever the disk looks like
            said = f"what was written could not be read ({type(why).__name__}: {why})"
        sys.stderr.write(f"\n{command}: interrupted ({name}): {said}\n")
        sys.stderr.flush()
        return EXIT_INTERRUPTED
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _quiet(_unraisable: object) -> None:
    """An unraisable exception after the interruption: nothing to say (the interruption's line is said)."""


def train_interrupted_note(output_dir: Path | str | None) -> str:
    """What a stopped ``lerobot-train`` leaves in ``output_dir``, and the command that goes on from it."""
    if output_dir is None:
        return "no --output_dir was set, so there is no checkpoint to go on from"
    config = compat.resumable_config_path(output_dir)
    if config is None:
        return (
            f"no checkpoint was written in {output_dir}; start again with a new --output_dir "
            f"(or delete {output_dir})"
        )
    checkpoint = compat.checkpoint_of_train_config(config)
    newest = checkpoint.resolve().name if checkpoint.exists() else checkpoint.name
    return (
        f"the newest checkpoint is {Path(output_dir) / compat.CHECKPOINTS_DIR / newest}; go on from it with: "
        f"lerobot-train --resume=true --config_path={config}"
    )
