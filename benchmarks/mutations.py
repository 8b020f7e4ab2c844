"""Seeded mutation run: damage real datasets one way at a time and hold every entry point to two rules.

Each mutation (files deleted/truncated/garbled, parquet columns dropped/renamed/retyped, declared dtypes
and shapes, values NaN/Inf/huge/shifted, timestamps, rows, info.json fields, jsonl lines, path templates,
stats) is applied to a fresh copy of one dataset, then run through ``lerobot-local check`` (in-process
``run_check``), the converter's dry run and the real conversion (``run_conversion``'s converter, as
``lerobot-convert-local`` picks it). Counted:

* tracebacks: any exception escaping one of them (the rule: every input gets a sentence, never a traceback);
* misses: LeRobot's loader (``LeRobotDataset`` on the converted copy, or on the v3.0 input itself, a few
  items iterated) raises while the check reported no error or the conversion reported success.

    python benchmarks/mutations.py [DATASET ...] [--count=2000] [--seed=0] [--json=PATH]

Datasets default to the bundled sample and fixtures plus every complete subset under
$LEROBOT_LOCAL_REAL_DATA (default /work/realdata; ``READY_<name>`` marks one); a v3.0 conversion of the
sample is added so v3.0 inputs are damaged too.
Prints a table and writes ``benchmarks/results/mutations.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "mutations.json"
REALDATA = Path(os.environ.get("LEROBOT_LOCAL_REAL_DATA", "/work/realdata"))  # docs/real_data.md
BUNDLED = [REPO / "examples" / "sample_grasp_v21", REPO / "tests" / "fixtures" / "v21_video"]
STAGE_TIMEOUT_S = 300


# ----------------------------------------------------------------------------------------------- mutations
@dataclass
class Mutation:
    kind: str  # family/name, e.g. "values/nan"
    detail: str = ""


class Skip(Exception):
    """The mutation does not apply to this dataset (e.g. no video to truncate)."""


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file())


def _pick(rng: random.Random, items: list[Any]) -> Any:
    if not items:
        raise Skip("nothing to mutate")
    return rng.choice(items)


def _data_files(root: Path) -> list[Path]:
    return _files(root, "data/*/*.parquet")


def _video_files(root: Path) -> list[Path]:
    return _files(root, "videos/**/*.mp4")


def _meta_files(root: Path) -> list[Path]:
    return _files(root, "meta/**/*")


def _rel(root: Path, path: Path) -> str:
    return str(path.relative_to(root))


def m_delete(root: Path, rng: random.Random) -> str:
    path = _pick(rng, _data_files(root) + _video_files(root) + _meta_files(root))
    path.unlink()
    return _rel(root, path)


def m_truncate(root: Path, rng: random.Random) -> str:
    path = _pick(rng, _data_files(root) + _video_files(root) + _meta_files(root))
    data = path.read_bytes()
    keep = int(len(data) * rng.uniform(0.0, 0.95))
    path.write_bytes(data[:keep])
    return f"{_rel(root, path)} to {keep} of {len(data)} bytes"


def m_garble(root: Path, rng: random.Random) -> str:
    path = _pick(rng, _data_files(root) + _video_files(root) + _meta_files(root))
    data = bytearray(path.read_bytes())
    if not data:
        raise Skip("empty file")
    n = rng.choice([1, 8, 64, max(1, len(data) // 20)])
    for _ in range(n):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return f"{_rel(root, path)}: {n} byte(s)"


def _edit_parquet(root: Path, rng: random.Random, change: Callable[[pa.Table], tuple[pa.Table, str]]) -> str:
    path = _pick(rng, _data_files(root))
    table = pq.read_table(path)
    table, what = change(table)
    pq.write_table(table, path)
    return f"{_rel(root, path)}: {what}"


def m_drop_column(root: Path, rng: random.Random) -> str:
    def change(t: pa.Table) -> tuple[pa.Table, str]:
        name = rng.choice(t.column_names)
        return t.drop_columns([name]), f"drop {name}"

    return _edit_parquet(root, rng, change)


def m_rename_column(root: Path, rng: random.Random) -> str:
    def change(t: pa.Table) -> tuple[pa.Table, str]:
        name = rng.choice(t.column_names)
        return t.rename_columns([c + "_x" if c == name else c for c in t.column_names]), f"rename {name}"

    return _edit_parquet(root, rng, change)


RETYPES = {
    "float64": pa.float64(),
    "float16": pa.float16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "string": pa.string(),
    "bool": pa.bool_(),
}


def _retype(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    def leaf(t: pa.DataType) -> pa.DataType:
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return pa.list_(leaf(t.value_type))
        return target

    return column.cast(leaf(column.type), safe=False)


def m_retype_column(root: Path, rng: random.Random) -> str:
    def change(t: pa.Table) -> tuple[pa.Table, str]:
        name = rng.choice(t.column_names)
        kind = rng.choice(sorted(RETYPES))
        try:
            new = _retype(t[name], RETYPES[kind])
        except (pa.ArrowException, ValueError) as exc:
            raise Skip(f"{name} cannot be cast to {kind}") from exc
        return t.set_column(t.schema.get_field_index(name), name, new), f"{name} as {kind}"

    return _edit_parquet(root, rng, change)


def _numeric_columns(t: pa.Table) -> list[str]:
    out = []
    for f in t.schema:
        leaf = f.type
        while pa.types.is_list(leaf) or pa.types.is_fixed_size_list(leaf) or pa.types.is_large_list(leaf):
            leaf = leaf.value_type
        if pa.types.is_floating(leaf) and f.name not in ("timestamp",):
            out.append(f.name)
    return out


def _set_values(t: pa.Table, name: str, edit: Callable[[np.ndarray], np.ndarray]) -> pa.Table:
    column = t[name].combine_chunks()
    if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
        flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        values = edit(flat.reshape(len(column), -1)).reshape(-1)
        leaf = column.type.value_type
        new = pa.FixedSizeListArray.from_arrays(
            pa.array(values).cast(leaf, safe=False), len(values) // len(column)
        )
        if pa.types.is_list(column.type):
            new = new.cast(pa.list_(leaf))
    else:
        values = edit(column.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, 1)).reshape(-1)
        new = pa.array(values).cast(column.type, safe=False)
    return t.set_column(t.schema.get_field_index(name), name, new)


def _value_mutation(value: str) -> Callable[[Path, random.Random], str]:
    def apply(root: Path, rng: random.Random) -> str:
        def change(t: pa.Table) -> tuple[pa.Table, str]:
            names = _numeric_columns(t)
            if not names or t.num_rows < 2:
                raise Skip("no float column")
            name = rng.choice(names)
            row = rng.randrange(t.num_rows)
            span = rng.randint(1, max(1, t.num_rows - row))

            def edit(x: np.ndarray) -> np.ndarray:
                j = rng.randrange(x.shape[1])
                if value == "nan":
                    x[row, j] = np.nan
                elif value == "inf":
                    x[row, j] = rng.choice([np.inf, -np.inf])
                elif value == "huge":
                    x[row, j] = rng.choice([1e30, -1e30, 3e38])
                elif value == "shift":
                    x[row : row + span, j] += rng.choice([-1, 1]) * (np.abs(x[:, j]).max() + 1) * 5
                elif value == "constant":
                    x[:, j] = x[0, j]
                elif value == "frozen":
                    x[row : row + span] = x[row]
                return x

            return _set_values(t, name, edit), f"{value} in {name} row {row}"

        return _edit_parquet(root, rng, change)

    return apply


def m_timestamps(root: Path, rng: random.Random) -> str:
    def change(t: pa.Table) -> tuple[pa.Table, str]:
        if "timestamp" not in t.column_names or t.num_rows < 4:
            raise Skip("no timestamp")
        ts = t["timestamp"].to_numpy(zero_copy_only=False).astype(np.float64).copy()
        how = rng.choice(["gap", "backwards", "jitter", "offset", "scale"])
        row = rng.randrange(1, t.num_rows)
        if how == "gap":
            ts[row:] += rng.choice([0.1, 1.0, 5.0])
        elif how == "backwards":
            ts[row] = ts[row - 1] - 0.01
        elif how == "jitter":
            ts += np.random.default_rng(rng.randrange(2**31)).uniform(-0.01, 0.01, ts.size)
        elif how == "offset":
            ts += rng.uniform(0.03, 0.06)
        else:
            ts *= 2.0
        column = pa.array(ts).cast(t.schema.field("timestamp").type, safe=False)
        return t.set_column(t.schema.get_field_index("timestamp"), "timestamp", column), f"timestamps {how}"

    return _edit_parquet(root, rng, change)


def m_rows(root: Path, rng: random.Random) -> str:
    def change(t: pa.Table) -> tuple[pa.Table, str]:
        if t.num_rows < 4:
            raise Skip("too few rows")
        row = rng.randrange(t.num_rows - 2)
        n = rng.randint(1, min(10, t.num_rows - row - 1))
        if rng.random() < 0.5:
            keep = [i for i in range(t.num_rows) if not row <= i < row + n]
            return t.take(keep), f"drop rows {row}-{row + n - 1}"
        order = list(range(row + n)) + list(range(row, t.num_rows))
        return t.take(order), f"duplicate rows {row}-{row + n - 1}"

    return _edit_parquet(root, rng, change)


def _info(root: Path) -> dict[str, Any]:
    return json.loads((root / "meta" / "info.json").read_text())


def _write_info(root: Path, info: Any) -> None:
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2))


JUNK = [None, "x", -1, 0, 10**12, 1.5, [], {}, True, "30"]


def m_info_field(root: Path, rng: random.Random) -> str:
    info = _info(root)
    key = rng.choice(sorted(k for k in info if k != "features"))
    if rng.random() < 0.3:
        del info[key]
        what = f"delete {key}"
    else:
        value = rng.choice(JUNK)
        info[key] = value
        what = f"{key}={value!r}"
    _write_info(root, info)
    return what


def m_info_dtype(root: Path, rng: random.Random) -> str:
    info = _info(root)
    key = rng.choice(sorted(info["features"]))
    feature = info["features"][key]
    how = rng.choice(["dtype", "shape", "delete", "names"])
    if how == "dtype":
        feature["dtype"] = rng.choice(["float64", "float32", "int64", "string", "video", "image", "bogus"])
    elif how == "shape":
        feature["shape"] = rng.choice([[1], [3], [7], [], "6", [0], [2, 3]])
    elif how == "names":
        feature["names"] = rng.choice([None, [["a", "b"]], {"motors": ["a"]}, 5])
    else:
        del info["features"][key]
    _write_info(root, info)
    return f"feature {key}: {how} -> {feature.get(how) if how != 'delete' else ''}"


TEMPLATES = {
    "data_path": [
        "data/chunk-{chunk_index:03d}/episode_{episode_index:06d}.parquet",
        "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "data/chunk-{episode_chunk:03d}/episode.parquet",
        "data/{episode_index",
        "../data/{episode_index}.parquet",
    ],
    "video_path": [
        "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
        "videos/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.mp4",
        "videos/chunk-{chunk_index:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        None,
    ],
}


def m_template(root: Path, rng: random.Random) -> str:
    info = _info(root)
    key = rng.choice(sorted(TEMPLATES))
    info[key] = rng.choice(TEMPLATES[key])
    _write_info(root, info)
    return f"{key}={info[key]!r}"


def m_jsonl(root: Path, rng: random.Random) -> str:
    path = _pick(rng, _files(root, "meta/*.jsonl"))
    lines = path.read_text().splitlines()
    if not lines:
        raise Skip("empty")
    i = rng.randrange(len(lines))
    how = rng.choice(["delete", "garble", "duplicate", "field"])
    if how == "delete":
        del lines[i]
    elif how == "garble":
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)] + rng.choice(["{", "]", "\x00", "ü"])
    elif how == "duplicate":
        lines.insert(i, lines[i])
    else:
        row = json.loads(lines[i])
        key = rng.choice(sorted(row))
        row[key] = rng.choice(JUNK)
        lines[i] = json.dumps(row)
        how = f"field {key}={row[key]!r}"
    path.write_text("\n".join(lines) + "\n")
    return f"{_rel(root, path)} line {i + 1}: {how}"


def m_stats(root: Path, rng: random.Random) -> str:
    """Stats 10x off: a v2.1 episode's line of episodes_stats.jsonl, or a v3.0 meta/stats.json."""
    factor = rng.choice([10.0, 0.1, -1.0])
    jsonl = root / "meta" / "episodes_stats.jsonl"
    if jsonl.is_file():
        lines = jsonl.read_text().splitlines()
        i = rng.randrange(len(lines))
        row = json.loads(lines[i])
        key = rng.choice(sorted(k for k in row["stats"] if not k.startswith("observation.images")))
        for stat in ("mean", "min", "max"):
            row["stats"][key][stat] = (np.asarray(row["stats"][key][stat]) * factor).tolist()
        lines[i] = json.dumps(row)
        jsonl.write_text("\n".join(lines) + "\n")
        return f"episodes_stats line {i + 1}: {key} x{factor}"
    path = root / "meta" / "stats.json"
    if not path.is_file():
        raise Skip("no stats")
    stats = json.loads(path.read_text())
    key = rng.choice(sorted(k for k in stats if not k.startswith("observation.images")))
    stats[key]["mean"] = (np.asarray(stats[key]["mean"]) * factor).tolist()
    path.write_text(json.dumps(stats))
    return f"stats.json {key} mean x{factor}"


