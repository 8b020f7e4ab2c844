"""Every place lerobot-local touches LeRobot internals, for every supported LeRobot version.

Nothing outside this module imports ``lerobot.*`` or knows field names LeRobot renamed. When a supported
hook point is missing, :class:`IncompatibleLeRobotError` names the LeRobot version and what is missing.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import importlib.util
import io
import logging
import os
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from lerobot_local.argv import argv_as

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
# TrainPipelineConfig fields renamed between LeRobot lines: each tuple lists the spellings of one field.
RENAMED_TRAIN_FIELDS = (("eval_freq", "env_eval_freq"),)
CHECKPOINTS_DIR = "checkpoints"
LAST_CHECKPOINT = "last"
PRETRAINED_DIR = "pretrained_model"
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


@cache
def torchcodec_loads() -> str | None:
    """None when torchcodec's decoder loads in this environment, else why not (e.g. no FFmpeg libraries)."""
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


# LeRobot 0.6.x, choosing the default of dataset.video_backend, logs torchcodec's whole loading report (one
# traceback per FFmpeg version it tried) before it falls back to pyav; that burying of the run's own messages
# is cut to one line.
TORCHCODEC_FALLBACK_LOGGER = "lerobot.utils.import_utils"
TORCHCODEC_FALLBACK_TEXT = "'torchcodec' is installed but cannot be loaded"


class _TorchcodecFallbackInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        if TORCHCODEC_FALLBACK_TEXT not in text:
            return True
        if "Could not load libtorchcodec" in text:
            why = "it found none of the FFmpeg libraries it supports, versions 4 to 8"
        else:
            why = next((line.strip() for line in text.splitlines() if line.strip()), "")[:160]
        record.msg = (
            "torchcodec cannot load here (%s); LeRobot decodes videos with pyav instead "
            "(--dataset.video_backend=pyav says so and skips this try)"
        )
        record.args = (why,)
        record.exc_info = record.exc_text = None
        return True


def quiet_torchcodec_fallback() -> None:
    """Turn LeRobot's torchcodec fallback report into one line (see :data:`TORCHCODEC_FALLBACK_TEXT`)."""
    logger = logging.getLogger(TORCHCODEC_FALLBACK_LOGGER)
    if not any(isinstance(f, _TorchcodecFallbackInOneLine) for f in logger.filters):
        logger.addFilter(_TorchcodecFallbackInOneLine())


def make_default_video_backend_loadable(video_utils: Any) -> None:
    """LeRobot 0.4.x picks torchcodec as its default decoder whenever the package is installed, also where
    its libraries cannot load (no system FFmpeg): its dataset tools then die at the first frame. Wrap
    ``get_safe_default_codec`` so that it falls back to pyav, saying so, when torchcodec cannot load."""
    use_torchcodec_for_pyav(video_utils)  # data workers of a lerobot-local run only (WORKER_DECODER_ENV)
    original = getattr(video_utils, "get_safe_default_codec", None)
    if original is None or getattr(original, "__lerobot_local__", False):
        return

    def get_safe_default_codec() -> str:
        chosen = original()
        if chosen == "torchcodec":
            why = torchcodec_loads()
            if why is not None:
                import logging

                logging.getLogger("lerobot_local").warning(
                    "lerobot-local: torchcodec cannot load here (%s); LeRobot decodes videos with pyav "
                    "instead (set video_backend explicitly to choose)",
                    why[:160],
                )
                return "pyav"
        return chosen

    get_safe_default_codec.__lerobot_local__ = True
    get_safe_default_codec.__wrapped__ = original
    video_utils.get_safe_default_codec = get_safe_default_codec


# --- torchcodec in the data-loader workers, on the FFmpeg that PyAV's wheel bundles -----------------------

# Set by lerobot-local in the training process (see lerobot_local.sizing) before LeRobot starts its data
# workers; a worker started with it (and with PyAV's FFmpeg on LD_LIBRARY_PATH) decodes the videos of a
# ``pyav`` dataset with LeRobot's own torchcodec decoder instead: the same frames (tests/test_fast_video.py),
# about twice as many per second. The main process, which started before, keeps LeRobot's pyav decoder.
WORKER_DECODER_ENV = "LEROBOT_LOCAL_WORKER_DECODER"
FFMPEG_LIBRARIES = ("avutil", "swresample", "swscale", "avcodec", "avformat", "avfilter", "avdevice")
# LeRobot's DataLoader start method per line: 0.6.x spawns its workers (a fresh interpreter, which reads
# LD_LIBRARY_PATH at start-up); 0.4.x/0.5.x fork them from the training process (which read it before).
SPAWN_CONTEXTS = ("spawn", "forkserver")


def dataloader_start_method(config: Any) -> str:
    """How LeRobot will start the data-loader workers of this run: ``spawn``, ``forkserver`` or ``fork``."""
    context = getattr(config, "dataloader_multiprocessing_context", None)
    return str(context) if context else "fork"


def pyav_ffmpeg_library_path(cache_dir: Path) -> str | None:
    """An LD_LIBRARY_PATH under which torchcodec finds the FFmpeg that PyAV's wheel bundles, or None.

    torchcodec links FFmpeg by its usual names (``libavutil.so.59``); PyAV's wheel ships the same libraries
    renamed (``av.libs/libavutil-<hash>.so.59.x``). ``cache_dir`` gets a folder of symbolic links with the
    usual names (written once per PyAV build, atomically), placed ahead of ``av.libs`` on the path.
    """
    try:
        import av
    except ImportError:
        return None
    libs = Path(av.__file__).resolve().parent.parent / "av.libs"
    found = {name: sorted(libs.glob(f"lib{name}-*.so.*")) for name in FFMPEG_LIBRARIES}
    if not libs.is_dir() or not all(found.values()):
        return None
    links = Path(cache_dir) / f"ffmpeg-from-pyav-{getattr(av, '__version__', 'x')}"
    if not links.is_dir():
        tmp = links.parent / f".{links.name}.tmp-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        for name, files in found.items():
            lib = files[0]
            major = lib.name.split(".so.")[1].split(".")[0]
            (tmp / f"lib{name}.so.{major}").symlink_to(lib)
        try:
            tmp.rename(links)
        except OSError:  # another process of the launch made it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return f"{links}:{libs}"


def torchcodec_loads_with(env: dict[str, str]) -> str | None:
    """None when torchcodec's decoder loads in a fresh interpreter with ``env``, else why not."""
    import subprocess

    probe = "from torchcodec.decoders import VideoDecoder"
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode == 0:
        return None
    lines = [x for x in done.stderr.strip().splitlines() if x.strip()]
    return lines[-1][:200] if lines else f"exit code {done.returncode}"


