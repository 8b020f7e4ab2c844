"""``lerobot-local``: five subcommands, one line each (``lerobot-local SUBCOMMAND --help`` for its flags):

  doctor     what is installed and whether lerobot-local is active inside lerobot-train
  preflight  the before-train checks without training (same flags as lerobot-train)
  preset     print a train preset as a config file for --config_path
  check      the dataset checks on a folder alone (v2.0, v2.1 or v3.0), no train config needed
  eval       score checkpoints on held-out episodes (open loop), or in a simulator (--env.type=...)

Exit codes: 0 ok, 1 a check failed, 2 usage error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lerobot_local.interrupts import run_interruptible

USAGE = """usage:
  lerobot-local doctor
  lerobot-local preflight --config_path=FILE [any lerobot-train flag ...] [--lerobot_local.KEY=VALUE ...]
  lerobot-local preset NAME --dataset_root=PATH [--repo_id=ID] [--output_dir=DIR] [--job_name=N] [--out=FILE]
  lerobot-local check PATH [--report_json=F] [--frames_dir=D] [--profile=NAME] [--values.KEY=VALUE ...]
  lerobot-local eval --checkpoint=DIR [--dataset_root=D] [--episodes=[..]] [--report_json=F] [--plots_dir=P]
"""


def _activation_status() -> dict[str, object]:
    """Ask a fresh interpreter whether LeRobot's training script comes up with our hooks."""
    from lerobot_local import compat

    proc = subprocess.run(
        [sys.executable, "-c", compat.activation_probe()],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def doctor() -> int:
    from lerobot_local import __version__, compat
    from lerobot_local.activation import DISABLE_ENV, disabled
    from lerobot_local.plugins import hook_implementations, plugin_sources

    version = compat.lerobot_version()
    try:
        compat.require_supported_lerobot()
        supported = "supported"
    except compat.IncompatibleLeRobotError:
        supported = f"NOT supported (lerobot-local supports {compat.supported_range()})"
    print(f"lerobot-local {__version__} on Python {sys.version.split()[0]}")
    print(f"LeRobot {version}: {supported}")
    status = _activation_status()
    active = (
        status.get("wrap_patched") and status.get("train_guarded") and status.get("checkpoint_hook_point")
    )
    state = "ACTIVE" if active else f"NOT active {status}"
    if disabled():
        state += f" but switched off by {DISABLE_ENV}=1 (safety checks OFF)"
    print(f"inside lerobot-train: {state}")
    print("plugins:")
    for name, source in plugin_sources():
        print(f"  {name:<28} {source}")
    print("hooks:")
    for hook, impls in hook_implementations().items():
        print(f"  {hook}: {', '.join(impls) or '-'}")
    from lerobot_local.convert.registry import ConverterConfig, known_converters
    from lerobot_local.presets import TrainPreset, known_presets
    from lerobot_local.profiles import DatasetProfile, known_profiles
    from lerobot_local.registries import origin

    for kind, base, known in (
        ("converters", ConverterConfig, known_converters),
        ("profiles", DatasetProfile, known_profiles),
        ("presets", TrainPreset, known_presets),
    ):
        print(f"{kind}:")
        for name, cls in known().items():
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            print(f"  {name:<22} from {origin(base, name):<28} {doc}")
    return 0 if active or disabled() else 1


def gather_facts(argv: list[str]) -> tuple[Any, Any, list[str]]:
    """What lerobot-train would know before its checks: (run facts, plugin settings, translation lines)."""
    from lerobot_local import compat
    from lerobot_local.config_file import prepare_argv
    from lerobot_local.facts import gather_run_facts

    compat.force_offline()
    prepared = prepare_argv(argv)
    config = compat.parse_train_config(prepared.argv)
    facts = gather_run_facts(
        config, prepared.argv, prepared.settings.validation, prepared.settings.speed.bf16
    )
    return facts, prepared.settings, prepared.translations


def preflight(argv: list[str]) -> int:
    from lerobot_local.logs import setup_logging
    from lerobot_local.results import render_table
    from lerobot_local.runner import collect_results

    setup_logging()
    facts, settings, translations = gather_facts(argv)
    for line in translations:
        print(f"lerobot-local: {line}")
    results = collect_results(facts, settings)
    print(render_table(results, "lerobot-local preflight"))
    return 1 if any(r.severity == "error" for r in results) else 0


def preset(argv: list[str]) -> int:
    from lerobot_local.presets import get_preset, known_presets

    if not argv or argv[0].startswith("--"):
        print(USAGE + "presets: " + ", ".join(known_presets()), file=sys.stderr)
        return 2
    name, flags = argv[0], dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
    if "dataset_root" not in flags:
        print("error: --dataset_root=PATH is required", file=sys.stderr)
        return 2
    try:
        chosen = get_preset(name)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    config = chosen.to_config(
        flags["dataset_root"],
        repo_id=flags.get("repo_id", "local/grasp"),
        output_dir=flags.get("output_dir"),
        job_name=flags.get("job_name"),
    )
    text = json.dumps(config, indent=2) + "\n"
    if "out" in flags:
        Path(flags["out"]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# --help of the subcommands defined here: usage, then every flag with one line each.
HELP = {
    "doctor": """usage: lerobot-local doctor
  (no flags)  prints the versions, whether lerobot-local is active inside lerobot-train, every plugin""",
    "preflight": """usage: lerobot-local preflight --config_path=FILE [any lerobot-train flag ...]
       [--lerobot_local.KEY=VALUE ...]
  --config_path=FILE          the train config file, as lerobot-train reads it
  --<lerobot-train flag>=V    any flag of lerobot-train (lerobot-train --help lists them), read the same way
  --lerobot_local.KEY=VALUE   a lerobot-local setting (the README's settings table lists them all)
  prints the check table lerobot-train would print before training, and trains nothing""",
    "preset": """usage: lerobot-local preset NAME --dataset_root=PATH [--repo_id=ID] [--output_dir=DIR]
       [--job_name=N] [--out=FILE]
  NAME                 the preset (lerobot-local preset with no NAME lists them)
  --dataset_root=PATH  the v3.0 dataset folder the config trains on (required)
  --repo_id=ID         the dataset's repo_id in the config (default local/grasp)
  --output_dir=DIR     the run's output folder (default: LeRobot's outputs/train/...)
  --job_name=N         the run's job name
  --out=FILE           write the config here instead of printing it""",
}


# Subcommands with a module of their own (each has ``main(argv: list[str]) -> int`` and its own --help).
SUBCOMMAND_MODULES: dict[str, str] = {
    "eval": "lerobot_local.validation.eval_cli",
    "check": "lerobot_local.dataset_check",
}


# Flags of the subcommands that name what they write (counted when an interrupt stops them).
WRITTEN_FLAGS = ("report_json", "frames_dir", "plots_dir", "out")


def _written(argv: list[str], started: float) -> str:
    """What an interrupted subcommand wrote: the files its output flags name, modified since it started."""
    command = argv[0] if argv else ""
    if command in ("preflight", "doctor"):
        return f"nothing was written ({command} only reads)"
    said, missing = [], []
    for arg in argv[1:]:
        name, _, value = arg[2:].partition("=")
        if not arg.startswith("--") or name not in WRITTEN_FLAGS or not value:
            continue
        path = Path(value).expanduser()
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        new = [f for f in files if f.is_file() and f.stat().st_mtime >= started]
        if new:
            said.append(
                f"{len(new)} file(s) under --{name}={value}" if path.is_dir() else f"--{name}={value}"
            )
        else:
            missing.append(f"--{name}={value}")
    if not said:
        return "nothing was written" + (f" ({', '.join(missing)} not written)" if missing else "")
    return f"written before the interrupt: {', '.join(said)}" + (
        f"; not written: {', '.join(missing)}" if missing else ""
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    started = time.time()
    try:
        return run_interruptible(
            f"lerobot-local {argv[0] if argv else ''}".strip(),
            lambda: _dispatch(argv),
            lambda: _written(argv, started),
        )
    except BrokenPipeError:
        # the reader went away (`lerobot-local doctor | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a broken pipe


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip() + "\n\n" + USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in HELP and any(a in ("-h", "--help") for a in rest):
        print(HELP[command])
        return 0
    if command == "doctor":
        return doctor()
    if command == "preflight":
        return preflight(rest)
    if command == "preset":
        return preset(rest)
    if command in SUBCOMMAND_MODULES:  # subcommands that live in their own module: main(argv) -> exit code
        import importlib

        return importlib.import_module(SUBCOMMAND_MODULES[command]).main(rest)
    print(f"error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


def convert_main() -> int:
    """``lerobot-convert-local``: its module (pyarrow, PyAV, draccus) is imported once Ctrl-C is handled."""

    def body() -> int:
        from lerobot_local.convert import cli as convert  # subcommand dispatch: loaded when run

        return convert.main(sys.argv[1:])

    return run_interruptible(
        "lerobot-convert-local", body, lambda: "nothing was written (stopped while starting)"
    )


if __name__ == "__main__":
    sys.exit(main())
