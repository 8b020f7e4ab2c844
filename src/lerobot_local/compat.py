"""Every place lerobot-local touches LeRobot internals, for every supported LeRobot version.

Nothing outside this module imports ``lerobot.*`` or knows field names LeRobot renamed. When a supported
hook point is missing, :class:`IncompatibleLeRobotError` names the LeRobot version and what is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTION = "lerobot-local"
# The supported LeRobot range is written once, in pyproject.toml's dependencies (what the compatibility
# matrix in docs/compatibility.md proved); it is read back from this package's metadata. Why a release is
# excluded from it (``!=``):
EXCLUSION_REASONS = {
    "0.5.0": "its own lerobot-train fails to import in a fresh install (a dataclass error in its groot "
    "policy); 0.5.1 fixes it",
}
TRAIN_MODULE = "lerobot.scripts.lerobot_train"
EVAL_MODULE = "lerobot.scripts.lerobot_eval"
# Names the train script imports into its module namespace and that we wrap (see activation.py).
CHECKPOINT_HOOK_NAME = "update_last_checkpoint"
TRAIN_UTILS_MODULES = ("lerobot.common.train_utils", "lerobot.utils.train_utils")
# TrainPipelineConfig fields renamed between LeRobot lines: each tuple lists the spellings of one field.
RENAMED_TRAIN_FIELDS = (("eval_freq", "env_eval_freq"),)
CHECKPOINTS_DIR = "checkpoints"
LAST_CHECKPOINT = "last"
PRETRAINED_DIR = "pretrained_model"
TRAINING_STATE_DIR = "training_state"
TRAIN_CONFIG_FILE = "train_config.json"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class IncompatibleLeRobotError(RuntimeError):
    """The installed LeRobot lacks something lerobot-local relies on (or is outside the supported range)."""


def lerobot_version() -> str:
    """The installed LeRobot version, or ``"not installed"``."""
    try:
        return metadata.version("lerobot")
    except metadata.PackageNotFoundError:
        return "not installed"


@cache
def supported_specifier() -> Any:
    """The LeRobot versions this install of lerobot-local declares for the running Python (a SpecifierSet)."""
    from packaging.requirements import Requirement

    for line in metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(line)
        if requirement.name == "lerobot" and (
            requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        ):
            return requirement.specifier
    raise IncompatibleLeRobotError(
        f"the metadata of {DISTRIBUTION} declares no LeRobot range for this Python; reinstall lerobot-local"
    )


def supported_range() -> str:
    """The supported range as people write it: ``>=0.4.0,<0.7,!=0.5.0``."""
    order = {">": 0, "<": 1, "!": 2, "=": 3, "~": 4}
    return ",".join(sorted((str(s) for s in supported_specifier()), key=lambda s: (order.get(s[0], 5), s)))


def require_supported_lerobot() -> str:
    """Return the LeRobot version, or raise if it is outside the range the compatibility matrix proved."""
    from packaging.version import InvalidVersion, Version

    version = lerobot_version()
    if os.environ.get("LEROBOT_LOCAL_ALLOW_UNTESTED_LEROBOT") == "1":
        return version
    try:
        inside = Version(version) in supported_specifier()
    except InvalidVersion:
        inside = False
    if not inside:
        raise IncompatibleLeRobotError(
            f"lerobot-local supports LeRobot {supported_range()} but LeRobot {version} is installed"
            + (f" ({EXCLUSION_REASONS[version]})" if version in EXCLUSION_REASONS else "")
            + f"; install a supported LeRobot (pip install 'lerobot{supported_range()}'), upgrade "
            "lerobot-local, or set LEROBOT_LOCAL_ALLOW_UNTESTED_LEROBOT=1 to try anyway (or "
            "LEROBOT_LOCAL_DISABLE=1 to run without the safety checks)"
        )
    return version


def force_offline() -> None:
    """Make every Hugging Face library in this process (and its children) refuse network access."""
    os.environ.update(OFFLINE_ENV)
    for module_name, attr in (
        ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
        ("datasets.config", "HF_HUB_OFFLINE"),
        ("datasets.config", "HF_DATASETS_OFFLINE"),
    ):
        module = importlib.sys.modules.get(module_name)
        if module is not None and hasattr(module, attr):
            setattr(module, attr, True)


def missing(what: str) -> IncompatibleLeRobotError:
    return IncompatibleLeRobotError(
        f"LeRobot {lerobot_version()} has no {what}, which lerobot-local needs to run its safety checks; "
        "install a LeRobot version listed in docs/compatibility.md or set LEROBOT_LOCAL_DISABLE=1 to train "
        "without the checks"
    )


# --- datasets -------------------------------------------------------------------------------------------


def load_lerobot_dataset(root: Path, video_backend: str = "pyav") -> Any:
    """Open the local v3.0 dataset at ``root`` with the installed LeRobot (never the Hub)."""
    force_offline()
    root = Path(root)
    try:
        module = importlib.import_module("lerobot.datasets.lerobot_dataset")
        cls = module.LeRobotDataset
    except (ImportError, AttributeError) as exc:
        raise missing("lerobot.datasets.lerobot_dataset.LeRobotDataset") from exc
    return cls(repo_id=f"local/{root.name}", root=root, video_backend=video_backend)


# LeRobot's own v2.1 -> v3.0 converter (benchmarked against ours), by release line.
LEROBOT_CONVERTER_MODULES = (
    "lerobot.scripts.convert_dataset_v21_to_v30",
    "lerobot.datasets.v30.convert_dataset_v21_to_v30",
)


def lerobot_v21_converter() -> Any:
    """LeRobot's ``convert_dataset(repo_id, root=PARENT, push_to_hub=...)`` function of this release."""
    for name in LEROBOT_CONVERTER_MODULES:
        try:
            return importlib.import_module(name).convert_dataset
        except (ImportError, AttributeError):
            continue
    raise missing("v2.1 -> v3.0 converter (" + " or ".join(LEROBOT_CONVERTER_MODULES) + ")")


