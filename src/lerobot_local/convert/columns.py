"""Which columns of a v2.x episode file the writer copies, casts to the declared type or derives.

A hand-written v2.x set may lack an index column LeRobot would have written (``index``, ``task_index``
with one task, ...) or store ``float64`` where meta/info.json declares ``float32``. Where the value is
certain, the writer derives or casts it and says so once; anything else is a problem naming the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_local.convert.source import INDEX_COLUMNS, NUMERIC_DTYPES, SourceDataset, SourceEpisode

# The index features LeRobot declares in every v2.x/v3.0 info.json (added to the output when absent).
INDEX_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


@dataclass
class ColumnPlan:
    """What the writer does with one episode file's columns."""

    derive: dict[str, Any] = field(default_factory=dict)  # absent index column -> value source ("task": id)
    casts: dict[str, pa.DataType] = field(default_factory=dict)  # column -> declared leaf type
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what is wrong, fix)
    notes: list[str] = field(default_factory=list)


def data_columns(src: SourceDataset) -> list[str]:
    """The output's data columns: every declared non-video feature, then undeclared index columns."""
    declared = [k for k, f in src.features.items() if f.get("dtype") != "video"]
    return declared + [c for c in INDEX_COLUMNS if c not in src.features]


def output_features(src: SourceDataset) -> dict[str, dict[str, Any]]:
    """The declared features plus the index features LeRobot needs and the source left undeclared."""
    features = json_copy(src.features)
    for name in INDEX_COLUMNS:
        features.setdefault(name, dict(INDEX_FEATURES[name]))
    return features


def json_copy(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


def declared_dtype(src: SourceDataset, column: str) -> str | None:
    feature = src.features.get(column) or INDEX_FEATURES.get(column) or {}
    dtype = feature.get("dtype")
    return dtype if dtype in NUMERIC_DTYPES else None


def declared_width(src: SourceDataset, column: str) -> int:
    shape = (src.features.get(column) or INDEX_FEATURES.get(column) or {}).get("shape") or [1]
    return int(np.prod(shape))


def is_list(dtype: pa.DataType) -> bool:
    return pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_fixed_size_list(dtype)


def leaf_type(dtype: pa.DataType) -> pa.DataType:
    while is_list(dtype):
        dtype = dtype.value_type
    return dtype


def with_leaf(dtype: pa.DataType, leaf: pa.DataType) -> pa.DataType:
    """``dtype`` with its innermost value type replaced by ``leaf`` (list structure kept)."""
    if pa.types.is_fixed_size_list(dtype):
        return pa.list_(dtype.value_field.with_type(with_leaf(dtype.value_type, leaf)), dtype.list_size)
    if pa.types.is_large_list(dtype):
        return pa.large_list(dtype.value_field.with_type(with_leaf(dtype.value_type, leaf)))
    if pa.types.is_list(dtype):
        return pa.list_(dtype.value_field.with_type(with_leaf(dtype.value_type, leaf)))
    return leaf


def derived_task(src: SourceDataset, ep: SourceEpisode) -> int | None:
    """The task index of an episode whose file has no task_index column, when it is certain."""
    if len(src.tasks) == 1:
        return next(iter(src.tasks))
    by_text = {text: idx for idx, text in src.tasks.items()}
    if len(ep.tasks) == 1 and ep.tasks[0] in by_text:
        return by_text[ep.tasks[0]]
    return None


def plan_columns(src: SourceDataset, schema: pa.Schema, ep: SourceEpisode) -> ColumnPlan:
    """Compare one episode file's schema with meta/info.json: what to derive, cast, or refuse."""
    plan = ColumnPlan()
    names = set(schema.names)
    for column in data_columns(src):
        if column not in names:
            _absent(src, ep, column, plan)
            continue
        dtype = declared_dtype(src, column)
        if dtype is None:
            continue  # image, string, ...: copied as they are
        actual = schema.field(column).type
        _check_width(src, column, actual, plan)
        _check_type(column, dtype, leaf_type(actual), plan)
    return plan


def _absent(src: SourceDataset, ep: SourceEpisode, column: str, plan: ColumnPlan) -> None:
    if column not in INDEX_COLUMNS:
        plan.problems.append(
            (
                f"lacks the column {column} declared in meta/info.json",
                "restore the file, or remove that feature from meta/info.json",
            )
        )
    elif column == "task_index":
        task = derived_task(src, ep)
        if task is None:
            plan.problems.append(
                (
                    f"lacks the task_index column and episode {ep.index} lists {len(ep.tasks)} task(s) in "
                    "meta/episodes.jsonl, so the task of each frame is unknown",
                    "add a task_index column (the index of each frame's task in meta/tasks.jsonl)",
                )
            )
        else:
            plan.derive[column] = task
            plan.notes.append(
                "task_index is absent from the data files: each episode's task from meta/episodes.jsonl "
                "(or the dataset's only task) is written"
            )
    else:
        plan.derive[column] = True
        how = {
            "timestamp": "frame_index / fps",
            "frame_index": "the row's position in its episode",
            "episode_index": "the episode of the file",
            "index": "the row's position in the dataset",
        }[column]
        plan.notes.append(f"{column} is absent from the data files: written as {how}")


def _check_width(src: SourceDataset, column: str, actual: pa.DataType, plan: ColumnPlan) -> None:
    width = declared_width(src, column)
    if pa.types.is_fixed_size_list(actual) and not is_list(actual.value_type) and actual.list_size != width:
        plan.problems.append(
            (
                f"holds {actual.list_size} value(s) per row in column {column}, but meta/info.json declares "
                f"shape {src.features[column].get('shape')}",
                f"correct the shape of {column} in meta/info.json, or restore the file",
            )
        )
    elif not is_list(actual) and width > 1:
        plan.problems.append(
            (
                f"holds one value per row in column {column}, but meta/info.json declares shape "
                f"{src.features[column].get('shape')}",
                f"correct the shape of {column} in meta/info.json, or restore the file",
            )
        )


def _check_type(column: str, declared: str, leaf: pa.DataType, plan: ColumnPlan) -> None:
    target = pa.from_numpy_dtype(np.dtype(declared))
    if leaf == target:
        return
    floating = pa.types.is_floating(target)
    convertible = (pa.types.is_floating(leaf) or pa.types.is_integer(leaf)) and floating
    convertible |= pa.types.is_integer(leaf) and pa.types.is_integer(target)
    if convertible:
        plan.casts[column] = target
        plan.notes.append(
            f"{column} is stored as {leaf} but meta/info.json declares {declared}: written as {declared}, "
            "as LeRobot loads it"
        )
        return
    plan.problems.append(
        (
            f"stores column {column} as {leaf}, but meta/info.json declares {declared}",
            f"correct the dtype of {column} in meta/info.json, or restore the file",
        )
    )


def ragged(column: pa.ChunkedArray | pa.Array, width: int) -> int | None:
    """The first row whose list column does not hold ``width`` values (None when every row does)."""
    import pyarrow.compute as pc

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not is_list(array.type) or is_list(array.type.value_type):
        return None
    if array.null_count:
        return int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != width)
    return int(bad[0]) if bad.size else None
