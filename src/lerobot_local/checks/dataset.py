"""Check: the dataset folder is complete and readable (v3.0, or a v2.x source before conversion), and a run's
``dataset.root`` is a local v3.0 dataset (else LeRobot tries the Hub)."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from lerobot_local.convert.errors import ConversionProblems, Problem
from lerobot_local.convert.scan import CLOCK, drop_flag, scan_source
from lerobot_local.dataset import (
    DATA_GLOB,
    EPISODES_DIR,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    V2X,
    V30,
    LocalDataset,
    data_file,
    data_files,
    episodes_table,
    info_problems,
    read_stats_json,
    video_file,
)
from lerobot_local.facts import DatasetFacts, RunFacts
from lerobot_local.hookspecs import hookimpl
from lerobot_local.paths import inside
from lerobot_local.results import CheckResult
from lerobot_local.settings import LocalSettings

NAME = "dataset"
MAX_SHOWN = 3
TIMESTAMP_GROUPS = (CLOCK,)
TIMESTAMP_TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s
STATS_FLAG = "--stats=recompute"
# info.json's totals against the data: every v3.0 copy (convert.restats, convert.v30_copy) rewrites them
TOTALS_ROW = f"{NAME}:totals"


def convert_command(root: Path, exclude: list[int] | None = None, flags: list[str] | None = None) -> str:
    """The ``lerobot-convert-local`` command that converts the v2.x folder ``root`` beside itself (leaving
    ``exclude`` out, with the ``flags`` that fix the rest)."""
    out = root.with_name(root.name + "_v30")
    flag = f" --exclude_episodes=[{','.join(str(e) for e in exclude)}]" if exclude else ""
    flag += "".join(f" {f}" for f in flags or [])
    return f"lerobot-convert-local --input={shlex.quote(str(root))} --output={shlex.quote(str(out))}{flag}"


def copy_command(root: Path, flags: list[str]) -> str:
    """The ``lerobot-convert-local`` command that writes a corrected v3.0 copy of the v3.0 folder ``root``
    beside it (``<name>_salvaged``) with ``flags`` (``--drop_features=...``, ``--stats=recompute``)."""
    out = root.with_name(root.name + "_salvaged")
    flag = "".join(f" {f}" for f in flags)
    return f"lerobot-convert-local --input={shlex.quote(str(root))} --output={shlex.quote(str(out))}{flag}"


def check_v30(root: Path, info: dict[str, Any]) -> list[CheckResult]:
    """A v3.0 folder: info.json usable, meta/episodes readable, every file it points at present and
    loadable, the data rows as meta/episodes says."""
    info_path = root / INFO_PATH
    problems = info_problems(info)
    if problems:
        return [
            CheckResult(
                NAME,
                "error",
                f"{info_path} " + "; ".join(problems) + ".",
                "restore meta/info.json written by the converter (or re-run lerobot-convert-local)",
            )
        ]
    try:
        episodes = episodes_table(root)
    except Exception as exc:  # pyarrow raises several types for a damaged parquet file
        return [
            CheckResult(
                NAME,
                "error",
                f"{root / EPISODES_DIR} is unreadable ({type(exc).__name__}: {exc}).",
                "re-run the conversion into a new folder",
            )
        ]
    if episodes is None:
        return [_incomplete(root, [root / EPISODES_DIR], [])]
    rows = episodes.to_pylist()
    try:
        files = _referenced_files(info, rows)
    except (KeyError, TypeError, ValueError) as exc:
        return [
            CheckResult(
                NAME,
                "error",
                f"{root / EPISODES_DIR} lacks or garbles a file location ({type(exc).__name__}: {exc}).",
                "re-run lerobot-convert-local into a new folder",
            )
        ]
    outside = [rel for rel in sorted(files) if inside(root, rel) is None]
    if outside:
        return [
            CheckResult(
                NAME,
                "error",
                f"{root / outside[0]} leads outside the dataset folder"
                + (f" (and {len(outside) - 1} more)." if len(outside) > 1 else "."),
                "keep every data and video file inside dataset.root (replace links by the real files)",
            )
        ]
    # independent problems, each its own row, all listed at once
    results: list[CheckResult] = []
    missing = [rel for rel in sorted(files) if not (root / rel).is_file()]
    affected = sorted({int(r["episode_index"]) for r in rows if files_of(info, r) & set(missing)})
    missing_paths = [root / rel for rel in missing]
    if not (root / TASKS_PATH).is_file():
        missing_paths.insert(0, root / TASKS_PATH)
    if missing_paths:
        results.append(
            _incomplete(root, missing_paths, affected, _missing_details(root, info, rows, missing))
        )
    unreadable, counts = _read_data_files(root, info)
    broken = {rel for rel, _ in unreadable}
    episodes = sorted({int(r["episode_index"]) for r in rows if data_file(info, r) in broken})
    if unreadable:
        shown = "; ".join(f"{root / rel} {why}" for rel, why in unreadable[:MAX_SHOWN])
        results.append(
            CheckResult(
                f"{NAME}:data_files",
                "error",
                f"{len(unreadable)} data file(s) cannot be loaded: {shown} (episodes {episodes}).",
                "restore the files from a backup, or re-run lerobot-convert-local into a new folder",
                episodes=tuple(episodes),
            )
        )
    if (root / TASKS_PATH).is_file():
        results += _meta_file_problems(root)
    named = set(affected) | set(episodes)  # already reported: a missing or unloadable file
    mismatched = {
        e: why for e, why in _rows_against_episodes(root, info, rows, counts).items() if e not in named
    }
    if mismatched:
        episodes = sorted(mismatched)
        shown = "; ".join(mismatched[e] for e in episodes[:MAX_SHOWN])
        more = f" (and {len(episodes) - MAX_SHOWN} more)" if len(episodes) > MAX_SHOWN else ""
        results.append(
            CheckResult(
                f"{NAME}:rows",
                "error",
                f"{len(episodes)} episode(s) of {root / DATA_GLOB} disagree with {root / EPISODES_DIR}: "
                f"{shown}{more}; LeRobot's loader fails on such frames.",
                "re-run lerobot-convert-local from the source into a new folder, or leave those episodes out",
                episodes=tuple(episodes),
            )
        )
    if not mismatched and not unreadable:
        results += _totals_problem(info_path, info, rows)
    return results or [
        CheckResult(
            NAME,
            "ok",
            f"{root}: complete v3.0 dataset, {info.get('total_episodes')} episodes, "
            f"{info.get('total_frames')} frames.",
        )
    ]


def _totals_problem(info_path: Path, info: dict[str, Any], rows: list[dict[str, Any]]) -> list[CheckResult]:
    """info.json's total_episodes/total_frames against meta/episodes (whose lengths the data rows were found
    to match): LeRobot 0.4 sizes the dataset by info.json's total_frames and samples frames that do not exist
    ('Invalid key ... out of bounds'); every line reports them as the dataset's size."""
    episodes = len(rows)
    frames = sum(int(r.get("length") or 0) for r in rows)
    said = {"total_episodes": info.get("total_episodes"), "total_frames": info.get("total_frames")}
    held = {"total_episodes": episodes, "total_frames": frames}
    wrong = [key for key in said if said[key] != held[key]]
    if not wrong:
        return []
    claims = " and ".join(f"{key} {said[key]}" for key in wrong)
    values = ", ".join(f'"{key}": {held[key]}' for key in wrong)
    message = (
        f"{info_path} says {claims}, but meta/episodes and the data files hold {episodes} episodes of "
        f"{frames} frames; LeRobot sizes the dataset by info.json and fails on frames that do not exist "
        "(IndexError 'Invalid key ... is out of bounds' on the 0.4 line)."
    )
    finding = {"severity": "error", "message": message, "file": str(info_path), "episode": None}
    return [
        CheckResult(
            TOTALS_ROW,
            "error",
            message,
            f"set {values} in {info_path} (what meta/episodes and the data files hold)",
            details=(finding,),
        )
    ]