def use_torchcodec_for_pyav(video_utils: Any) -> bool:
    """In a data worker started with ``WORKER_DECODER_ENV=torchcodec``: decode LeRobot's ``pyav``
    videos with its torchcodec decoder (same frames), when torchcodec loads here; depth maps stay with pyav.
    True when it did."""
    if os.environ.get(WORKER_DECODER_ENV) != "torchcodec":
        return False
    pyav = getattr(video_utils, "decode_video_frames_pyav", None)
    torchcodec = getattr(video_utils, "decode_video_frames_torchcodec", None)
    if pyav is None or torchcodec is None or getattr(pyav, "__lerobot_local__", False):
        return False
    if torchcodec_loads() is not None:
        return False  # the process was not started with PyAV's FFmpeg on its path: LeRobot's pyav stays

    def decode_video_frames_pyav(video_path, timestamps, tolerance_s, *args, **kwargs):
        if kwargs.get("is_depth") or args or kwargs.get("log_loaded_timestamps"):
            return pyav(video_path, timestamps, tolerance_s, *args, **kwargs)
        return torchcodec(video_path, timestamps, tolerance_s, return_uint8=kwargs.get("return_uint8", False))

    decode_video_frames_pyav.__lerobot_local__ = True
    decode_video_frames_pyav.__wrapped__ = pyav
    video_utils.decode_video_frames_pyav = decode_video_frames_pyav
    return True


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


def train_field_spelling(name: str) -> str:
    """How the installed LeRobot spells a train-config field that was renamed between lines (``eval_freq``
    is ``env_eval_freq`` on 0.6); the name itself where it was never renamed."""
    present = train_config_fields()
    for spellings in RENAMED_TRAIN_FIELDS:
        if name in spellings:
            return next((s for s in spellings if s in present), name)
    return name


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


def run_dir_of_checkpoint(checkpoint_dir: Path) -> Path:
    """The run's output directory of a checkpoint folder (``<output_dir>/checkpoints/<step>``)."""
    return Path(checkpoint_dir).parent.parent


def action_dim(dataset: Any) -> int:
    """The width of the action of a LeRobotDataset (its metadata's features)."""
    return int(dataset.meta.features["action"]["shape"][0])


def checkpoint_step(checkpoint_dir: Path) -> int:
    """The training step of a checkpoint folder (LeRobot names it by its zero-padded step), else -1."""
    try:
        return int(Path(checkpoint_dir).name)
    except ValueError:
        return -1


def first_param_annotation(fn: Any) -> Any:
    """The annotation of ``fn``'s first parameter (LeRobot's parser reads the config class from it)."""
    import inspect

    spec = inspect.getfullargspec(fn)
    if not spec.args or spec.args[0] not in spec.annotations:
        raise missing(f"a config annotation on {getattr(fn, '__qualname__', fn)}")
    return spec.annotations[spec.args[0]]


