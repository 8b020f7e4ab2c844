"""Prepare ``lerobot-train``'s command line before LeRobot parses it.

* takes our ``lerobot_local`` section out of the config file and our ``--lerobot_local.*`` flags out of argv
  (LeRobot's draccus parser rejects keys it does not know);
* translates fields LeRobot renamed (``eval_freq`` <-> ``env_eval_freq``) to the installed spelling;
* moves ``policy.path`` (and the other policy fields of the file, as overrides) to the command line, on
  every LeRobot line: 0.4.x reads ``policy.path`` only there, and 0.6.x rejects ``--policy.*`` flags (and
  drops list-valued policy fields) when ``policy.path`` is in the file;
* on ``--resume=true``, restores the settings saved with the checkpoint.
The user's file is never modified: a translated copy goes to a private temporary directory.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.argv import arg_value, cli_value, flatten, replace_arg
from lerobot_local.manifest import MANIFEST_FILE, verify_manifest
from lerobot_local.settings import (
    FLAG_PREFIX,
    SECTION,
    LocalSettings,
    load_checkpoint_settings,
    parse_settings,
)
from lerobot_local.sizing import fill_gpu, scaled_steps
from lerobot_local.suggest import warn_unknown_local_flags

logger = logging.getLogger("lerobot_local")


@dataclass
class PreparedArgs:
    argv: list[str]
    settings: LocalSettings
    translations: list[str] = field(default_factory=list)
    config_path: Path | None = None


def _load_config(path: Path) -> dict[str, Any] | None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return json.loads(path.read_text())
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(path.read_text())
    return None


def _is_true(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def newest_verified_instead(config_path: Path) -> tuple[Path, str] | None:
    """On resume from a checkpoint that has no manifest (the run was killed while writing it), the
    ``train_config.json`` of the newest older checkpoint whose manifest verifies, and a line saying so.

    A checkpoint whose manifest exists but does not verify is not skipped: the resume check refuses it.
    """
    checkpoint = compat.checkpoint_of_train_config(config_path)
    if config_path.parent.name != compat.PRETRAINED_DIR or not checkpoint.is_dir():
        return None
    if (checkpoint / MANIFEST_FILE).is_file():
        return None
    root = checkpoint.parent
    current = checkpoint.resolve().name
    if not current.isdigit():
        return None
    older = [p for p in reversed(compat.step_checkpoints(root)) if int(p.name) < int(current)]
    for candidate in older:
        if (candidate / MANIFEST_FILE).is_file() and not verify_manifest(candidate):
            target = candidate / compat.PRETRAINED_DIR / config_path.name
            why = (
                f"skipped {root.name}/{current}: it has no {MANIFEST_FILE} (the run was killed while "
                f"writing it); resuming from {root.name}/{candidate.name}, the newest checkpoint whose "
                f"manifest verifies ({root.name}/{current} is kept, untouched)"
            )
            return target, why
    return None


def _with_config_copy(argv: list[str], config_path: Path, data: dict[str, Any]) -> tuple[list[str], Path]:
    """Write ``data`` as a temporary copy of the config file and point ``--config_path`` at it."""
    copy = Path(tempfile.mkdtemp(prefix="lerobot-local-config-")) / (config_path.stem + ".json")
    copy.write_text(json.dumps(data, indent=2))
    return replace_arg(argv, "config_path", str(copy)), copy


def strip_plugin_settings(argv: list[str]) -> tuple[list[str], list[str]]:
    """argv for a run with the plugin switched off: our flags dropped, our config section removed.

    Nothing else is changed (no field renames, no checkpoint substitution): LeRobot gets the user's config
    as it would without lerobot-local installed, minus the one section it would reject as unknown.
    """
    rest = [a for a in argv if not a.startswith(FLAG_PREFIX)]
    dropped = [a for a in argv if a.startswith(FLAG_PREFIX)]
    notes = [f"ignored {', '.join(dropped)}"] if dropped else []
    found = arg_value(rest, "config_path")
    path = Path(found[1]) if found else None
    try:
        data = _load_config(path) if path is not None and path.is_file() else None
    except (OSError, ValueError):  # LeRobot reports an unreadable config file itself
        data = None
    if isinstance(data, dict) and SECTION in data:
        data.pop(SECTION)
        rest, copy = _with_config_copy(rest, path, data)
        notes.append(f"ignored the '{SECTION}' section of {path} (LeRobot reads a copy without it: {copy})")
    return rest, notes


def _own_check(exc: BaseException) -> ValueError | None:
    """The ValueError a ``lerobot_local`` settings class raised in ``__post_init__`` (draccus wraps it)."""
    while exc is not None:
        if isinstance(exc, ValueError) and str(exc).startswith(SECTION):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def prepare_argv(argv: list[str]) -> PreparedArgs:
    """Return the argv LeRobot should parse, our settings, and a line per translation made."""
    ours = [a for a in argv if a.startswith(FLAG_PREFIX)]
    rest = [a for a in argv if not a.startswith(FLAG_PREFIX)]
    translations: list[str] = []
    found = arg_value(rest, "config_path")
    config_path = Path(found[1]) if found else None
    resume = arg_value(rest, "resume")
    resuming = config_path is not None and _is_true(resume[1] if resume else None)
    if resuming and config_path is not None:
        fallback = newest_verified_instead(config_path)
        if fallback is not None:
            config_path, why = fallback
            translations.append(why)
            rest = replace_arg(rest, "config_path", str(config_path))
    data = _load_config(config_path) if config_path and config_path.is_file() else None
    section: dict[str, Any] | None = None

    if resuming and config_path is not None:
        section = load_checkpoint_settings(compat.checkpoint_of_train_config(config_path))
        if section is not None:
            translations.append(
                f"restored {SECTION} settings from {compat.checkpoint_of_train_config(config_path)}"
            )

    if isinstance(data, dict):
        changed = False
        if SECTION in data:
            section = {**(section or {}), **data.pop(SECTION)} if section else data.pop(SECTION)
            changed = True
        present = compat.train_config_fields()
        for rename in compat.field_renames(present):
            if rename.old in data:
                data[rename.new] = data.pop(rename.old)
                translations.append(
                    f"renamed '{rename.old}' to '{rename.new}' for LeRobot {compat.lerobot_version()}"
                )
                changed = True
        policy = data.get("policy")
        if isinstance(policy, dict) and "path" in policy:
            path = policy.pop("path")
            data.pop("policy")
            if arg_value(rest, "policy.path") is None:
                rest.append(f"--policy.path={path}")
            fields = {k: v for k, v in policy.items() if k != "type"}
            for name, value in flatten("policy", fields, compat.train_cli_flags().open):
                if arg_value(rest, name) is None:
                    rest.append(f"--{name}={cli_value(value)}")
            translations.append(
                f"moved policy.path={path} and {len(policy)} policy field(s) from the config file to "
                "the command line (LeRobot 0.4.x reads policy.path only there, and 0.6.x rejects "
                "command-line --policy.* overrides when policy.path is in the file)"
            )
            changed = True
        if changed:
            rest, _ = _with_config_copy(rest, config_path, data)
    hints = warn_unknown_local_flags(ours)  # a "did you mean" line before the settings parser's message
    try:
        settings = parse_settings(section, ours)
    except SystemExit:
        for hint in hints:  # and again after it, last, where it is seen
            print(hint, file=sys.stderr)
        raise
    except Exception as exc:  # a setting's own check (__post_init__) arrives wrapped by draccus
        cause = _own_check(exc)
        if cause is None:
            raise
        raise SystemExit(f"lerobot-local: ERROR: {cause}") from None
    if settings.fill_gpu and not resuming:  # a resumed run keeps the values its checkpoint recorded
        rest, notes, settings.sizing, factor = fill_gpu(argv, rest, data)
        translations.extend(notes)
        every = settings.validation.every_n_steps
        typed = any(a.startswith(f"{FLAG_PREFIX}validation.every_n_steps") for a in argv)
        if every > 0 and factor != 1 and not typed:  # validations between checkpoints: the same samples apart
            settings.validation.every_n_steps = scaled_steps(every, factor)
            settings.sizing["validation.every_n_steps"] = (
                f"{settings.validation.every_n_steps} (fill_gpu: {every} / {factor:g}: the plan in samples)"
            )
    return PreparedArgs(argv=rest, settings=settings, translations=translations, config_path=config_path)
