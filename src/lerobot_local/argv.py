"""The command line LeRobot parses: reading and rewriting ``--a.b=value`` flags, and running a block with
another ``sys.argv`` (LeRobot's parser helpers read it). The one place that handles argv; it imports nothing
of this package."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import sys
import typing
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


SENTENCE_END = r"(?<=\.)(?<!e\.g\.)(?<!i\.e\.)\s"  # a full stop, not the one of "e.g." or "i.e."
BOOL_WORDS = frozenset({"true", "false", "1", "0", "yes", "no"})


def bool_fields(cls: type) -> frozenset[str]:
    """The names of the boolean fields of a (dataclass) settings class."""
    return frozenset(n for n, t in typing.get_type_hints(cls).items() if t is bool)


def bare_booleans(argv: list[str], names: Collection[str]) -> list[str]:
    """``argv`` with a bare switch (``--dry_run``, ``--dry-run``, as argparse users type it) read as
    ``--dry_run=true`` for the boolean flags ``names``; ``--dry_run false`` (a value after a space) is left
    as it is."""
    out = []
    for i, arg in enumerate(argv):
        name = arg[2:].replace("-", "_") if arg.startswith("--") and "=" not in arg else None
        following = argv[i + 1].lower() if i + 1 < len(argv) else None
        if name in names and following not in BOOL_WORDS:
            arg = f"{arg}=true"
        out.append(arg)
    return out


def flag_help(cls: type, skip: Collection[str] = ()) -> list[str]:
    """One line per field of a settings dataclass, ``--name=DEFAULT  what it is``, from the comment written
    above the field (its first sentence): the --help of a command lists every flag it reads."""
    defaults = {}
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name.startswith("_"):
            continue
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = cli_value(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = cli_value(f.default_factory())
        else:
            defaults[f.name] = "..."
    rows, comment = [], []
    for line in inspect.getsource(cls).splitlines():
        text = line.strip()
        if text.startswith("#"):
            comment.append(text.lstrip("#").strip())
            continue
        found = re.match(r"(\w+)\s*:", text)
        if found and found.group(1) in defaults:
            said = " ".join(comment)
            first = re.split(SENTENCE_END, said, maxsplit=1)[0].rstrip(".")
            rows.append((f"--{found.group(1)}={defaults[found.group(1)]}", first))
        comment = []
    width = min(34, max((len(flag) for flag, _ in rows), default=0))
    return [f"  {flag:<{width}}  {what}".rstrip() for flag, what in rows]