@dataclass(frozen=True)
class Launch:
    """Where this process sits in a launch (torchrun, ``python -m torch.distributed.run``, accelerate)."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    node_rank: int
    num_nodes: int
    store_host: str | None  # the launcher's own key-value store (torchrun's agent TCPStore), if any
    store_port: int | None
    run_key: str  # the same in every process of one launch (and one restart of it)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_local_main(self) -> bool:
        return self.local_rank == 0


def launch() -> Launch:
    """Read the launcher's environment variables (set before torch.distributed starts)."""
    env = os.environ

    def number(name: str, default: int) -> int:
        try:
            return int(env.get(name, "") or default)
        except ValueError:
            return default

    world = number("WORLD_SIZE", 1)
    local_world = number("LOCAL_WORLD_SIZE", world)
    # torchrun's agent store at MASTER_ADDR:MASTER_PORT (--master_port=0 exports port 0: not reachable)
    agent_store = (
        env.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
        and bool(env.get("MASTER_ADDR"))
        and number("MASTER_PORT", 0) > 0
    )
    run_key = "-".join(
        (
            env.get("TORCHELASTIC_RUN_ID", "none"),
            env.get("TORCHELASTIC_RESTART_COUNT", "0"),
            env.get("MASTER_PORT", "0"),
        )
    )
    return Launch(
        rank=number("RANK", number("LOCAL_RANK", 0)),
        world_size=world,
        local_rank=number("LOCAL_RANK", 0),
        local_world_size=local_world,
        node_rank=number("GROUP_RANK", number("NODE_RANK", 0)),
        num_nodes=number("GROUP_WORLD_SIZE", max(1, world // max(local_world, 1))),
        store_host=env.get("MASTER_ADDR") if agent_store else None,
        store_port=number("MASTER_PORT", 0) if agent_store else None,
        run_key=run_key,
    )


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process as set by accelerate/torchrun, before torch.distributed starts."""
    found = launch()
    return found.rank, found.world_size


def launch_key() -> str:
    """A key shared by every process of one launch on this host (run id, launcher pid, port)."""
    return f"{launch().run_key}-{os.getppid()}"


def push_fields(config: Any, policy: Any | None) -> list[tuple[str, bool | None]]:
    """Every setting of the run that uploads to the Hub, with its value (``None``: cannot be read)."""
    found: list[tuple[str, bool | None]] = []
    if policy is not None and hasattr(policy, "push_to_hub"):
        found.append(("policy.push_to_hub", bool(policy.push_to_hub)))
    if hasattr(config, "save_checkpoint_to_hub"):
        found.append(("save_checkpoint_to_hub", bool(config.save_checkpoint_to_hub)))
    return found


# --- the command line LeRobot parses ---------------------------------------------------------------------


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


def policy_field_default(policy_type: str | None, policy_path: str | None, name: str) -> Any | None:
    """A policy config field's value when neither the config file nor the command line sets it: the
    pretrained config's (``policy.path``, read offline) or the policy type's dataclass default; None when
    neither can be read."""
    if policy_path:
        config, _why = load_policy_config(policy_path, [])
        return getattr(config, name, None) if config is not None else None
    if not policy_type:
        return None
    register_policy_configs()
    from lerobot.configs.policies import PreTrainedConfig

    try:
        cls = PreTrainedConfig.get_choice_class(policy_type)
    except Exception:  # an unknown type: LeRobot's own parser says so
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return fields[name].default if name in fields else None


def checkpoint_of_train_config(config_path: Path) -> Path:
    """The checkpoint folder of ``<checkpoint>/pretrained_model/train_config.json``."""
    return Path(config_path).parent.parent


def resume_config_path(output_dir: Path | str) -> Path:
    """The ``--config_path`` that resumes the run in ``output_dir``: its ``last`` checkpoint's, else (a run
    killed before LeRobot pointed ``last`` at its first checkpoint) the newest checkpoint's that has one;
    the ``last`` spelling when the folder holds no checkpoint yet (see :func:`resumable_config_path`)."""
    return resumable_config_path(output_dir) or (
        Path(output_dir) / CHECKPOINTS_DIR / LAST_CHECKPOINT / PRETRAINED_DIR / TRAIN_CONFIG_FILE
    )


def resumable_config_path(output_dir: Path | str) -> Path | None:
    """The ``train_config.json`` of the checkpoint a resume of ``output_dir`` starts from, when one exists."""
    checkpoints = Path(output_dir) / CHECKPOINTS_DIR
    last = checkpoints / LAST_CHECKPOINT / PRETRAINED_DIR / TRAIN_CONFIG_FILE
    if last.is_file():
        return last
    if not checkpoints.is_dir():
        return None
    for checkpoint in reversed(step_checkpoints(checkpoints)):
        config = checkpoint / PRETRAINED_DIR / TRAIN_CONFIG_FILE
        if config.is_file():
            return config
    return None


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


def weight_copies_per_checkpoint(config: Any) -> int:
    """How many model-sized files a checkpoint holds: weights + Adam's two moments, + EMA weights (main)."""
    ema = getattr(getattr(config, "ema", None), "enable", False)
    return 3 + (1 if ema else 0)


# --- mixed precision -------------------------------------------------------------------------------------

PRECISION_ENV = "ACCELERATE_MIXED_PRECISION"
_DTYPE_TO_PRECISION = {"bfloat16": "bf16", "float16": "fp16", "float32": "no"}


@dataclass(frozen=True)
class PrecisionPlan:
    """The precision a run will train in, where that comes from, and what lerobot-local must do for it."""

    mode: str  # accelerate's mixed_precision: "no", "bf16" or "fp16"
    source: str
    # "env" (ACCELERATE_MIXED_PRECISION), "config" (accelerator.mixed_precision) or "autocast_dtype" (torch's
    # CUDA autocast dtype, which LeRobot 0.6.1 maps use_amp to)
    apply: str | None = None
    warning: str | None = None

    @property
    def label(self) -> str:
        return "fp32" if self.mode == "no" else self.mode


# How each LeRobot release turns the config into accelerate's mixed precision (newest first; read in each
# release's lerobot_train.py): 0.6.1 maps policy.dtype, else policy.use_amp; 0.4.0-0.6.0 pass nothing, so
# accelerate reads ACCELERATE_MIXED_PRECISION. Releases with an ``accelerator.mixed_precision`` config field
# (LeRobot main, 0.6.2-dev) read only that field.
PRECISION_BY_RELEASE = (("0.6.1", "policy_dtype_or_use_amp"), ("0.4.0", "none"))


def precision_mapping(config: Any) -> str:
    """How the installed LeRobot chooses accelerate's mixed precision.

    ``accelerator_field``: from ``accelerator.mixed_precision`` only (LeRobot main, 0.6.2-dev);
    ``policy_dtype_or_use_amp``: from ``policy.dtype``, else ``policy.use_amp`` (0.6.1);
    ``none``: it passes none, so accelerate reads ACCELERATE_MIXED_PRECISION (0.4.0-0.6.0); ``unknown``.
    """
    from packaging.version import InvalidVersion, Version

    if hasattr(getattr(config, "accelerator", None), "mixed_precision"):
        return "accelerator_field"
    try:
        installed = Version(lerobot_version())
    except InvalidVersion:
        return "unknown"
    return next((how for first, how in PRECISION_BY_RELEASE if installed >= Version(first)), "unknown")


def autocast_precision(device: str | None) -> str:
    """accelerate's name for torch.autocast's default dtype on ``device`` (what LeRobot maps use_amp to)."""
    return "bf16" if (device or "cuda").split(":")[0] == "cpu" else "fp16"


def cuda_bf16_supported() -> bool:
    """True when this machine has a CUDA card that computes in bf16 (Ampere and newer)."""
    import torch  # heavy: only when a run may train in mixed precision

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def precision_plan(
    config: Any,
    policy: Any | None,
    use_amp: bool | None = None,
    device: str | None = None,
    prefer_bf16: bool = False,
) -> PrecisionPlan:
    """What precision this run trains in on the installed LeRobot, and how to make ``use_amp`` real.
    ``use_amp``/``device``: as the config file or command line set them, when the policy config itself
    cannot be read (a pretrained policy that is not on this machine). ``prefer_bf16``: ``use_amp`` means
    bf16 rather than fp16 on a CUDA card that supports it (``lerobot_local.speed.bf16``)."""
    version = lerobot_version()
    use_amp = bool(getattr(policy, "use_amp", False)) if use_amp is None else use_amp
    amp = autocast_precision(getattr(policy, "device", None) or device)
    bf16, because = False, ""
    if use_amp and prefer_bf16 and amp == "fp16":
        bf16 = cuda_bf16_supported()
        amp = "bf16" if bf16 else amp
        because = (
            " as bf16 (lerobot_local.speed.bf16: the card supports it; no GradScaler)"
            if bf16
            else " (fp16: lerobot_local.speed.bf16 needs a CUDA card with bf16, none seen here)"
        )
    launcher = os.environ.get(PRECISION_ENV, "").strip().lower()
    launcher = launcher if launcher in ("bf16", "fp16", "fp8") else ""
    mapping = precision_mapping(config)
    if mapping == "accelerator_field":
        field = str(config.accelerator.mixed_precision or "no").lower()
        if field != "no":
            return PrecisionPlan(field, f"accelerator.mixed_precision={field}")
        if use_amp:
            if amp == "fp16" and getattr(getattr(config, "parallelism", None), "is_sharded", False):
                amp = "bf16"  # LeRobot main refuses fp16 with sharded (FSDP2) training
            return PrecisionPlan(
                amp,
                f"policy.use_amp=true{because}, set as accelerator.mixed_precision={amp} by lerobot-local "
                f"(LeRobot {version} reads only accelerator.mixed_precision)",
                apply="config",
            )
        return PrecisionPlan("no", "accelerator.mixed_precision=no")
    if mapping == "policy_dtype_or_use_amp":
        if hasattr(policy, "dtype") and getattr(policy, "dtype", None) in _DTYPE_TO_PRECISION:
            mode = _DTYPE_TO_PRECISION[policy.dtype]
            return PrecisionPlan(mode, f"policy.dtype={policy.dtype} (LeRobot {version} maps it itself)")
        if use_amp and bf16:  # LeRobot maps use_amp to torch's CUDA autocast dtype, which lerobot-local sets
            return PrecisionPlan(
                amp, f"policy.use_amp=true{because}, via torch's CUDA autocast dtype", apply="autocast_dtype"
            )
        if use_amp:
            return PrecisionPlan(amp, f"policy.use_amp=true{because} (LeRobot {version} maps it itself)")
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
            f"policy.use_amp=true{because}, via accelerate ({PRECISION_ENV}={amp} set by lerobot-local; "
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
    if plan.apply == "autocast_dtype":
        import torch  # heavy: a CUDA run in bf16

        torch.set_autocast_dtype("cuda", torch.bfloat16)
    elif plan.apply == "env":
        os.environ[PRECISION_ENV] = plan.mode
    elif plan.apply == "config":
        config.accelerator.mixed_precision = plan.mode


def local_model_present(name_or_path: str) -> bool:
    """True when a model id or folder can be loaded without the network (local folder or HF cache)."""
    if Path(name_or_path).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        # a model has config.json; a tokenizer-only or processor-only repository may have only its own file
        files = ("config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json")
        return any(isinstance(try_to_load_from_cache(name_or_path, f), str) for f in files)
    except Exception:
        return False


# Policy config fields naming a Hugging Face model, processor or tokenizer the policy loads when it is built.
HUB_MODEL_FIELDS = (
    "vlm_model_name",  # smolvla, evo1
    "text_tokenizer_name",  # pi0_fast
    "action_tokenizer_name",  # pi0_fast
    "tokenizer_name",  # xvla
    "qwen_model_name",  # vla_jepa (0.6)
    "jepa_encoder_name",  # vla_jepa (0.6)
)
# Models a policy type's processors load by a name written in LeRobot's code, not in its config.
POLICY_TYPE_HUB_MODELS = {"pi0": ("google/paligemma-3b-pt-224",), "pi05": ("google/paligemma-3b-pt-224",)}
# The config field naming torchvision weights of a policy's vision backbone (ACT, Diffusion, VQ-BeT): its
# modeling code passes it to ``torchvision.models.<vision_backbone>(weights=...)``, which downloads through
# torch.hub into ``$TORCH_HOME/hub/checkpoints/`` whenever the policy is built with an image feature.
BACKBONE_WEIGHTS_FIELD = "pretrained_backbone_weights"
BACKBONE_NAME_FIELD = "vision_backbone"


@dataclass(frozen=True)
class ModelDownload:
    """Something a policy loads when it is built: a Hugging Face model id or folder (``file`` None), or
    torchvision backbone weights (``file``: where torch.hub looks for them, ``url``: what it downloads)."""

    field: str  # the config field that names it, e.g. policy.vlm_model_name
    name: str
    file: Path | None = None
    url: str | None = None
    backbone: str | None = None

    @property
    def present(self) -> bool:
        if self.file is not None:
            return self.file.is_file()
        return local_model_present(self.name)


def _reads_images(policy: Any, dataset_features: dict[str, Any] | None) -> bool:
    """Whether the policy will be built with an image feature (its own input features when set, else the
    dataset's); unknown counts as yes."""
    inputs = getattr(policy, "input_features", None)
    if isinstance(inputs, dict) and inputs:
        return any(_type_name(getattr(f, "type", "")) == "VISUAL" for f in inputs.values())
    if isinstance(dataset_features, dict):
        return any(
            isinstance(f, dict) and f.get("dtype") in ("video", "image") for f in dataset_features.values()
        )
    return True


def torchvision_weights_file(weights: str) -> tuple[Path, str] | None:
    """(the file torch.hub reads, the URL it downloads) for a torchvision weights name such as
    ``ResNet18_Weights.IMAGENET1K_V1``; None when torchvision does not know the name."""
    import torch  # heavy: only when a policy names backbone weights
    from torchvision.models import get_weight

    try:
        url = get_weight(weights).url
    except Exception:  # an unknown name: torchvision raises when the policy is built
        return None
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url.split("?")[0]).name, url