# --- training script ------------------------------------------------------------------------------------


def is_train_entry(fn: Any) -> bool:
    """True when ``fn`` is ``train`` of LeRobot's training script (imported, or run with ``python -m``)."""
    if getattr(fn, "__name__", None) != "train":
        return False
    module = getattr(fn, "__module__", "")
    if module == TRAIN_MODULE:
        return True
    code = getattr(fn, "__code__", None)
    filename = code.co_filename.replace("\\", "/") if code else ""
    return module == "__main__" and filename.endswith("lerobot/scripts/lerobot_train.py")


def activation_probe() -> str:
    """Python source that imports LeRobot's training script as lerobot-train does and prints, as JSON,
    whether our hooks are in place (run by ``lerobot-local doctor`` in a fresh interpreter)."""
    return f"""
import json, sys
sys.argv = ["lerobot-train"]
import lerobot.configs.parser as parser
import {TRAIN_MODULE} as t
print(json.dumps({{"wrap_patched": bool(getattr(parser.wrap, "__lerobot_local__", False)),
                  "train_guarded": bool(getattr(getattr(t, "train", None), "__lerobot_local__", False)),
                  "checkpoint_hook_point": "{CHECKPOINT_HOOK_NAME}" in vars(t)}}))
"""


def train_config_fields() -> set[str]:
    """Field names of the installed ``TrainPipelineConfig``."""
    import dataclasses

    return {f.name for f in dataclasses.fields(train_config_class())}


@cache
def train_config_class() -> type:
    try:
        return importlib.import_module("lerobot.configs.train").TrainPipelineConfig
    except (ImportError, AttributeError) as exc:
        raise missing("lerobot.configs.train.TrainPipelineConfig") from exc


@dataclass(frozen=True)
class FieldRename:
    old: str
    new: str


def field_renames(present: set[str]) -> list[FieldRename]:
    """For each renamed field, the spelling to translate from and to for the installed LeRobot."""
    renames = []
    for spellings in RENAMED_TRAIN_FIELDS:
        known = [s for s in spellings if s in present]
        if known:
            renames.extend(FieldRename(s, known[0]) for s in spellings if s != known[0])
    return renames


def is_eval_entry(fn: Any) -> bool:
    """True when ``fn`` is ``eval_main`` of LeRobot's evaluation script."""
    if getattr(fn, "__name__", None) != "eval_main":
        return False
    module = getattr(fn, "__module__", "")
    code = getattr(fn, "__code__", None)
    filename = code.co_filename.replace("\\", "/") if code else ""
    return module == EVAL_MODULE or (
        module == "__main__" and filename.endswith("lerobot/scripts/lerobot_eval.py")
    )


def checkpoint_function(train_globals: dict[str, Any]) -> Any:
    """The function the train script calls after writing a checkpoint (it points ``last`` at it)."""
    fn = train_globals.get(CHECKPOINT_HOOK_NAME)
    if fn is None:
        raise missing(f"'{CHECKPOINT_HOOK_NAME}' in its training script")
    return fn


