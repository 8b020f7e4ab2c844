"""``lerobot-convert-local``: convert a LeRobot v2.1/v2.0 dataset folder to v3.0, locally and verified.

Exit codes: 0 converted (or dry run passed), 1 the dataset cannot be converted as it is, 2 usage error.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import draccus

from lerobot_local.argv import bare_booleans, bool_fields, flag_help
from lerobot_local.convert.errors import ConversionError
from lerobot_local.convert.run import TMP_SUFFIX, ConvertJob, UsageError, sibling
from lerobot_local.convert.writer import WriteOptions
from lerobot_local.dataset import INFO_PATH
from lerobot_local.interrupts import run_interruptible
from lerobot_local.logs import setup_logging

logger = logging.getLogger("lerobot_local.convert")
VERIFY_MODES = ("quick", "full", "none")


@dataclass
class ConvertCLIConfig:
    # The v2.1 (or v2.0) dataset folder, the one holding meta/info.json. Only read, never written.
    input: Path | None = None
    # The folder to create with the v3.0 dataset (written to a hidden sibling first, then renamed).
    output: Path | None = None
    # Replace a non-empty --output (the old one is removed only after the new one is verified).
    overwrite: bool = False
    # Read and check the source, print the plan, write nothing.
    dry_run: bool = False
    # quick: metadata + first/last frame of up to 20 episodes through LeRobot; full: every frame; none.
    verify: str = "quick"
    # Converter name from the registry; 'auto' picks by the source's codebase_version.
    converter: str = "auto"
    # Per-episode stats: 'source' (v2.1 episodes_stats.jsonl) or 'recompute' from the data.
    stats: str = "source"
    # Target size of each data parquet file (MB), as LeRobot's data_files_size_in_mb.
    data_file_size_mb: float = 100.0
    # Target size of each mp4 file (MB), as LeRobot's video_files_size_in_mb.
    video_file_size_mb: float = 200.0
    # Write a machine-readable report (episodes, frames, files, bytes, time, renumbering, checks) here.
    report_json: Path | None = None
    # Show progress bars.
    progress: bool = True
    # Convert only these source episode indices (draccus list, as LeRobot's --dataset.episodes): [0,1,2].
    episodes: list[int] | None = None
    # Leave these source episode indices out (e.g. damaged ones): [0,3,6]. The output is renumbered 0..N-1.
    exclude_episodes: list[int] | None = None
    # Write timestamps = frame_index / fps into the new copy (for clock-stamped or jittered recordings);
    # how far each episode's timestamps moved goes into the log and --report_json. The input is not changed.
    retime: bool = False
    # Convert although the value checks found errors (NaN/Inf, stats that disagree with the data).
    allow_value_errors: bool = False
    # Leave these cameras out, comma-separated (e.g. their videos are lost): observation.images.wrist,...
    # The copy's info.json, stats and episodes no longer name them. Cameras only (video or image features).
    # A v3.0 input gets a v3.0 copy without them.
    drop_features: str | None = None


def _help_text() -> str:
    from lerobot_local.convert.registry import ConverterConfig, known_converters
    from lerobot_local.registries import origin

    lines = [
        __doc__.strip(),
        "",
        "usage: lerobot-convert-local --input=SRC --output=DST [--overwrite=false] [--dry_run=false]",
        "       [--verify=quick|full|none] [--converter=auto|NAME] [--stats=source|recompute]",
        "       [--data_file_size_mb=100] [--video_file_size_mb=200] [--report_json=PATH]",
        "       [--episodes=[0,1,2] | --exclude_episodes=[0,3,6]] [--retime=false]",
        "       [--allow_value_errors=false] [--drop_features=observation.images.wrist[,...]]",
        "",
        "A source with problems is refused with every problem listed at once (grouped, counted; the first",
        "line says how many), nothing written, exit 1; when every problem belongs to some episodes the",
        "message ends with the --exclude_episodes=[...] flag that converts the others (and --stats=recompute",
        "or --retime=true where they are the fix). Value errors (NaN/Inf, stats that disagree with the data)",
        "are problems too, unless --allow_value_errors=true. A v3.0 dataset is re-written with recomputed",
        "stats by --converter=local_v30_restats --stats=recompute (a new copy; the input is never changed),",
        "and without some cameras by --drop_features=... (with or without --stats=recompute).",
        "When a camera's videos are missing or unreadable, the refusal also names the --drop_features=...",
        "that converts every episode without that camera.",
        "",
        "Flags (dashes or underscores both work: --dry-run = --dry_run; a bare switch means =true: "
        "--dry_run = --dry_run=true):",
        *flag_help(ConvertCLIConfig),
        "",
        "Converters registered:",
    ]
    for name, cls in known_converters().items():
        source = origin(ConverterConfig, name)
        lines.append(f"  {name:<12} {', '.join(cls.source_versions):<10} {cls.description} [{source}]")
    return "\n".join(lines)


def _normalise(argv: list[str]) -> list[str]:
    """Accept --dry-run as well as --dry_run (LeRobot's flags use underscores)."""
    out = []
    for arg in argv:
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            arg = "--" + name.replace("-", "_") + eq + value
        out.append(arg)
    return out


def parse_args(argv: list[str]) -> ConvertCLIConfig:
    try:
        args = bare_booleans(_normalise(argv), bool_fields(ConvertCLIConfig))  # --dry_run = --dry_run=true
        cfg = draccus.parse(ConvertCLIConfig, args=args)
    except SystemExit as exc:
        raise UsageError("invalid arguments; run 'lerobot-convert-local --help'") from exc
    except Exception as exc:  # draccus' DecodingError: a value of the wrong type, e.g. --episodes=5
        raise UsageError(
            f"invalid arguments ({exc}); lists are written like --exclude_episodes=[0,3,6]"
        ) from exc
    if cfg.input is None or cfg.output is None:
        raise UsageError("both --input=SRC and --output=DST are required; run 'lerobot-convert-local --help'")
    if not Path(cfg.input).expanduser().is_dir():
        raise UsageError(
            f"--input={cfg.input}: no such directory; pass the v2.x dataset folder (it holds meta/)"
        )
    if cfg.verify not in VERIFY_MODES:
        raise UsageError(f"--verify={cfg.verify} is not one of {', '.join(VERIFY_MODES)}")
    if cfg.stats not in ("source", "recompute"):
        raise UsageError(f"--stats={cfg.stats} is not 'source' or 'recompute'")
    if cfg.data_file_size_mb <= 0 or cfg.video_file_size_mb <= 0:
        raise UsageError("--data_file_size_mb and --video_file_size_mb must be positive")
    drop_list(cfg.drop_features)  # an empty name is a usage error before anything is read
    return cfg


def drop_list(value: str | None) -> list[str] | None:
    """``--drop_features=a,b`` (brackets and spaces tolerated: ``[a, b]``) as a list of feature names."""
    if value is None:
        return None
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    names = [name.strip().strip("'\"") for name in text.split(",")]
    if not names or any(not name for name in names):
        raise UsageError(
            f"--drop_features={value} is not a comma-separated list of feature names; write e.g. "
            "--drop_features=observation.images.wrist,observation.images.top"
        )
    return names


def pick_converter(cfg: ConvertCLIConfig):
    """The converter instance to use: the one named, or the one registered for the source's version."""
    from lerobot_local.convert.registry import converter_for_version, known_converters
    from lerobot_local.convert.source import detect_version

    version = detect_version(Path(cfg.input))
    if cfg.converter == "auto":
        found = converter_for_version(version)
        if found is None:
            if version == "v3.0":
                raise ConversionError(
                    Path(cfg.input) / INFO_PATH,
                    "already describes a v3.0 dataset",
                    "no conversion is needed: point dataset.root at this folder",
                )
            raise ConversionError(
                Path(cfg.input) / INFO_PATH,
                f"has codebase_version={version!r}, which no registered converter reads",
                "install a plugin that converts it, or convert it to v2.1 first",
            )
        return found[0], found[1]()
    converters = known_converters()
    if cfg.converter not in converters:
        raise UsageError(f"--converter={cfg.converter} is not registered; known: {', '.join(converters)}")
    cls = converters[cfg.converter]
    if version not in cls.source_versions:
        raise ConversionError(
            Path(cfg.input) / INFO_PATH,
            f"is {version}, which converter {cfg.converter!r} does not read "
            f"({', '.join(cls.source_versions)})",
            "use --converter=auto",
        )
    return cfg.converter, cls()


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code (130 on Ctrl-C or SIGTERM, with one line saying what was
    and was not written)."""
    argv = sys.argv[1:] if argv is None else argv
    state: dict[str, Any] = {"started": time.time()}
    return run_interruptible("lerobot-convert-local", lambda: _main(argv, state), lambda: _written(state))


def _written(state: dict[str, Any]) -> str:
    """What an interrupted conversion left on disk, read from the disk (the input is never written)."""
    cfg = state.get("cfg")
    if cfg is None or cfg.output is None:
        return "nothing was written"
    if cfg.dry_run:
        return f"nothing was written (a dry run); {cfg.input} is untouched"
    dst = Path(cfg.output)
    tmp = sibling(dst, TMP_SUFFIX)
    untouched = f"{cfg.input} is untouched"
    if tmp.exists():
        return (
            f"nothing was written to {dst}; the partial copy {tmp} is left (the next conversion removes it); "
            f"{untouched}"
        )
    if dst.exists() and dst.stat().st_mtime >= state["started"] and not state.get("existed"):
        return f"{dst} was written and verified before the interrupt (no report); {untouched}"
    return f"nothing was written ({dst} is as it was, no partial copy is left); {untouched}"


def _main(argv: list[str], state: dict[str, Any]) -> int:
    from lerobot_local import compat

    compat.force_offline()
    setup_logging()
    if "--help" in argv or "-h" in argv:
        print(_help_text())
        return 0
    started = time.perf_counter()
    try:
        cfg = parse_args(argv)
        state["cfg"], state["existed"] = cfg, cfg.output is not None and Path(cfg.output).exists()
        name, converter = pick_converter(cfg)
        job = ConvertJob(
            input=cfg.input,
            output=cfg.output,
            overwrite=cfg.overwrite,
            dry_run=cfg.dry_run,
            verify=cfg.verify,
            episodes=cfg.episodes,
            exclude_episodes=cfg.exclude_episodes,
            allow_value_errors=cfg.allow_value_errors,
            drop_features=drop_list(cfg.drop_features),
            write=WriteOptions(
                data_file_size_mb=cfg.data_file_size_mb,
                video_file_size_mb=cfg.video_file_size_mb,
                recompute_stats=cfg.stats == "recompute",
                progress=cfg.progress,
                retime=cfg.retime,
            ),
        )
        logger.info("converting %s with %s", cfg.input, name)
        report = converter.convert(job)
    except UsageError as exc:
        logger.error("%s", exc)
        return 2
    except ConversionError as exc:
        logger.error("conversion failed, nothing was written: %s", exc)
        if cfg.report_json:
            Path(cfg.report_json).write_text(json.dumps(_failure_report(exc), indent=2))
        return 1
    if cfg.report_json:
        Path(cfg.report_json).write_text(report.to_json())
    _print_summary(report, time.perf_counter() - started)
    return 0


def _failure_report(exc: ConversionError) -> dict:
    from lerobot_local.convert.errors import ConversionProblems

    if isinstance(exc, ConversionProblems):
        return {"ok": False, **exc.to_dict()}
    return {"ok": False, "problems": 1, "error": {"file": exc.path, "problem": exc.problem, "fix": exc.fix}}


def _print_summary(report, seconds: float) -> None:
    verb = "would convert" if report.dry_run else "converted"
    lines = [
        f"{verb} {report.source} ({report.source_version}) -> {report.output} (v3.0) with {report.converter}",
        f"  episodes {report.episodes}, frames {report.frames}, tasks {report.tasks}, "
        f"cameras {len(report.cameras)}",
        f"  files written {len(report.files_written)}, bytes {report.bytes_written:,}, time {seconds:.2f} s",
    ]
    if report.dropped_features:
        lines.append(
            f"  cameras left out (--drop_features): {', '.join(report.dropped_features)}; kept: "
            f"{', '.join(report.cameras) or 'none'}"
        )
    if report.excluded_episodes:
        lines.append(
            f"  kept {report.episodes} of {report.source_episodes} source episodes, left out "
            f"{report.excluded_episodes}; source -> output: "
            + ", ".join(f"{old}->{new}" for old, new in list(report.episode_map.items())[:20])
            + (" ..." if len(report.episode_map) > 20 else "")
        )
    if report.renumbered_episodes:
        lines.append(
            f"  episodes renumbered to 0..{report.episodes - 1}: {len(report.renumbered_episodes)} changed "
            "(see --report_json)"
        )
    if report.renumbered_tasks:
        lines.append(f"  task indices renumbered: {report.renumbered_tasks}")
    if report.extra_files:
        copied = [f"{k} -> {v}" for k, v in report.extra_files.items()]
        more = f" (and {len(copied) - 5} more, all in --report_json)" if len(copied) > 5 else ""
        lines.append(f"  extra files copied ({len(copied)}): {', '.join(copied[:5])}{more}")
    lines.extend(f"  ok: {check}" for check in report.checks_passed)
    lines.extend(
        f"  check {row['name']}: {row['severity'].upper()} {_short(row['message'])}" for row in report.checks
    )
    lines.extend(f"  note: {note}" for note in report.notes)
    if report.retimed:
        moved = sorted(report.retimed.items(), key=lambda item: -item[1]["max_s"])
        lines.append(
            "  re-timed (timestamps = frame_index / fps), moved max/mean s per episode: "
            + ", ".join(f"{ep}: {r['max_s']:.4f}/{r['mean_s']:.4f}" for ep, r in moved[:10])
            + (" ..." if len(moved) > 10 else "")
        )
    if report.warnings:
        lines.append(f"  warnings ({len(report.warnings)}, all in --report_json):")
        lines.extend(f"    {w['file']}: {w['problem']}; {w['fix']}" for w in report.warnings[:5])
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
