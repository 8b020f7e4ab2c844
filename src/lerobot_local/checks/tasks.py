"""Check: every row's ``task_index`` names a task of ``meta/tasks`` (``tasks``). LeRobot looks the task
string up per item and raises ``No task string found for task_index=N`` on the first item of such an
episode, so the run dies mid-epoch; the converter refuses the same episodes through this row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_local.checks.dataset import convert_command
from lerobot_local.checks.values import train_without
from lerobot_local.dataset import TASKS_JSONL, TASKS_PATH, data_files, task_indices
from lerobot_local.facts import DatasetFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "tasks"


def unknown_tasks(files: list[Path], root: Path, known: set[int]) -> dict[int, tuple[set[int], str, int]]:
    """episode -> (task indices it uses that ``known`` lacks, its file, its first such frame)."""
    found: dict[int, tuple[set[int], str, int]] = {}
    allowed = np.asarray(sorted(known), dtype=np.int64)
    for path in files:
        try:
            pfile = pq.ParquetFile(path)
            names = set(pfile.schema_arrow.names)
            if not {"task_index", "episode_index"} <= names:
                continue
            cols = ["task_index", "episode_index"] + (["frame_index"] if "frame_index" in names else [])
            table = pfile.read(columns=cols)
            tasks = table["task_index"].to_numpy(zero_copy_only=False).astype(np.int64)
            episodes = table["episode_index"].to_numpy(zero_copy_only=False).astype(np.int64)
        except (pa.ArrowException, OSError, ValueError, TypeError):
            continue  # unreadable or non-integer columns: the dataset check names the file
        frames = (
            table["frame_index"].to_numpy(zero_copy_only=False).astype(np.int64)
            if "frame_index" in table.column_names
            else np.arange(tasks.size)
        )
        bad = ~np.isin(tasks, allowed)
        for row in np.flatnonzero(bad):
            e = int(episodes[row])
            entry = found.setdefault(e, (set(), str(path.relative_to(root)), int(frames[row])))
            entry[0].add(int(tasks[row]))
    return found


@hookimpl
def lerobot_local_check_dataset(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult]:
    if dataset.local is not None:
        root = dataset.root
        known, label = task_indices(root), TASKS_PATH
        files = data_files(root)
        total = int((dataset.info or {}).get("total_episodes") or 0)

        def exclude(episodes: list[int]) -> str:
            return train_without(episodes, total)

    elif dataset.source is not None:
        src = dataset.source
        root, known, label = src.root, set(src.tasks), TASKS_JSONL
        files = [src.data_file(ep.index) for ep in src.episodes]
        total = len(src.episodes)

        def exclude(episodes: list[int]) -> str:
            return f"convert without them: {convert_command(src.root, episodes)}"

    else:
        return []
    if known is None:
        return [CheckResult(NAME, "skipped", f"{root / label} cannot be read (see the dataset check).")]
    found = unknown_tasks([f for f in files if f.is_file()], root, known)
    if not found:
        return [CheckResult(NAME, "ok", f"every row's task_index names a task of {label} ({len(known)}).")]
    episodes = sorted(found)
    parts = [
        f"{file}, episode {e}, frame {frame}: task_index {', '.join(map(str, sorted(tasks)))}"
        for e, (tasks, file, frame) in sorted(found.items())
    ]
    shown = "; ".join(parts[: settings.values.max_listed])
    more = (
        f" (and {len(parts) - settings.values.max_listed} more)"
        if len(parts) > settings.values.max_listed
        else ""
    )
    message = (
        f"{len(episodes)} of {total} episode(s) use a task_index that {root / label} does not define "
        f"(it defines {sorted(known)}), so LeRobot's loader raises 'No task string found for task_index' on "
        f"their first item: {shown}{more}."
    )
    fix = f"add the missing task(s) to {label}, or correct the task_index column of those episodes"
    if len(episodes) < total:
        fix += "; " + exclude(episodes)
    details = tuple(
        {
            "check": NAME,
            "severity": "error",
            "message": part,
            "episode": e,
            "file": file,
            "first_frame": frame,
            "task_index": sorted(tasks),
        }
        for part, (e, (tasks, file, frame)) in zip(parts, sorted(found.items()), strict=True)
    )
    return [CheckResult(NAME, "error", message, fix, episodes=tuple(episodes), details=details)]
