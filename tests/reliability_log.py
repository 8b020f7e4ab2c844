"""Records what reliability tests tried, for docs/reliability.md (scripts/reliability_report.py renders it).

A test calls ``record(...)`` once per scenario; nothing is written unless LEROBOT_LOCAL_RELIABILITY_LOG
names a JSON-lines file, so normal runs are unaffected.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys


def record(
    area: str, tried: str, expected: str, happened: str, *, trials: int = 1, data_lost: int = 0
) -> None:
    """Append one row: the area (faults/bad input/paths/network), what was tried, expected and observed."""
    path = os.environ.get("LEROBOT_LOCAL_RELIABILITY_LOG")
    if not path:
        return
    row = {
        "area": area,
        "tried": tried,
        "expected": expected,
        "happened": happened,
        "trials": trials,
        "data_lost": data_lost,
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "lerobot": importlib.metadata.version("lerobot"),
    }
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