def policy_downloads(policy: Any, dataset_features: dict[str, Any] | None = None) -> list[ModelDownload]:
    """Every model, processor, tokenizer or backbone weight file ``policy`` loads when it is built."""
    found = []
    for name in HUB_MODEL_FIELDS:
        value = getattr(policy, name, None)
        if isinstance(value, str) and value:
            found.append(ModelDownload(f"policy.{name}", value))
    for value in POLICY_TYPE_HUB_MODELS.get(policy_type(policy) or "", ()):
        found.append(ModelDownload(f"the {policy_type(policy)} processor", value))
    weights = getattr(policy, BACKBONE_WEIGHTS_FIELD, None)
    if isinstance(weights, str) and weights and _reads_images(policy, dataset_features):
        where = torchvision_weights_file(weights)
        if where is not None:
            backbone = getattr(policy, BACKBONE_NAME_FIELD, None)
            found.append(
                ModelDownload(f"policy.{BACKBONE_WEIGHTS_FIELD}", weights, where[0], where[1], backbone)
            )
    return found


def register_policy_configs() -> None:
    """Import LeRobot's policy configs so draccus knows ``policy.type`` choices (as lerobot-train does)."""
    try:
        importlib.import_module("lerobot.policies.factory")
    except ImportError as exc:
        raise missing("lerobot.policies.factory") from exc


# --- validation, offline evaluation (lerobot_local.validation) -------------------------------------------

# Names the train script imports into its namespace and that validation wraps: the training step (returns the
# metrics tracker whose averages LeRobot logs), the checkpoint writer (receives the live policy and
# processors) and the processor factory.
TRAIN_STEP_NAME = "update_policy"
SAVE_CHECKPOINT_NAME = "save_checkpoint"
PROCESSORS_FACTORY_NAME = "make_pre_post_processors"
MAKE_POLICY_NAME = "make_policy"
OPTIMIZER_FACTORY_NAME = "make_optimizer_and_scheduler"


def wrap_train_global(train_globals: dict[str, Any], name: str, make_wrapper: Any) -> None:
    """Replace ``name`` in the train script's namespace by ``make_wrapper(original)`` (once)."""
    original = train_globals.get(name)
    if original is None:
        raise missing(f"'{name}' in its training script")
    original = getattr(original, "__lerobot_local_original__", original)
    wrapper = make_wrapper(original)
    wrapper.__lerobot_local_original__ = original
    train_globals[name] = wrapper