MUTATIONS: dict[str, Callable[[Path, random.Random], str]] = {
    "files/delete": m_delete,
    "files/truncate": m_truncate,
    "files/garble": m_garble,
    "columns/drop": m_drop_column,
    "columns/rename": m_rename_column,
    "columns/retype": m_retype_column,
    "dtypes/info_feature": m_info_dtype,
    "values/nan": _value_mutation("nan"),
    "values/inf": _value_mutation("inf"),
    "values/huge": _value_mutation("huge"),
    "values/shift": _value_mutation("shift"),
    "values/constant": _value_mutation("constant"),
    "values/frozen": _value_mutation("frozen"),
    "values/timestamps": m_timestamps,
    "values/rows": m_rows,
    "metadata/info_field": m_info_field,
    "metadata/jsonl_line": m_jsonl,
    "metadata/template": m_template,
    "metadata/stats": m_stats,
}


# ------------------------------------------------------------------------------------------------- stages
@dataclass
class Outcome:
    """One mutation's result in each stage: ok / refused / traceback (with the exception)."""

    dataset: str
    kind: str
    detail: str
    check: str = ""
    dry_run: str = ""
    convert: str = ""
    loader: str = ""  # LeRobot on the v3.0 input: ok / broken: ... / n/a (a v2.x input)
    output_loader: str = ""  # LeRobot on the converted copy: ok / broken: ... / n/a (nothing converted)
    miss: str = ""  # "check": check clean, input broken; "convert": converted, copy broken
    tracebacks: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: int):
    def expire(*_: Any) -> None:
        raise _Timeout(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _stage(outcome: Outcome, name: str, fn: Callable[[], str]) -> str:
    """Run one stage; an escaping exception is recorded as a traceback (the failure this run counts)."""
    try:
        with _deadline(STAGE_TIMEOUT_S), contextlib.redirect_stdout(io.StringIO()):
            return fn()
    except (Exception, SystemExit) as exc:  # every escaping exception is the finding
        outcome.tracebacks[name] = "".join(traceback.format_exception(exc))[-4000:]
        return "traceback"


def run_check(root: Path) -> str:
    from lerobot_local.dataset_check import parse_args
    from lerobot_local.dataset_check import run_check as check

    report = check(parse_args([str(root), "--deep_video_check=true"]))
    return "error" if any(r.severity == "error" for r in report.results) else "clean"


def run_convert(root: Path, out: Path, dry_run: bool) -> str:
    from lerobot_local.convert.errors import ConversionError
    from lerobot_local.convert.registry import converter_for_version
    from lerobot_local.convert.run import ConvertJob, UsageError
    from lerobot_local.convert.source import detect_version
    from lerobot_local.convert.writer import WriteOptions

    try:
        version = detect_version(root)
        found = converter_for_version(version)
        if found is None:
            return "refused"
        job = ConvertJob(input=root, output=out, dry_run=dry_run, write=WriteOptions(progress=False))
        if version == "v3.0":
            job.write.recompute_stats = True
        found[1]().convert(job)
    except (ConversionError, UsageError):
        return "refused"
    return "ok"


def try_loader(root: Path, rng: random.Random, items: int = 4) -> str:
    """Load with the installed LeRobot and read the first, last and a few random items."""
    from lerobot_local import compat

    try:
        with _deadline(STAGE_TIMEOUT_S):
            ds = compat.load_lerobot_dataset(root, video_backend="pyav")
            n = len(ds)
            for i in sorted({0, n - 1, *(rng.randrange(n) for _ in range(items))}):
                ds[i]
    except (Exception, SystemExit) as exc:  # whatever LeRobot raises means "broken"
        return f"broken: {type(exc).__name__}: {str(exc)[:200]}"
    return "ok"


def version_of(root: Path) -> str | None:
    try:
        return json.loads((root / "meta" / "info.json").read_text()).get("codebase_version")
    except (OSError, ValueError, AttributeError):
        return None


def run_one(
    source: Path, work: Path, kind: str, rng: random.Random, stages: tuple[str, ...]
) -> Outcome | None:
    """Apply one mutation of ``kind`` to a fresh copy of ``source`` and run every stage on it."""
    started = time.perf_counter()
    target = work / "input"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, target)
    v30_input = version_of(target) == "v3.0"
    try:
        detail = MUTATIONS[kind](target, rng)
    except Skip:
        return None
    outcome = Outcome(dataset=source.name, kind=kind, detail=detail)
    if "check" in stages:
        outcome.check = _stage(outcome, "check", lambda: run_check(target))
    if "dry_run" in stages:
        outcome.dry_run = _stage(outcome, "dry_run", lambda: run_convert(target, work / "dry", True))
    if "convert" in stages:
        outcome.convert = _stage(outcome, "convert", lambda: run_convert(target, work / "out", False))
    outcome.loader = try_loader(target, rng) if v30_input else "n/a"
    outcome.output_loader = try_loader(work / "out", rng) if outcome.convert == "ok" else "n/a"
    if outcome.output_loader.startswith("broken"):
        outcome.miss = "convert"
    elif outcome.loader.startswith("broken") and outcome.check == "clean":
        outcome.miss = "check"
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def default_datasets(tmp: Path) -> list[Path]:
    """The bundled sample and fixture, every complete real subset, and a v3.0 conversion of the sample."""
    found = [p for p in BUNDLED if p.is_dir()]
    if REALDATA.is_dir():
        catalogue = REALDATA / "CATALOG.md"
        text = catalogue.read_text() if catalogue.is_file() else ""
        holdout = set(re.findall(r"HOLDOUT: `([^`]+)`", text))  # kept for a new user's first look
        found += sorted(
            p
            for p in REALDATA.iterdir()
            if p.is_dir() and (REALDATA / f"READY_{p.name}").exists() and p.name not in holdout
        )
    return [*found, v30_of(BUNDLED[0], tmp)]