def first_param_annotation(fn: Any) -> Any:
    """The annotation of ``fn``'s first parameter (LeRobot's parser reads the config class from it)."""
    import inspect

    spec = inspect.getfullargspec(fn)
    if not spec.args or spec.args[0] not in spec.annotations:
        raise missing(f"a config annotation on {getattr(fn, '__qualname__', fn)}")
    return spec.annotations[spec.args[0]]


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process as set by accelerate/torchrun, before torch.distributed starts."""
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) or 0)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return rank, world


def launch_key() -> str:
    """A key shared by every process of one launch on this host (torchrun run id, launcher pid, port)."""
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "none")
    return f"{run_id}-{os.getppid()}-{os.environ.get('MASTER_PORT', '0')}"


def push_fields(config: Any, policy: Any | None) -> list[tuple[str, bool | None]]:
    """Every setting of the run that uploads to the Hub, with its value (``None``: cannot be read)."""
    found: list[tuple[str, bool | None]] = []
    if policy is not None and hasattr(policy, "push_to_hub"):
        found.append(("policy.push_to_hub", bool(policy.push_to_hub)))
    if hasattr(config, "save_checkpoint_to_hub"):
        found.append(("save_checkpoint_to_hub", bool(config.save_checkpoint_to_hub)))
    return found


# --- the command line LeRobot parses ---------------------------------------------------------------------


@contextmanager
def argv_as(argv: list[str] | tuple[str, ...]) -> Iterator[None]:
    """Run a block with ``sys.argv[1:]`` = ``argv`` (LeRobot's parser helpers read sys.argv)."""
    saved = sys.argv
    sys.argv = [saved[0] if saved else "lerobot-train", *argv]
    try:
        yield
    finally:
        sys.argv = saved


def parser_module() -> Any:
    """LeRobot's ``lerobot.configs.parser`` module."""
    try:
        return importlib.import_module("lerobot.configs.parser")
    except ImportError as exc:
        raise missing("lerobot.configs.parser") from exc


def parse_train_config(argv: list[str]) -> Any:
    """Parse ``argv`` with LeRobot's own parser into its ``TrainPipelineConfig``, as lerobot-train does."""
    parser = parser_module()
    register_policy_configs()
    parsed: dict[str, Any] = {}

    def capture(cfg):
        parsed["cfg"] = cfg

    capture.__annotations__ = {"cfg": train_config_class()}
    with argv_as(argv):
        parser.wrap()(capture)()
    return parsed["cfg"]


def policy_cli_overrides(argv: list[str] | tuple[str, ...]) -> list[str]:
    """The ``--policy.*`` flags of ``argv`` (not path/type), as LeRobot hands them to from_pretrained."""
    return list(parser_module().get_cli_overrides("policy", list(argv)) or [])


def load_policy_config(path: str, overrides: list[str]) -> tuple[Any | None, str | None]:
    """(the pretrained policy config at ``path`` with ``overrides``, or None; why it could not be read)."""
    force_offline()
    try:
        from lerobot.configs.policies import PreTrainedConfig

        return PreTrainedConfig.from_pretrained(path, cli_overrides=overrides), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def checkpoint_of_train_config(config_path: Path) -> Path:
    """The checkpoint folder of ``<checkpoint>/pretrained_model/train_config.json``."""
    return Path(config_path).parent.parent


def resume_config_path(output_dir: Path | str) -> Path:
    """The ``--config_path`` that resumes the run in ``output_dir``."""
    return Path(output_dir) / CHECKPOINTS_DIR / LAST_CHECKPOINT / PRETRAINED_DIR / TRAIN_CONFIG_FILE


def step_checkpoints(checkpoints: Path) -> list[Path]:
    """Numbered checkpoint folders of a run's ``checkpoints`` folder, oldest first."""
    return sorted(
        (p for p in checkpoints.iterdir() if p.is_dir() and not p.is_symlink() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The checkpoint LeRobot's ``last`` link points at, if any."""
    link = checkpoints / LAST_CHECKPOINT
    return link.resolve() if link.exists() else None


# --- mixed precision -------------------------------------------------------------------------------------

PRECISION_ENV = "ACCELERATE_MIXED_PRECISION"
_DTYPE_TO_PRECISION = {"bfloat16": "bf16", "float16": "fp16", "float32": "no"}


@dataclass(frozen=True)
class PrecisionPlan:
    """The precision a run will train in, where that comes from, and what lerobot-local must do for it."""

    mode: str  # accelerate's mixed_precision: "no", "bf16" or "fp16"
    source: str
    apply: str | None = None  # "env" (ACCELERATE_MIXED_PRECISION) or "config" (accelerator.mixed_precision)
    warning: str | None = None

    @property
    def label(self) -> str:
        return "fp32" if self.mode == "no" else self.mode


def _train_script_source() -> str:
    try:
        spec = importlib.util.find_spec(TRAIN_MODULE)
        return Path(spec.origin).read_text() if spec and spec.origin else ""
    except (ImportError, OSError, ValueError):
        return ""


def precision_mapping(config: Any) -> str:
    """How the installed LeRobot chooses accelerate's mixed precision.

    ``accelerator_field``: from ``accelerator.mixed_precision`` only (LeRobot main, 0.6.2-dev);
    ``policy_dtype_or_use_amp``: from ``policy.dtype``, else ``policy.use_amp`` (0.6.1);
    ``none``: it passes none, so accelerate reads ACCELERATE_MIXED_PRECISION (0.4.0-0.6.0); ``unknown``.
    """
    if hasattr(getattr(config, "accelerator", None), "mixed_precision"):
        return "accelerator_field"
    source = _train_script_source()
    if "use_amp" in source and "mixed_precision" in source:
        return "policy_dtype_or_use_amp"
    if source and "mixed_precision" not in source:
        return "none"
    return "unknown"


def autocast_precision(device: str | None) -> str:
    """accelerate's name for torch.autocast's default dtype on ``device`` (what LeRobot maps use_amp to)."""
    return "bf16" if (device or "cuda").split(":")[0] == "cpu" else "fp16"


def precision_plan(config: Any, policy: Any | None) -> PrecisionPlan:
    """What precision this run trains in on the installed LeRobot, and how to make ``use_amp`` real."""
    version = lerobot_version()
    use_amp = bool(getattr(policy, "use_amp", False))
    amp = autocast_precision(getattr(policy, "device", None))
    launcher = os.environ.get(PRECISION_ENV, "").strip().lower()
    launcher = launcher if launcher in ("bf16", "fp16", "fp8") else ""
    mapping = precision_mapping(config)
    if mapping == "accelerator_field":
        field = str(config.accelerator.mixed_precision or "no").lower()
        if field != "no":
            return PrecisionPlan(field, f"accelerator.mixed_precision={field}")
        if use_amp:
            return PrecisionPlan(
                amp,
                f"policy.use_amp=true, set as accelerator.mixed_precision={amp} by lerobot-local "
                f"(LeRobot {version} reads only accelerator.mixed_precision)",
                apply="config",
            )
        return PrecisionPlan("no", "accelerator.mixed_precision=no")
    if mapping == "policy_dtype_or_use_amp":
        if hasattr(policy, "dtype") and getattr(policy, "dtype", None) in _DTYPE_TO_PRECISION:
            mode = _DTYPE_TO_PRECISION[policy.dtype]
            return PrecisionPlan(mode, f"policy.dtype={policy.dtype} (LeRobot {version} maps it itself)")
        if use_amp:
            return PrecisionPlan(amp, f"policy.use_amp=true (LeRobot {version} maps it itself)")
    if launcher:
        warning = None
        if use_amp and launcher != amp:
            warning = (
                f"policy.use_amp=true asks for {amp}, but the launcher's {PRECISION_ENV}={launcher} wins"
            )
        return PrecisionPlan(
            launcher, f"{PRECISION_ENV}={launcher} (the launcher's --mixed_precision)", None, warning
        )
    if not use_amp:
        return PrecisionPlan("no", "policy.use_amp=false")
    if mapping == "none":
        return PrecisionPlan(
            amp,
            f"policy.use_amp=true, via accelerate ({PRECISION_ENV}={amp} set by lerobot-local; "
            f"LeRobot {version} ignores use_amp by itself)",
            apply="env",
        )
    return PrecisionPlan(
        amp,
        f"policy.use_amp=true, via accelerate ({PRECISION_ENV}={amp} set by lerobot-local)",
        apply="env",
        warning=f"cannot tell how LeRobot {version} sets mixed precision: its log shows the one used",
    )


def apply_precision(plan: PrecisionPlan, config: Any) -> None:
    """Make ``plan`` take effect before LeRobot builds its Accelerator."""
    if plan.apply == "env":
        os.environ[PRECISION_ENV] = plan.mode
    elif plan.apply == "config":
        config.accelerator.mixed_precision = plan.mode


def local_model_present(name_or_path: str) -> bool:
    """True when a model id or folder can be loaded without the network (local folder or HF cache)."""
    if Path(name_or_path).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name_or_path, "config.json")
        return isinstance(found, str)
    except Exception:
        return False


def register_policy_configs() -> None:
    """Import LeRobot's policy configs so draccus knows ``policy.type`` choices (as lerobot-train does)."""
    try:
        importlib.import_module("lerobot.policies.factory")
    except ImportError as exc:
        raise missing("lerobot.policies.factory") from exc