# LeRobot's MetricsTracker meters that every supported line logs (0.4-0.6: loss, grdn, lr, updt_s, data_s)
TRACKER_METERS = ("loss", "grad_norm", "lr", "update_s", "dataloading_s")


def tracker_step_metrics(tracker: Any) -> dict[str, float]:
    """The averaged train metrics LeRobot logs at a log step (loss, grad norm, lr, update and data-loading
    seconds) from its MetricsTracker."""
    out = {}
    for name in TRACKER_METERS:
        meter = tracker.metrics.get(name) if isinstance(getattr(tracker, "metrics", None), dict) else None
        if meter is not None and getattr(meter, "count", 0):
            out[name] = float(meter.avg)
    return out


def tracker_steps(tracker: Any) -> int:
    """Steps done before the current update (LeRobot increments the tracker after ``update_policy``)."""
    return int(getattr(tracker, "steps", 0) or 0)


def unwrap_model(model: Any) -> Any:
    """The policy inside a DDP/accelerate wrapper."""
    while hasattr(model, "module") and not hasattr(model, "predict_action_chunk"):
        model = model.module
    return model


def smolvla_inner_model(policy: Any) -> Any | None:
    """SmolVLA's VLM-with-expert module inside a (wrapped) policy; None for any other policy."""
    model = getattr(unwrap_model(policy), "model", None)
    inner = getattr(model, "vlm_with_expert", None)
    return inner if inner is not None and hasattr(inner, "get_attention_interface") else None


def smolvla_vision_encoder(policy: Any) -> Any | None:
    """SmolVLA's (frozen by default) SigLIP vision encoder; None for any other policy."""
    inner = smolvla_inner_model(policy)
    try:
        return inner.get_vlm_model().vision_model if inner is not None else None
    except AttributeError:
        return None


def smolvla_use_sdpa(policy: Any) -> bool:
    """Route SmolVLA's expert attention through ``scaled_dot_product_attention`` (fused kernels) instead of
    its eager matmuls. Same masking as LeRobot's eager code (an additive mask at the dtype's minimum, so a
    row with nothing to attend to averages instead of giving NaN). False where the policy is not SmolVLA."""
    import torch  # heavy: only on a run that asks for it

    inner = smolvla_inner_model(policy)
    if inner is None or not hasattr(inner, "eager_attention_forward"):
        return False
    heads, kv_heads = inner.num_attention_heads, inner.num_key_value_heads

    def sdpa_attention(attention_mask, batch_size, head_dim, query_states, key_states, value_states):
        dtype = value_states.dtype
        q = query_states.to(dtype).transpose(1, 2)
        k = key_states.to(dtype).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
        v = value_states.transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
        bias = torch.zeros(attention_mask.shape, dtype=dtype, device=q.device)
        bias.masked_fill_(~attention_mask, torch.finfo(dtype).min)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias[:, None])
        return out.transpose(1, 2).reshape(batch_size, -1, heads * head_dim)

    inner.get_attention_interface = lambda: sdpa_attention
    return True


def open_dataset(
    root: Path, episodes: list[int] | None, policy_config: Any, video_backend: str = "pyav"
) -> Any:
    """The local v3.0 dataset at ``root`` restricted to ``episodes``, with the frames the policy reads
    (``delta_timestamps`` from its config, as ``make_dataset`` builds them), no image augmentation."""
    force_offline()
    try:
        from lerobot.datasets.factory import resolve_delta_timestamps
        from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
    except ImportError as exc:
        raise missing("lerobot.datasets.factory.resolve_delta_timestamps") from exc
    root = Path(root)
    meta = LeRobotDatasetMetadata(f"local/{root.name}", root=root)
    return LeRobotDataset(
        f"local/{root.name}",
        root=root,
        episodes=episodes,
        delta_timestamps=resolve_delta_timestamps(policy_config, meta),
        video_backend=video_backend,
    )


def dataset_camera_keys(dataset: Any) -> list[str]:
    return list(dataset.meta.camera_keys)


def dataset_video_keys(dataset: Any) -> list[str]:
    """The camera keys stored as video (decoding them is what data-loader workers are for)."""
    return list(getattr(dataset.meta, "video_keys", []) or [])


def dataset_action_mean(dataset: Any) -> Any:
    """The dataset's mean action (its stats, dataset units) as a numpy array, or None."""
    import numpy as np

    stats = getattr(dataset.meta, "stats", None) or {}
    mean = (stats.get("action") or {}).get("mean")
    return None if mean is None else np.asarray(mean, dtype=np.float64).reshape(-1)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch dataset items as LeRobot's dataloader does."""
    try:
        from lerobot.utils.collate import lerobot_collate_fn

        return lerobot_collate_fn(items)
    except ImportError:  # 0.4.x: the torch default
        from torch.utils.data import default_collate

        return default_collate(items)


def prepare_batch(batch: dict[str, Any], camera_keys: list[str]) -> dict[str, Any]:
    """What the train loop does to a batch before the preprocessor (0.6.x: uint8 camera frames -> [0, 1])."""
    import torch

    batch = dict(batch)
    for key in camera_keys:
        if key in batch and getattr(batch[key], "dtype", None) == torch.uint8:
            batch[key] = batch[key].to(dtype=torch.float32) / 255.0
    return batch


def action_chunk(policy: Any, batch: dict[str, Any]) -> Any:
    """The policy's predicted (normalised) action chunk, shape (batch, horizon, action dim)."""
    if not hasattr(policy, "predict_action_chunk"):
        raise missing(f"predict_action_chunk on {type(policy).__name__}")
    chunk = policy.predict_action_chunk(batch)
    return chunk if chunk.dim() == 3 else chunk.unsqueeze(1)