def _rows_against_episodes(
    root: Path, info: dict[str, Any], rows: list[dict[str, Any]], counts: dict[int, int]
) -> dict[int, str]:
    """Episodes whose data rows (``counts``: rows per episode) disagree with meta/episodes: another row count
    than its length, or more rows than the frames of the video part it owns. Episode -> one sentence. (Gaps
    in the timestamps are the fps check's.)"""
    fps = float(info["fps"])
    video_keys = [k for k, f in info["features"].items() if f.get("dtype") == "video"]
    sharing: dict[str, int] = {}
    for row in rows:
        for key in video_keys:
            rel = video_file(info, key, row)
            sharing[rel] = sharing.get(rel, 0) + 1
    bad: dict[int, str] = {}
    for row in rows:
        e, length = int(row["episode_index"]), row.get("length")
        have = counts.get(e, 0)
        if isinstance(length, int) and have != length:
            bad[e] = f"episode {e} has {have} data rows but meta/episodes says length {length}"
            continue
        for key in video_keys:
            start, end = row.get(f"videos/{key}/from_timestamp"), row.get(f"videos/{key}/to_timestamp")
            if isinstance(start, float) and isinstance(end, float) and have > round((end - start) * fps):
                frames = round((end - start) * fps)
                rel = video_file(info, key, row)
                if have == frames + 1 and sharing[rel] == 1 and _holds_frame_at(root / rel, end, fps):
                    continue  # to_timestamp is its last frame's time (some recorders); that frame is there
                bad[e] = f"episode {e} has {have} data rows but its {key} video part holds {frames} frames"
                break
    return bad


