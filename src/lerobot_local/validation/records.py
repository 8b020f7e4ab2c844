"""The run's metrics file (JSON lines in the output dir) and the per-checkpoint validation file."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from lerobot_local.validation.config import CHECKPOINT_VALIDATION_FILE, METRICS_FILE


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def append(output_dir: Path, record: dict[str, Any]) -> None:
    """Append one record (``kind``: run, train, validation) to the metrics file."""
    output_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(_clean({"time": round(time.time(), 3), **record}), separators=(",", ":"))
    with (output_dir / METRICS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()


def read(output_dir: Path) -> list[dict[str, Any]]:
    """Every record of the metrics file (a torn last line, from a killed run, is skipped)."""
    path = Path(output_dir) / METRICS_FILE
    records = []
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def write_checkpoint_validation(checkpoint_dir: Path, result: dict[str, Any]) -> Path:
    path = checkpoint_dir / CHECKPOINT_VALIDATION_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_clean(result), indent=1))
    tmp.replace(path)
    return path


def read_checkpoint_validation(checkpoint_dir: Path) -> dict[str, Any] | None:
    path = Path(checkpoint_dir) / CHECKPOINT_VALIDATION_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
