"""Did you mean: one line naming the closest valid flag(s) when ``lerobot-train`` (with lerobot-local
active) or lerobot-local's own ``--lerobot_local.*`` settings get a flag they do not know. The line comes
before the parser's own message, which is left as it is (the parser still refuses the flag)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

from lerobot_local import compat
from lerobot_local.settings import SECTION, LocalSettings

logger = logging.getLogger("lerobot_local")
MAX_SUGGESTIONS = 3
CUTOFF = 0.6
TIE = 0.02  # a second suggestion only when it is this close to the best one


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