def _holds_frame_at(path: Path, when: float, fps: float) -> bool:
    """Whether the video file (its stream's duration in the header) lasts past a frame at ``when`` s: a
    recorder that writes ``to_timestamp`` as an episode's last frame time, in a file of its own, is read
    by LeRobot to that frame; a file one frame short is not."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if not stream.duration:
                return False
            duration = float(stream.duration * stream.time_base)
    except Exception:  # PyAV raises several types for a damaged or missing file (the video check names it)
        return False
    return duration + TIMESTAMP_TOLERANCE_S >= when + 1.0 / fps


def _read_data_files(root: Path, info: dict[str, Any]) -> tuple[list[tuple[str, str]], dict[int, int]]:
    """Read every data file once, whole (a damaged page is found only by reading it): (path, why) of each
    file LeRobot could not load (it does not read, or its columns are not the ones meta/info.json declares),
    and the rows each episode has in the readable files."""
    declared = [k for k, f in info["features"].items() if f.get("dtype") != "video"]
    broken: list[tuple[str, str]] = []
    counts: dict[int, int] = {}
    for path in data_files(root):
        rel = str(path.relative_to(root))
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            broken.append((rel, f"does not read ({type(exc).__name__})"))
            continue
        why = _columns_problem(info, declared, table.schema)
        if why:
            broken.append((rel, why))
        if "episode_index" in table.column_names:
            ids = table["episode_index"].to_numpy()
            for e, n in zip(*np.unique(ids, return_counts=True), strict=True):
                counts[int(e)] = counts.get(int(e), 0) + int(n)
    return broken, counts


def _columns_problem(info: dict[str, Any], declared: list[str], schema: Any) -> str | None:
    """Why LeRobot cannot cast a data file of this schema to the declared features (None when it can)."""
    columns = schema.names
    widths = {
        k: f"{got} value(s) per row where info.json says shape {info['features'][k]['shape']}"
        for k in declared
        if k in columns
        and (got := _stored_shape(schema.field(k).type)) is not None
        and [got] != list(info["features"][k]["shape"])
    }
    if widths:
        return "holds " + "; ".join(f"{k} with {why}" for k, why in widths.items())
    lacking = [k for k in declared if k not in columns]
    if lacking:
        return f"lacks the column(s) {lacking} that meta/info.json declares"
    undeclared = [c for c in columns if c not in declared]  # LeRobot casts the file to the features
    if undeclared:
        return f"holds the column(s) {undeclared} that meta/info.json does not declare"
    return None


def _stored_shape(arrow_type: Any) -> int | None:
    """How many values a row of a column holds, as LeRobot reads a 1-D feature: a fixed-size list's size, 1
    for a plain number; None for what is not such a column (images, variable-length lists)."""
    if pa.types.is_fixed_size_list(arrow_type):
        return int(arrow_type.list_size) if not pa.types.is_nested(arrow_type.value_type) else None
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type):
        return 1
    return None


def _meta_file_problems(root: Path) -> list[CheckResult]:
    """meta/tasks.parquet and meta/stats.json, which LeRobot reads whole when it opens the dataset."""
    try:
        pq.read_table(root / TASKS_PATH)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        return [
            CheckResult(
                f"{NAME}:meta",
                "error",
                f"{root / TASKS_PATH} cannot be read ({type(exc).__name__}), so LeRobot cannot open the "
                "dataset.",
                "restore it from a backup, or re-run lerobot-convert-local into a new folder",
            )
        ]
    if (root / STATS_PATH).is_file() and read_stats_json(root) is None:
        return [
            CheckResult(
                f"{NAME}:meta",
                "error",
                f"{root / STATS_PATH} is not readable JSON, so LeRobot cannot open the dataset.",
                f"write a corrected copy: lerobot-convert-local --input={shlex.quote(str(root))} "
                f"--output={shlex.quote(str(root))}_restats --stats=recompute",
                # the converter flag that fixes it (convert.restats lets it through, check adds it)
                details=({"file": str(root / STATS_PATH), "flag": STATS_FLAG},),
            )
        ]
    return []


def _unchecked_cameras(results: list[CheckResult]) -> set[str] | None:
    """The cameras the video check leaves alone: those whose files the structure rows say are missing (it
    would only repeat it); None when a structure row says more than which files are missing (skip it)."""
    cameras: set[str] = set()
    for row in results:
        if row.name != NAME or row.severity != "error":
            continue
        if not row.details:
            return None
        cameras |= {d["camera"] for d in row.details if d.get("camera")}
    return cameras


def camera_fix(fix: str, cameras: list[str]) -> str:
    """A row's fix, plus leaving out the cameras whose files are at fault (``lerobot-local check`` prints the
    whole command: dataset_check.drop_command)."""
    if not cameras:
        return fix
    return f"{fix}; or leave {', '.join(cameras)} out with lerobot-convert-local {drop_flag(cameras)}"


def _incomplete(
    root: Path, missing: list[Path], episodes: list[int], details: tuple[dict[str, Any], ...] = ()
) -> CheckResult:
    shown = ", ".join(str(p) for p in missing[:MAX_SHOWN]) + (
        f" and {len(missing) - MAX_SHOWN} more" if len(missing) > MAX_SHOWN else ""
    )
    where = f" (episodes {episodes})" if episodes else ""
    cameras = list(dict.fromkeys(d["camera"] for d in details if d["camera"]))
    moved = _misplaced(root, missing)
    found, fix = "", "restore the files, or re-run lerobot-convert-local into a new folder"
    if moved is not None:
        folder, expected, count = moved
        found = (
            f" {count} of them {'is' if count == 1 else 'are'} under {root / folder}/, a folder named "
            f"'{folder}' where meta/info.json's "
            f"paths say '{expected}'."
        )
        fix = f"rename the folder (mv {root / folder} {root / expected}), then run lerobot-local check again"
    return CheckResult(
        NAME,
        "error",
        f"{root} is an incomplete v3.0 dataset: missing {shown}{where}.{found}",
        camera_fix(fix, cameras),
        episodes=tuple(episodes),
        details=details,
    )


def _misplaced(root: Path, missing: list[Path]) -> tuple[str, str, int] | None:
    """(folder, the folder meta/info.json names, how many) when missing files sit at the same path under
    another top folder of the dataset (a recorder that wrote ``video/`` for ``videos/``)."""
    moved: dict[tuple[str, str], int] = {}
    for path in missing:
        parts = path.relative_to(root).parts if path.is_relative_to(root) else ()
        if len(parts) < 2:
            continue
        for folder in (p for p in root.iterdir() if p.is_dir() and p.name != parts[0]):
            if (folder / Path(*parts[1:])).is_file():
                key = (folder.name, parts[0])
                moved[key] = moved.get(key, 0) + 1
                break
    if not moved:
        return None
    (folder, expected), count = max(moved.items(), key=lambda item: item[1])
    return folder, expected, count


def files_of(info: dict[str, Any], row: dict[str, Any]) -> set[str]:
    """Dataset-relative paths of the data and video files of one meta/episodes row."""
    video_keys = [k for k, f in info["features"].items() if f.get("dtype") == "video"]
    return {data_file(info, row), *(video_file(info, key, row) for key in video_keys)}


def _missing_details(
    root: Path, info: dict[str, Any], rows: list[dict[str, Any]], missing: list[str]
) -> tuple[dict[str, Any], ...]:
    """Whose each missing file is (a camera's video, or None), with its episodes, when a camera's video is
    among them (else none: no --drop_features would help)."""
    video_keys = [k for k, f in info["features"].items() if f.get("dtype") == "video"]
    owners: dict[str, tuple[str | None, list[int]]] = {}
    for row in rows:
        episode = int(row["episode_index"])
        owners.setdefault(data_file(info, row), (None, []))[1].append(episode)
        for key in video_keys:
            owners.setdefault(video_file(info, key, row), (key, []))[1].append(episode)
    if not any(owners.get(rel, (None,))[0] for rel in missing):
        return ()
    details = [{"file": str(root / TASKS_PATH), "episodes": [], "camera": None}]
    details = details if not (root / TASKS_PATH).is_file() else []
    return (
        *details,
        *({"file": str(root / rel), "episodes": owners[rel][1], "camera": owners[rel][0]} for rel in missing),
    )


def _referenced_files(info: dict[str, Any], episodes: list[dict[str, Any]]) -> set[str]:
    """Dataset-relative paths of every data and video file that meta/episodes points at."""
    wanted: set[str] = set()
    for ep in episodes:
        wanted |= files_of(info, ep)
    return wanted


def check_v2x(dataset: DatasetFacts, deep: bool) -> list[CheckResult]:
    """A v2.x source: its metadata reads, and every episode's files are as meta/ declares (all problems)."""
    src = dataset.source
    if src is None:
        error = dataset.source_error
        if isinstance(error, ConversionProblems):
            return _problem_rows(dataset.root, error.problems)
        message = str(error) if error is not None else f"{dataset.root} cannot be read"
        return [CheckResult(NAME, "error", message.rstrip(".") + ".", getattr(error, "fix", ""))]
    # the metadata's problems that leave the episode list usable, then the episodes' files; timestamps are
    # the fps check's to report (the converter's scan names them too, for the conversion)
    warnings: list[Problem] = []
    problems = [p for p in scan_source(src, deep=deep, warnings=warnings) if p.group not in TIMESTAMP_GROUPS]
    rows = _problem_rows(dataset.root, problems) if problems else []
    rows += (
        [replace(row, severity="warning") for row in _problem_rows(dataset.root, warnings)]
        if warnings
        else []
    )
    if rows:
        return rows
    streams = " and every video stream as declared" if deep and src.video_keys else ""
    return [
        CheckResult(
            NAME,
            "ok",
            f"{dataset.root}: {src.version}, {len(src.episodes)} episodes, {src.total_frames} frames, "
            f"every file present{streams}.",
        )
    ]


def _problem_rows(root: Path, problems: list[Problem]) -> list[CheckResult]:
    """One error row per group of problems (every problem counted, the first few shown)."""
    grouped = ConversionProblems(root, problems)
    results = []
    for group, members in grouped.groups().items():
        shown = "; ".join(str(m.error) for m in members[:MAX_SHOWN])
        more = f" (and {len(members) - MAX_SHOWN} more)" if len(members) > MAX_SHOWN else ""
        episodes = sorted({e for m in members for e in m.all_episodes})
        cameras = list(dict.fromkeys(m.camera for m in members if m.camera))
        fix = members[0].error.fix
        if cameras:  # `lerobot-local check` prints the whole command (dataset_check.drop_command)
            without = ", ".join(cameras)
            fix += f"; or convert without {without} with lerobot-convert-local {drop_flag(cameras)}"
        results.append(
            CheckResult(
                f"{NAME}:{group.replace(' ', '_')}",
                "error",
                f"{len(members)} problem(s): {shown}{more}",
                fix,
                episodes=tuple(episodes),
                # which problem is a camera's: the episodes that --drop_features does not save
                details=tuple(
                    {"file": m.error.path, "episodes": list(m.all_episodes), "camera": m.camera}
                    for m in members
                )
                if cameras
                else (),
            )
        )
    return results


def video_problems(ds: LocalDataset, skip: set[str] | None = None) -> list[tuple[Path, list[int], str, str]]:
    """(file, episodes it holds, what is wrong, camera) for each video file that cannot serve its episodes:
    it does not open, its stream runs at another rate than fps, or it ends before some of its episodes
    (the cameras ``skip`` names are not looked at)."""
    keys = [k for k in ds.video_keys if k not in (skip or set())]
    if not keys:
        return []
    fields = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
    columns = ["episode_index", *(f"videos/{k}/{c}" for k in keys for c in fields)]
    table = episodes_table(ds.root, columns=columns)
    spans: dict[Path, list[tuple[int, float]]] = {}
    camera: dict[Path, str] = {}
    for row in table.to_pylist() if table is not None else []:
        for key in keys:
            path = ds.root / video_file(ds.info, key, row)
            camera[path] = key
            spans.setdefault(path, []).append(
                (int(row["episode_index"]), float(row[f"videos/{key}/to_timestamp"]))
            )
    fps = float(ds.fps)
    problems = []
    bar = tqdm(sorted(spans.items()), desc="dataset: video streams", unit="file", leave=False, disable=None)
    for path, episodes in bar:
        held = sorted(e for e, _ in episodes)
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                rate = float(stream.average_rate or stream.guessed_rate or 0)
                duration = float(stream.duration * stream.time_base) if stream.duration else None
                tail = _last_frame_readable(container, stream, fps) if duration is not None else True
        except Exception as exc:  # PyAV raises several types for a damaged or missing file
            problems.append((path, held, f"cannot be opened ({type(exc).__name__}: {exc})", camera[path]))
            continue
        if rate and abs(rate - fps) > 0.01 * fps:
            problems.append(
                (path, held, f"runs at {rate:.3f} fps but meta/info.json says {ds.fps}", camera[path])
            )
        elif duration is not None:
            short = sorted(e for e, end in episodes if duration + 1.0 / fps < end - TIMESTAMP_TOLERANCE_S)
            if short:
                last = max(end for _, end in episodes)
                why = f"lasts {duration:.3f} s but its episodes reach {last:.3f} s (truncated)"
                problems.append((path, short, why, camera[path]))
            elif not tail:
                why = f"is cut short: its header says {duration:.3f} s but its last frame cannot be read"
                problems.append((path, held, why, camera[path]))
    return problems


def _last_frame_readable(container: Any, stream: Any, fps: float) -> bool:
    """Whether the packet of the stream's last frame can be read: a file cut short keeps its header (and
    its duration) but loses its last packets. One seek and one packet, not the whole file."""
    last = int(stream.duration - 1 / (float(stream.time_base) * fps)) + int(stream.start_time or 0)
    try:
        container.seek(max(last, 0), stream=stream, backward=True, any_frame=True)
        return any(packet.pts is not None and packet.size for packet in container.demux(stream))
    except (av.error.FFmpegError, OSError, ValueError):
        return False


def check_v30_videos(ds: LocalDataset, skip: set[str] | None = None) -> list[CheckResult]:
    """One ``dataset:videos`` row: every video file that cannot serve its episodes, with those episodes and
    its camera (``skip``: cameras whose files are missing, already said)."""
    problems = video_problems(ds, skip)
    if not problems:
        return []
    episodes = sorted({e for _, held, _, _ in problems for e in held})
    shown = "; ".join(f"{path} {why} (episodes {held})" for path, held, why, _ in problems[:MAX_SHOWN])
    more = f" (and {len(problems) - MAX_SHOWN} more)" if len(problems) > MAX_SHOWN else ""
    return [
        CheckResult(
            f"{NAME}:videos",
            "error",
            f"{len(problems)} video file(s) cannot serve their episodes: {shown}{more}.",
            camera_fix(
                "restore or re-encode the video files from the recording, or leave those episodes out",
                list(dict.fromkeys(camera for *_, camera in problems)),
            ),
            episodes=tuple(episodes),
            details=tuple(
                {"file": str(path), "episodes": held, "camera": camera} for path, held, _, camera in problems
            ),
        )
    ]


@hookimpl(tryfirst=True)
def lerobot_local_check_dataset(dataset: DatasetFacts, settings: LocalSettings) -> list[CheckResult]:
    root, info, version = dataset.root, dataset.info, dataset.version
    if info is None:
        return [
            CheckResult(
                NAME,
                "error",
                f"{dataset.info_error or root / INFO_PATH}.",
                "point at a LeRobot dataset folder (it holds meta/info.json)",
            )
        ]
    if version == V30:
        structure = check_v30(root, info)
        unchecked = _unchecked_cameras(structure)
        if dataset.local is not None and settings.deep_video_check and unchecked is not None:
            return [*structure, *check_v30_videos(dataset.local, unchecked)]
        return structure
    if version in V2X:
        return check_v2x(dataset, settings.deep_video_check)
    return [
        CheckResult(
            NAME,
            "error",
            f"{root / INFO_PATH} has codebase_version={version!r}, which is not a LeRobot v2.0, v2.1 or v3.0 "
            "dataset.",
            "convert or re-record the dataset",
        )
    ]


@hookimpl(tryfirst=True)
def lerobot_local_before_train(facts: RunFacts) -> list[CheckResult]:
    """What only a run needs: a local folder (LeRobot goes to the Hub otherwise) holding v3.0."""
    root = facts.dataset_root
    if root is None:
        return [
            CheckResult(
                NAME,
                "error",
                "dataset.root is not set, so LeRobot would download dataset.repo_id from the Hugging Face "
                "Hub.",
                "set --dataset.root=PATH to your local v3.0 dataset folder",
            )
        ]
    if facts.data is None:
        return [
            CheckResult(
                NAME,
                "error",
                f"dataset.root {root} does not exist, so LeRobot would fall back to the Hugging Face Hub.",
                "fix --dataset.root (relative paths start from the current folder)",
            )
        ]
    version = facts.data.version
    if version in V2X:
        return [
            CheckResult(
                NAME,
                "error",
                f"{root} is a {version} dataset; this LeRobot loads only v3.0.",
                f"{convert_command(root)}, then train with --dataset.root={shlex.quote(str(root))}_v30",
            )
        ]
    return []
