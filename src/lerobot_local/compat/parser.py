"""The command line and config LeRobot parses: its parser, ``TrainPipelineConfig``, renamed fields, flags.

``parse_train_config`` parses argv as lerobot-train does; ``config_flags`` lists every flag a draccus config
accepts (``lerobot_local.suggest``'s "did you mean").
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from lerobot_local.argv import argv_as
from lerobot_local.compat.policies import register_policy_configs
from lerobot_local.compat.versions import RENAMED_TRAIN_FIELDS, missing


def train_config_fields() -> set[str]:
    """Field names of the installed ``TrainPipelineConfig``."""
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


def first_param_annotation(fn: Any) -> Any:
    """The annotation of ``fn``'s first parameter (LeRobot's parser reads the config class from it)."""
    import inspect

    spec = inspect.getfullargspec(fn)
    if not spec.args or spec.args[0] not in spec.annotations:
        raise missing(f"a config annotation on {getattr(fn, '__qualname__', fn)}")
    return spec.annotations[spec.args[0]]


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


@dataclass(frozen=True)
class ConfigFlags:
    """The ``--a.b`` flags a draccus config accepts: ``exact`` names, and ``open`` prefixes under which any
    name is accepted (a dict or free-form field)."""

    exact: frozenset[str]
    open: frozenset[str]

    def accepts(self, name: str) -> bool:
        return name in self.exact or any(name.startswith(p + ".") for p in self.open)


def _field_types(cls: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference that does not resolve: the declared (string) types
        return {f.name: f.type for f in dataclasses.fields(cls)}


def _dataclasses_in(annotation: Any) -> list[type]:
    """The dataclass types an annotation names (``X``, ``X | None``, ``Optional[X]``)."""
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
