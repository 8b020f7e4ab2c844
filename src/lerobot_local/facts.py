"""The facts the checks may know, gathered once and handed to every check plugin.

:class:`DatasetFacts` is what is known about a dataset folder alone (``lerobot-local check``, the converter);
:class:`RunFacts` adds what is known about a training run. ``lerobot-train`` and ``lerobot-local preflight``
both call :func:`gather_run_facts` with the same prepared argv (see :mod:`lerobot_local.config_file`), so
their check tables agree by construction: no check reads ``sys.argv``, reloads the pretrained policy config
or re-reads ``meta/info.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.argv import arg_value
from lerobot_local.convert.errors import ConversionError
from lerobot_local.convert.source import SourceDataset, read_source
from lerobot_local.dataset import V2X, LocalDataset, local_dataset, read_info, version_of
from lerobot_local.validation.config import ValidationSettings
from lerobot_local.validation.split import Split, SplitError, compute_split, episode_tasks


@dataclass(frozen=True)
class DatasetFacts:
    """One dataset folder as the dataset checks see it: its ``info.json`` and, by version, the readable
    v3.0 dataset (``local``) or the readable v2.x source (``source``, else ``source_error``).
    ``normalised``: the features the policy normalises, when a policy is known (None otherwise)."""

    root: Path
    info: dict[str, Any] | None
    info_error: str | None
    local: LocalDataset | None = None
    source: SourceDataset | None = None
    source_error: ConversionError | None = None
    normalised: frozenset[str] | None = None

    @property
    def version(self) -> str | None:
        return version_of(self.info)


def gather_dataset_facts(root: Path, policy: Any | None = None) -> DatasetFacts:
    """Read what the dataset checks need from the folder ``root`` (never writes); ``policy``: the policy
    config of a run, when there is one (it says which features are normalised)."""
    info, error = read_info(root)
    version = version_of(info)
    normalised = None
    if policy is not None and info is not None:
        features = info.get("features")
        keys = [k for k, f in features.items() if isinstance(f, dict)] if isinstance(features, dict) else []
        chosen = compat.normalised_features(policy, keys)
        normalised = frozenset(chosen) if chosen is not None else None
    local = source = source_error = None
    if info is not None and version == "v3.0":
        local = local_dataset(root, info)
    elif info is not None and version in V2X:
        try:
            source = read_source(root)
        except ConversionError as exc:
            source_error = exc
    return DatasetFacts(root, info, error, local, source, source_error, normalised)


@dataclass(frozen=True)
class RunFacts:
    """What the checks may know about a run. ``policy`` is the policy config the run will train
    (the pretrained one with its overrides when ``policy_path`` is set), or None with ``policy_error``."""

    config: Any
    argv: tuple[str, ...]
    policy_path: str | None
    policy: Any | None
    policy_error: str | None
    resume: bool
    resume_checkpoint: Path | None
    dataset_root: Path | None  # dataset.root as the config gives it (None: unset)
    data: DatasetFacts | None  # None when dataset.root is unset or not a folder
    precision: compat.PrecisionPlan
    launch: compat.Launch
    split: Split | None = None  # the held-out episodes (None: validation off, or split_error says why)
    split_error: str | None = None

    @property
    def dataset(self) -> LocalDataset | None:
        """The readable local v3.0 dataset the run trains on (None: the dataset check says why)."""
        return self.data.local if self.data is not None else None

    @property
    def dataset_info(self) -> dict[str, Any] | None:
        return self.data.info if self.data is not None else None


def _arg(argv: list[str], name: str) -> str | None:
    found = arg_value(argv, name)  # the same reading of argv that prepared it
    return found[1] if found else None


def _precision(config: Any, policy: Any | None, argv: list[str], prefer_bf16: bool) -> compat.PrecisionPlan:
    """The run's precision; without a readable policy config, from the file's or command line's
    ``policy.use_amp``/``policy.device`` (the file's policy fields are on the command line by now)."""
    if policy is not None:
        return compat.precision_plan(config, policy, prefer_bf16=prefer_bf16)
    use_amp = _arg(argv, "policy.use_amp")
    asked = None if use_amp is None else use_amp.strip().lower() in ("true", "1", "yes")
    return compat.precision_plan(config, None, asked, _arg(argv, "policy.device"), prefer_bf16)


def _split(config: Any, local: LocalDataset | None, validation: ValidationSettings | None):
    """The held-out episodes of the run, computed once (the validation check and training both read it)."""
    if validation is None or not validation.enabled or local is None:
        return None, None
    candidates = getattr(getattr(config, "dataset", None), "episodes", None)
    try:
        return compute_split(episode_tasks(local.root), validation, candidates), None
    except SplitError as exc:
        return None, str(exc)


def gather_run_facts(
    config: Any, argv: list[str], validation: ValidationSettings | None = None, prefer_bf16: bool = False
) -> RunFacts:
    """Build the run facts from LeRobot's parsed ``config``, the ``argv`` it was parsed from and the
    plugin's validation settings (the held-out split); ``prefer_bf16``: ``lerobot_local.speed.bf16``."""
    argv = list(argv)
    policy_path = _arg(argv, "policy.path")
    overrides = compat.policy_cli_overrides(argv) if policy_path else []
    if policy_path:
        policy, policy_error = compat.load_policy_config(policy_path, overrides)
    else:
        policy, policy_error = getattr(config, "policy", None), None
    resume = bool(getattr(config, "resume", False))
    config_path = _arg(argv, "config_path")
    checkpoint = compat.checkpoint_of_train_config(Path(config_path)) if resume and config_path else None
    root_value = getattr(getattr(config, "dataset", None), "root", None)
    root = Path(root_value).expanduser() if root_value else None
    data = gather_dataset_facts(root, policy) if root is not None and root.is_dir() else None
    split, split_error = _split(config, data.local if data is not None else None, validation)
    return RunFacts(
        config=config,
        argv=tuple(argv),
        policy_path=policy_path,
        policy=policy,
        policy_error=policy_error,
        resume=resume,
        resume_checkpoint=checkpoint,
        dataset_root=root,
        data=data,
        precision=_precision(config, policy, argv, prefer_bf16),
        launch=compat.launch(),
        split=split,
        split_error=split_error,
    )