def policy_executes(policy_config: Any) -> int:
    """How many actions of a chunk the policy executes before predicting again."""
    for name in ("n_action_steps", "chunk_size", "horizon"):
        value = getattr(policy_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 1


def policy_features(policy_config: Any) -> dict[str, tuple[int, ...]]:
    """Feature name -> shape of the policy's inputs and outputs."""
    out = {}
    for group in ("input_features", "output_features"):
        for key, feature in (getattr(policy_config, group, None) or {}).items():
            out[key] = tuple(int(n) for n in getattr(feature, "shape", ()))
    return out


def pretrained_dir_of(checkpoint: Path) -> Path | None:
    """The ``pretrained_model`` folder of a checkpoint (or the folder itself when it is one), or None."""
    checkpoint = Path(checkpoint)
    for candidate in (checkpoint / PRETRAINED_DIR, checkpoint):
        if (candidate / "config.json").is_file() and (candidate / "model.safetensors").is_file():
            return candidate
    return None


def read_train_config(pretrained_dir: Path) -> dict[str, Any]:
    """The checkpoint's ``train_config.json`` as a dict (empty when absent)."""
    import json

    path = Path(pretrained_dir) / TRAIN_CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def train_config_dict(cfg: Any) -> dict[str, Any]:
    """The parsed train config (what LeRobot saves as train_config.json)."""
    try:
        return cfg.to_dict()
    except Exception:
        return {}


def load_policy_from_checkpoint(pretrained_dir: Path, device: str) -> tuple[Any, Any, Any, Any]:
    """(policy config, policy, preprocessor, postprocessor) of a saved checkpoint, on ``device``."""
    force_offline()
    register_policy_configs()
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    config = PreTrainedConfig.from_pretrained(str(pretrained_dir))
    config.device = device
    config.pretrained_path = str(pretrained_dir)
    # Some policies print while loading ("Reducing the number of VLM layers ..."): our commands' stdout is
    # their report, so LeRobot's chatter goes to the log (stderr) instead.
    chatter = io.StringIO()
    # the backbone's ImageNet weights would be downloaded only to be replaced by the checkpoint's own
    building = copy.copy(config)
    if getattr(building, BACKBONE_WEIGHTS_FIELD, None):
        setattr(building, BACKBONE_WEIGHTS_FIELD, None)
    with contextlib.redirect_stdout(chatter):
        policy = get_policy_class(config.type).from_pretrained(str(pretrained_dir), config=building)
    for line in chatter.getvalue().splitlines():
        if line.strip():
            logging.getLogger("lerobot_local").info("LeRobot: %s", line.strip())
    policy.to(device)
    policy.eval()
    pre, post = make_pre_post_processors(
        policy_cfg=config,
        pretrained_path=str(pretrained_dir),
        preprocessor_overrides={"device_processor": {"device": device}},
    )
    return config, policy, pre, post


def untrained_policy(config: Any, dataset: Any, device: str, seed: int, keep_pretrained: bool = False) -> Any:
    """A freshly initialised policy with ``config`` (the untrained reference), seeded; with
    ``keep_pretrained`` the weights ``config.pretrained_path`` names (a fine-tuning run's starting point)."""
    import copy

    import torch
    from lerobot.policies.factory import make_policy

    fresh = copy.deepcopy(config)
    if not keep_pretrained:
        fresh.pretrained_path = None
    fresh.device = device
    torch.manual_seed(seed)
    policy = make_policy(cfg=fresh, ds_meta=dataset.meta)
    policy.to(device)
    policy.eval()
    return policy


# --- closed-loop evaluation in a simulator (lerobot_local.closed_loop) -----------------------------------

# Simulators register themselves with LeRobot as ``lerobot_env_*`` distributions (LeRobot 0.6 imports them in
# register_third_party_plugins; 0.4 only looks for robots and policies, so we import them ourselves).
ENV_PLUGIN_PREFIX = "lerobot_env_"
# The lerobot-eval name of the rollout function whose env we wrap (the success signal, see activation.py).
EVAL_ROLLOUT_NAME = "rollout"


def register_env_plugins() -> dict[str, str]:
    """Import LeRobot's env configs and every installed ``lerobot_env_*`` package; returns the packages that
    failed to import, with why (a simulator built for another LeRobot release), for the error needing it."""
    try:
        importlib.import_module("lerobot.envs.configs")
    except ImportError as exc:
        raise missing("lerobot.envs.configs") from exc
    failed = {}
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").replace("-", "_")
        if not name.startswith(ENV_PLUGIN_PREFIX) or name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # one broken simulator must not hide the others
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed


def env_types() -> list[str]:
    """The ``--env.type`` choices LeRobot knows (after :func:`register_env_plugins`)."""
    from lerobot.envs.configs import EnvConfig

    return sorted(EnvConfig.get_known_choices())


def env_config(env_type: str, flags: list[str], failed: dict[str, str] | None = None) -> Any:
    """LeRobot's EnvConfig for ``--env.type=env_type`` with the ``--env.<field>=value`` flags given (without
    the ``env.`` prefix: ``["--task=X"]``), parsed by draccus as lerobot-eval parses them; ``failed`` (from
    :func:`register_env_plugins`) explains an unknown type."""
    import draccus
    from lerobot.envs.configs import EnvConfig

    try:
        cls = EnvConfig.get_choice_class(env_type)
    except KeyError as exc:
        why = "".join(
            f"; {name} is installed but does not import with LeRobot {lerobot_version()} ({error})"
            for name, error in (failed or {}).items()
        )
        raise ValueError(f"unknown --env.type={env_type}; LeRobot knows {env_types()}{why}") from exc
    return draccus.parse(config_class=cls, args=flags)


def env_config_fields(env_type: str) -> list[str]:
    """The ``--env.<field>`` names the env type's config takes."""
    import dataclasses

    from lerobot.envs.configs import EnvConfig

    return [f.name for f in dataclasses.fields(EnvConfig.get_choice_class(env_type))]


def make_one_env(cfg: Any) -> tuple[Any, str, list[str]]:
    """One (not vectorised) gym env for ``cfg``: (env, gym id, notes). ``gym_kwargs`` the env's constructor
    does not take are left out, with a note (LeRobot's make_env passes them all and fails with a TypeError,
    e.g. ``reward_type`` for SO101PickPlace-v0)."""
    import inspect

    import gymnasium as gym

    gym_id = cfg.gym_id
    if gym_id not in gym.registry:
        importlib.import_module(cfg.package_name)
    if gym_id not in gym.registry:
        namespace = gym_id.split("/")[0]
        known = sorted(i.split("/", 1)[1] for i in gym.registry if i.startswith(namespace + "/"))
        raise ValueError(
            f"--env.task={getattr(cfg, 'task', None)}: {namespace} has no such env (it registers {known})"
        )
    spec = gym.spec(gym_id)
    kwargs = dict(cfg.gym_kwargs)
    notes = []
    entry = spec.entry_point
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    try:
        params = inspect.signature(entry).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if params and not takes_any:
        for name in sorted(set(kwargs) - set(params) - {"max_episode_steps"}):
            notes.append(
                f"{gym_id} does not take {name}={kwargs.pop(name)!r} (from LeRobot's env config): not passed"
            )
    env = gym.make(gym_id, disable_env_checker=True, **kwargs)
    return env, gym_id, notes


def env_processors(cfg: Any, policy_config: Any) -> tuple[Any, Any]:
    """The env's observation/action processors (LIBERO-style envs need them; identity elsewhere)."""
    try:
        from lerobot.envs.factory import make_env_pre_post_processors
    except ImportError:
        return (lambda batch: batch), (lambda action: action)
    return make_env_pre_post_processors(env_cfg=cfg, policy_cfg=policy_config)


def env_observation_batch(observation: dict[str, Any], task: str) -> dict[str, Any]:
    """One env observation as the policy's batch of one: LeRobot's key mapping and image layout."""
    from lerobot.envs.utils import preprocess_observation

    batch = preprocess_observation(observation)
    batch["task"] = [task]
    return batch


def policy_env_action(policy: Any, processors: tuple[Any, Any, Any, Any], batch: dict[str, Any]) -> Any:
    """The action the policy sends to the env for one observation batch (numpy, shape (action dim,))."""
    import torch

    env_pre, env_post, pre, post = processors
    batch = pre(env_pre(batch))
    with torch.inference_mode():
        action = policy.select_action(batch)
    action = post(action)
    action = env_post({"action": action})["action"]
    return action.to("cpu").numpy()[0]


def fresh_policy(config: Any, device: str, seed: int) -> Any:
    """The policy class of ``config`` with freshly initialised weights (seeded): the untrained reference
    (normalised by the trained checkpoint's processors, i.e. with the dataset's stats)."""
    import copy

    import torch
    from lerobot.policies.factory import get_policy_class

    fresh = copy.deepcopy(config)
    fresh.pretrained_path = None
    fresh.device = device
    torch.manual_seed(seed)
    policy = get_policy_class(fresh.type)(fresh)
    policy.to(device)
    policy.eval()
    return policy


def env_type_of(eval_config: Any) -> str | None:
    """The ``--env.type`` of lerobot-eval's parsed config (None when it has no env)."""
    env = getattr(eval_config, "env", None)
    if env is None:
        return None
    try:
        return env.type
    except Exception:
        return type(env).__name__


def wrap_eval_rollout(eval_globals: dict[str, Any], wrap_env: Any) -> None:
    """In lerobot-eval's namespace, run ``rollout`` on ``wrap_env(env)`` instead of the env."""

    def make_wrapper(original: Any) -> Any:
        def rollout(env: Any, *args: Any, **kwargs: Any) -> Any:
            return original(wrap_env(env), *args, **kwargs)

        return rollout

    wrap_train_global(eval_globals, EVAL_ROLLOUT_NAME, make_wrapper)


# --- value checks (lerobot_local.values) -----------------------------------------------------------------


# The policy's normalization_mapping is keyed by feature type; LeRobot types a feature by its key, and a
# type the mapping does not name is not normalised (IDENTITY).
def normalised_features(policy: Any, keys: list[str]) -> set[str] | None:
    """The feature keys the policy normalises (mean/std, min/max, ...), or None when it does not say."""
    mapping = getattr(policy, "normalization_mapping", None)
    if not isinstance(mapping, dict):
        return None
    chosen = set()
    for key in keys:
        if key == "action":
            kind = "ACTION"
        elif key == "observation.environment_state":
            kind = "ENV"
        elif key.startswith("observation.images.") or key.startswith("observation.image"):
            kind = "VISUAL"
        else:
            kind = "STATE"
        mode = mapping.get(kind)
        value = str(getattr(mode, "value", mode) or "IDENTITY").upper()
        if value != "IDENTITY":
            chosen.add(key)
    return chosen


# --- "did you mean" for command-line flags (lerobot_local.suggest) ---------------------------------------


@dataclass(frozen=True)
class ConfigFlags:
    """The ``--a.b`` flags a draccus config accepts: ``exact`` names, and ``open`` prefixes under which any
    name is accepted (a dict or free-form field)."""

    exact: frozenset[str]
    open: frozenset[str]

    def accepts(self, name: str) -> bool:
        return name in self.exact or any(name.startswith(p + ".") for p in self.open)


def _field_types(cls: type) -> dict[str, Any]:
    import dataclasses
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference that does not resolve: the declared (string) types
        return {f.name: f.type for f in dataclasses.fields(cls)}


def _dataclasses_in(annotation: Any) -> list[type]:
    """The dataclass types an annotation names (``X``, ``X | None``, ``Optional[X]``)."""
    import dataclasses
    import types
    import typing

    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return [annotation]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return []  # dict[str, X], list[X]: entries, not fields
    return [a for a in typing.get_args(annotation) if isinstance(a, type) and dataclasses.is_dataclass(a)]


def config_flags(cls: type, prefix: str = "", _seen: tuple[type, ...] = ()) -> ConfigFlags:
    """Every flag of the draccus dataclass ``cls``: nested dataclasses by their dotted path, a choice
    registry (``policy``, ``env``...) by the fields of all its registered choices plus ``type``, LeRobot's
    ``path`` fields (``policy.path``) and plugin discovery (``discover_packages_path``)."""
    import dataclasses
    import typing

    exact: set[str] = set()
    open_: set[str] = set()
    path_fields = set(cls.__get_path_fields__()) if hasattr(cls, "__get_path_fields__") else set()
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        exact.add(name)
        annotation = hints.get(f.name, f.type)
        nested = [t for t in _dataclasses_in(annotation) if t not in _seen]
        if not nested:
            if typing.get_origin(annotation) is dict or annotation in (dict, Any):
                open_.add(name)
            continue
        for sub in nested:
            choices = sub.get_known_choices() if hasattr(sub, "get_known_choices") else {}
            if choices:
                exact.update({f"{name}.type", f"{name}.discover_packages_path"})
            for klass in [sub, *choices.values()]:
                if dataclasses.is_dataclass(klass):
                    inner = config_flags(klass, f"{name}.", (*_seen, cls))
                    exact |= inner.exact
                    open_ |= inner.open
        if f.name in path_fields:
            exact.add(f"{name}.path")
    return ConfigFlags(frozenset(exact), frozenset(open_))


@cache
def train_cli_flags() -> ConfigFlags:
    """The flags the installed ``lerobot-train`` accepts, read from its config dataclasses (every
    registered policy, env... type), plus ``config_path`` and ``help`` of its parser."""
    register_policy_configs()
    found = config_flags(train_config_class())
    return ConfigFlags(found.exact | {"config_path", "help"}, found.open)


# --- normalisation of what a policy reads (lerobot_local.checks.normalization; issue 26, part A) -----------

# What each policy type feeds its model, read in its modeling_*.py on LeRobot 0.4.4, 0.5.1 and 0.6.1: "state"
# is observation.state (config.robot_state_feature), "env" observation.environment_state
# (config.env_state_feature, or input_features[OBS_ENV_STATE] for sac/gaussian_actor), "images" every VISUAL
# feature, "action" the target it learns to predict. A policy type missing here is not known: the check says
# so instead of passing. Its normalizer step looks up each feature's type in normalization_mapping and treats
# a type with no entry as IDENTITY (processor/normalize_processor.py: norm_map.get(type, IDENTITY)).
_READS_ENV = frozenset({"state", "env", "images", "action"})
_READS_NO_ENV = frozenset({"state", "images", "action"})
_ENV_READERS = ("act", "diffusion", "tdmpc", "sac", "gaussian_actor")
_NO_ENV_READERS = ("vqbet", "smolvla", "pi0", "pi05", "pi0_fast", "groot", "xvla", "wall_x")
_NO_ENV_READERS_06 = ("eo1", "evo1", "molmoact2", "multi_task_dit")  # LeRobot 0.6.x only
POLICY_READS: dict[str, frozenset[str]] = {
    **dict.fromkeys(_ENV_READERS, _READS_ENV),
    **dict.fromkeys(_NO_ENV_READERS + _NO_ENV_READERS_06, _READS_NO_ENV),
}
OBS_STATE_KEY = "observation.state"
OBS_ENV_STATE_KEY = "observation.environment_state"
# LeRobot's modules that define dataset_to_policy_features, newest first (0.6.x, 0.5.x, 0.4.x).
_POLICY_FEATURES_MODULES = (
    "lerobot.utils.feature_utils",
    "lerobot.datasets.feature_utils",
    "lerobot.datasets.utils",
)


def _dataset_to_policy_features() -> Any:
    for name in _POLICY_FEATURES_MODULES:
        try:
            return importlib.import_module(name).dataset_to_policy_features
        except (ImportError, AttributeError):
            continue
    raise missing("dataset_to_policy_features (" + ", ".join(_POLICY_FEATURES_MODULES) + ")")


def _type_name(value: Any) -> str:
    return str(getattr(value, "value", value))


# The image axis names LeRobot reads as channel-last, turned channel-first for the policy (its own
# ``dataset_to_policy_features``: ``channels``, and ``channel`` written by v2.0 ports). Used only when
# LeRobot's function cannot read an entry.
CHANNEL_LAST_NAMES = ("channel", "channels")


def dataset_feature_shapes(dataset_features: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Feature key -> the shape the policy sees it with, as LeRobot's own ``dataset_to_policy_features`` makes
    it (an image named ``[height, width, channel(s)]`` becomes channel-first); an entry LeRobot cannot read or
    does not hand a policy keeps its ``info.json`` shape."""
    convert = _dataset_to_policy_features()
    shapes: dict[str, tuple[int, ...]] = {}
    for key, feature in dataset_features.items():
        if not isinstance(feature, dict):
            continue
        try:
            found = convert({key: feature})
        except Exception:  # malformed entry: the dataset check names it
            found = {}
        if key in found:
            shapes[key] = tuple(int(n) for n in found[key].shape)
            continue
        try:
            shape = tuple(int(n) for n in feature.get("shape") or ())
        except (TypeError, ValueError):
            continue
        names = feature.get("names") if isinstance(feature.get("names"), list) else []
        visual = feature.get("dtype") in ("video", "image")
        if visual and len(shape) == 3 and len(names) == 3 and names[2] in CHANNEL_LAST_NAMES:
            shape = (shape[2], shape[0], shape[1])
        shapes[key] = shape
    return shapes


def policy_type(policy: Any) -> str | None:
    """The ``policy.type`` name of a policy config (None when it has none)."""
    try:
        name = policy.type
    except Exception:
        return None
    return name if isinstance(name, str) else None


def policy_reads(policy_type_name: str | None) -> frozenset[str] | None:
    """What the policy type feeds its model (``state``, ``env``, ``images``, ``action``); None: not known."""
    return POLICY_READS.get(policy_type_name or "")


def normalization_modes(policy: Any) -> dict[str, str] | None:
    """The policy config's ``normalization_mapping`` as feature type -> mode names (None: it has none)."""
    mapping = getattr(policy, "normalization_mapping", None)
    if not isinstance(mapping, dict):
        return None
    return {_type_name(k): _type_name(v) for k, v in mapping.items()}


def typed_policy_features(policy: Any, dataset_features: dict[str, Any]) -> dict[str, str]:
    """Feature key -> LeRobot feature type (VISUAL, STATE, ENV, ACTION, ...) of what ``make_policy`` hands the
    policy: its ``input_features`` when the config sets them (a pretrained policy), else the dataset's typed
    by LeRobot's own ``dataset_to_policy_features``; plus the dataset's action features. A feature LeRobot
    cannot type (a malformed entry: the dataset check reports it) is left out."""
    convert = _dataset_to_policy_features()
    typed: dict[str, str] = {}
    for key, feature in dataset_features.items():
        try:
            found = convert({key: feature})
        except Exception:  # malformed info.json entry: the dataset check names it
            continue
        typed.update({k: _type_name(f.type) for k, f in found.items()})
    outputs = {k: t for k, t in typed.items() if t == "ACTION"}
    inputs = getattr(policy, "input_features", None)
    if isinstance(inputs, dict) and inputs:
        declared = {k: _type_name(getattr(f, "type", "")) for k, f in inputs.items()}
        return {**declared, **outputs}
    return typed


def feature_role(key: str, feature_type: str) -> str | None:
    """The role (see :data:`POLICY_READS`) a typed feature plays for the known policies, or None (an extra
    STATE feature such as observation.velocity: no known policy feeds it to its model)."""
    if feature_type == "VISUAL":
        return "images"
    if feature_type == "ACTION":
        return "action"
    if feature_type == "ENV" and key == OBS_ENV_STATE_KEY:
        return "env"
    if feature_type == "STATE" and key == OBS_STATE_KEY:
        return "state"
    return None


# The stats each normalisation mode needs in meta/stats.json (normalize_processor.py): a feature with no stats
# at all is passed through raw, silently; a mode whose stats are missing raises at the first batch.
NORMALIZATION_STATS: dict[str, tuple[str, ...]] = {
    "MEAN_STD": ("mean", "std"),
    "MIN_MAX": ("min", "max"),
    "QUANTILES": ("q01", "q99"),
    "QUANTILE10": ("q10", "q90"),
}
