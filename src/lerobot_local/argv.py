"""The command line LeRobot parses: reading and rewriting ``--a.b=value`` flags, and running a block with
another ``sys.argv`` (LeRobot's parser helpers read it). The one place that handles argv; it imports nothing
of this package."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any


def arg_value(argv: list[str], name: str) -> tuple[int, str] | None:
    """Position and value of ``--name=value`` or ``--name value`` in argv (a following ``--flag`` is no
    value, as LeRobot's own parser reads it)."""
    for i, arg in enumerate(argv):
        if arg.startswith(f"--{name}="):
            return i, arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            return i, argv[i + 1]
    return None


def replace_arg(argv: list[str], name: str, value: str) -> list[str]:
    """``argv`` with ``--name`` set to ``value`` (replacing either spelling, or appended)."""
    found = arg_value(argv, name)
    if found is None:
        return [*argv, f"--{name}={value}"]
    i, _ = found
    width = 1 if argv[i].startswith(f"--{name}=") else 2
    return [*argv[:i], f"--{name}={value}", *argv[i + width :]]


def cli_value(value: Any) -> str:
    """A config value as LeRobot's command line spells it (booleans lower-case, lists/dicts as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return "null" if value is None else str(value)


def flatten(prefix: str, data: dict[str, Any], whole: Collection[str] = ()) -> list[tuple[str, Any]]:
    """``(dotted name, value)`` of every leaf of a nested config section; a name in ``whole`` (a dict-typed
    field such as ``policy.normalization_mapping``, which draccus reads as one JSON value) stays one value."""
    out = []
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict) and value and name not in whole:
            out.extend(flatten(name, value, whole))
        else:
            out.append((name, value))
    return out


@contextmanager
def argv_as(argv: list[str] | tuple[str, ...]) -> Iterator[None]:
    """Run a block with ``sys.argv[1:]`` = ``argv`` (LeRobot's parser helpers read sys.argv)."""
    saved = sys.argv
    sys.argv = [saved[0] if saved else "lerobot-train", *argv]
    try:
        yield
    finally:
        sys.argv = saved