def v30_of(source: Path, tmp: Path) -> Path:
    from lerobot_local.convert.run import ConvertJob, run_conversion
    from lerobot_local.convert.writer import WriteOptions

    out = tmp / f"{source.name}_v30"
    if not out.exists():
        run_conversion(
            ConvertJob(input=source, output=out, verify="none", write=WriteOptions(progress=False)), "t"
        )
    return out


def datasets_from(paths: list[str]) -> list[Path]:
    """Dataset folders (holding meta/info.json) given directly or found one level below a folder."""
    out: list[Path] = []
    for path in map(Path, paths):
        if (path / "meta" / "info.json").is_file():
            out.append(path)
        else:
            out += sorted(p for p in path.glob("*/") if (p / "meta" / "info.json").is_file())
    return out


def run(
    datasets: list[Path],
    count: int,
    seed: int,
    stages: tuple[str, ...] = ("check", "dry_run", "convert"),
    progress: bool = False,
    checkpoint: Callable[[list[Outcome]], None] | None = None,
) -> list[Outcome]:
    """``count`` mutations over ``datasets`` and mutation kinds (seeded), each run through ``stages``."""
    rng = random.Random(seed)
    kinds = sorted(MUTATIONS)
    outcomes: list[Outcome] = []
    attempts = 0
    with tempfile.TemporaryDirectory(prefix="lerobot-local-mutations-") as tmp:
        while len(outcomes) < count and attempts < count * 5:
            attempts += 1
            source = datasets[attempts % len(datasets)]
            kind = (
                kinds[(attempts // len(datasets)) % len(kinds)] if rng.random() < 0.5 else rng.choice(kinds)
            )
            outcome = run_one(source, Path(tmp) / "m", kind, random.Random(rng.randrange(2**63)), stages)
            if outcome is None:
                continue
            outcomes.append(outcome)
            if checkpoint is not None and len(outcomes) % 50 == 0:
                checkpoint(outcomes)  # a long run leaves its tally behind as it goes
            if progress and len(outcomes) % 25 == 0:
                failures = sum(bool(o.tracebacks) for o in outcomes)
                misses = sum(bool(o.miss) for o in outcomes)
                print(f"  {len(outcomes)}/{count}: {failures} with tracebacks, {misses} misses", flush=True)
    return outcomes


def tally(outcomes: list[Outcome]) -> dict[str, Any]:
    stages = ("check", "dry_run", "convert")
    per_stage = {s: dict(Counter(getattr(o, s) for o in outcomes if getattr(o, s))) for s in stages}
    per_kind: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = per_kind.setdefault(o.kind, Counter())
        row["runs"] += 1
        row["tracebacks"] += bool(o.tracebacks)
        row["misses"] += bool(o.miss)
        row["refused"] += o.convert == "refused"
        row["check_error"] += o.check == "error"
        row["loader_broken"] += o.loader.startswith("broken") or o.output_loader.startswith("broken")
    return {
        "mutations": len(outcomes),
        "datasets": sorted({o.dataset for o in outcomes}),
        "tracebacks": sum(len(o.tracebacks) for o in outcomes),
        "mutations_with_tracebacks": sum(bool(o.tracebacks) for o in outcomes),
        "misses": sum(bool(o.miss) for o in outcomes),
        "misses_by_stage": dict(Counter(o.miss for o in outcomes if o.miss)),
        "per_stage": per_stage,
        # the dry run promised a conversion the real run then refused (its verify through LeRobot)
        "dry_run_ok_convert_refused": [
            f"{o.dataset} {o.kind} {o.detail}"
            for o in outcomes
            if o.dry_run == "ok" and o.convert == "refused"
        ],
        "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
    }


def print_table(summary: dict[str, Any]) -> None:
    print(f"{summary['mutations']} mutations over {', '.join(summary['datasets'])}")
    print(
        f"tracebacks: {summary['tracebacks']}, loader-breaking mutations passed as clean: "
        f"{summary['misses']} (by stage: {summary['misses_by_stage']})"
    )
    cols = f"{'runs':>5} {'check err':>9} {'refused':>8} {'loader broken':>13} {'tb':>4} {'miss':>5}"
    header = f"{'kind':<22} {cols}"
    print(header)
    print("-" * len(header))
    for kind, row in summary["per_kind"].items():
        print(
            f"{kind:<22} {row['runs']:>5} {row['check_error']:>9} {row['refused']:>8} "
            f"{row['loader_broken']:>13} {row['tracebacks']:>4} {row['misses']:>5}"
        )
    for stage, counts in summary["per_stage"].items():
        print(f"{stage}: {dict(sorted(counts.items()))}")
    print(f"dry run ok but conversion refused: {len(summary['dry_run_ok_convert_refused'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="*", help="dataset folders (or folders of them)")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the stages log every refusal; the table says what counts
    warnings.filterwarnings("ignore")  # torchvision's deprecation notice on every LeRobot load
    import av

    av.logging.set_level(av.logging.PANIC)  # FFmpeg's own lines for each damaged mp4
    from lerobot_local import compat

    compat.force_offline()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lerobot-local-mutation-sets-") as tmp:
        datasets = datasets_from(args.datasets) if args.datasets else default_datasets(Path(tmp))
        if args.datasets:
            datasets.append(v30_of(datasets[0], Path(tmp))) if version_of(datasets[0]) != "v3.0" else None
        command = "python benchmarks/mutations.py " + " ".join(sys.argv[1:] if argv is None else argv)

        def save(outcomes: list[Outcome], done: bool = False) -> dict[str, Any]:
            summary = tally(outcomes)
            summary.update(
                {
                    "seed": args.seed,
                    "command": command,
                    "complete": done,
                    "seconds": round(time.perf_counter() - started, 1),
                    "failures": [asdict(o) for o in outcomes if o.tracebacks or o.miss],
                }
            )
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2))
            return summary

        outcomes = run(datasets, args.count, args.seed, progress=True, checkpoint=save)
    summary = save(outcomes, done=True)
    print_table(summary)
    print(f"written {args.json} ({summary['seconds']} s)")
    return 1 if summary["tracebacks"] or summary["misses"] else 0


if __name__ == "__main__":
    sys.exit(main())
