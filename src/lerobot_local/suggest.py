"""Did you mean: one line naming the closest valid flag(s) when ``lerobot-train`` (with lerobot-local
active) or lerobot-local's own ``--lerobot_local.*`` settings get a flag they do not know. The line comes
before the parser's own message and again after it, last, where it is seen: LeRobot's usage (hundreds of
lines) is shortened to its first lines (the parser still refuses the flag)."""

from __future__ import annotations

import difflib
import io
import logging
from collections.abc import Iterable
from typing import Any

from lerobot_local import compat
from lerobot_local.settings import SECTION, LocalSettings

logger = logging.getLogger("lerobot_local")
MAX_SUGGESTIONS = 3
CUTOFF = 0.6
TIE = 0.02  # a second suggestion only when it is this close to the best one
USAGE_LINES_KEPT = 6  # of LeRobot's usage when it refuses a flag that has a suggestion


def flag_names(argv: Iterable[str]) -> list[str]:
    """The names of the ``--name=value`` / ``--name value`` flags of argv (without the dashes)."""
    return [a[2:].split("=", 1)[0] for a in argv if a.startswith("--") and len(a) > 2]


def closest(name: str, candidates: Iterable[str]) -> list[str]:
    """The valid names closest to ``name`` (difflib's ratio): the best one, and up to two more that are
    nearly as close (a tie between spellings), never a section name that only holds other flags."""
    pool = set(candidates)
    leaves = sorted(c for c in pool if not any(o.startswith(c + ".") for o in pool))
    matches = difflib.get_close_matches(name, leaves, n=MAX_SUGGESTIONS, cutoff=CUTOFF)
    if not matches:
        return []
    best = difflib.SequenceMatcher(None, name, matches[0]).ratio()
    return [m for m in matches if difflib.SequenceMatcher(None, name, m).ratio() >= best - TIE]


def line(name: str, matches: list[str], listing: str) -> str:
    """One line: the unknown flag and the closest valid flag(s), or where they are listed."""
    if not matches:
        return f"lerobot-local: unknown flag --{name}: no close match ({listing} lists every flag)"
    shown = " or ".join(f"--{m}" for m in matches)
    return f"lerobot-local: unknown flag --{name}; did you mean {shown}?"


def unknown(names: Iterable[str], flags: compat.ConfigFlags) -> list[tuple[str, list[str]]]:
    """(unknown name, closest valid names) for each name ``flags`` does not accept."""
    candidates = set(flags.exact) | set(flags.open)
    return [(n, closest(n, candidates)) for n in names if not flags.accepts(n)]


def local_flags() -> compat.ConfigFlags:
    """The ``lerobot_local.*`` settings as flags (from the settings dataclasses)."""
    found = compat.config_flags(LocalSettings, f"{SECTION}.")
    return compat.ConfigFlags(found.exact, found.open)


def warn_unknown_local_flags(argv: Iterable[str]) -> list[str]:
    """Log a line for each unknown ``--lerobot_local.*`` flag of argv; return the lines."""
    names = [n for n in flag_names(argv) if n.startswith(f"{SECTION}.")]
    lines = [line(n, m, "the README's settings table") for n, m in unknown(names, local_flags())]
    for text in lines:
        logger.error(text)
    return lines


def warn_unknown_train_flags(argv: Iterable[str]) -> list[str]:
    """Log a line for each flag of argv the installed ``lerobot-train`` does not accept; return the lines.

    Advice only: LeRobot's parser still decides, so a failure to read LeRobot's configs is logged and ignored.
    """
    try:
        flags = compat.train_cli_flags()
    except Exception as exc:  # never stand between the user and LeRobot's own parser
        logger.debug("lerobot-local: no flag suggestions (%s)", exc)
        return []
    lines = [line(n, m, "lerobot-train --help") for n, m in unknown(flag_names(argv), flags)]
    for text in lines:
        logger.error(text)
    return lines


class HeldStderr(io.TextIOBase):
    """``sys.stderr`` held back while LeRobot's parser reads a command line that holds an unknown flag, so
    that the "did you mean" line can come last, after a shortened usage; once released it writes through (a
    handler that kept a reference to it loses nothing)."""

    def __init__(self, real: Any) -> None:
        super().__init__()
        self.real = real
        self.held: list[str] | None = []

    def write(self, text: str) -> int:
        if self.held is None:
            return self.real.write(text)
        self.held.append(text)
        return len(text)

    def flush(self) -> None:
        if self.held is None:
            self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")

    def release(self) -> str:
        """Write what was held, as it was (the parser accepted the command line); return it."""
        text = "".join(self.held or [])
        self.held = None
        self.real.write(text)
        return text

    def refused(self, hints: list[str]) -> None:
        """The parser refused the command line: what was held with LeRobot's usage shortened, then the hints,
        last, where they are seen."""
        text = "".join(self.held or [])
        self.held = None
        self.real.write(shorten_usage(text))
        for hint in hints:
            self.real.write(hint + "\n")
        self.real.flush()


def shorten_usage(text: str, keep: int = USAGE_LINES_KEPT) -> str:
    """``text`` with an argparse usage block (from ``usage:`` to the ``error:`` line) cut to its first
    ``keep`` lines and a line saying how many were left out."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, x in enumerate(lines) if x.lstrip().startswith("usage:")), None)
    end = next((i for i, x in enumerate(lines) if ": error:" in x and (start is None or i > start)), None)
    if start is None or end is None or end - start <= keep:
        return text
    cut = end - start - keep
    note = f"  ... ({cut} more lines of LeRobot's usage left out: lerobot-train --help prints them all)\n"
    return "".join([*lines[: start + keep], note, *lines[end:]])
