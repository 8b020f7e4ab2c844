"""The draccus choice registry of dataset converters (``local_v21``, ``local_v20``, third-party ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import draccus

from lerobot_local.registries import load_from_plugins

if TYPE_CHECKING:
    from lerobot_local.convert.run import ConversionReport, ConvertJob


@dataclass
class ConverterConfig(draccus.ChoiceRegistry):
    """A converter from some LeRobot dataset versions to v3.0; subclasses register under a name."""

    source_versions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def convert(self, job: ConvertJob) -> ConversionReport:  # pragma: no cover - abstract
        raise NotImplementedError


@ConverterConfig.register_subclass("local_v21")
@dataclass
class LocalV21Converter(ConverterConfig):
    """Local, verified, non-destructive v2.1 -> v3.0 conversion (stats taken from episodes_stats.jsonl)."""

    source_versions: ClassVar[tuple[str, ...]] = ("v2.1",)
    description: ClassVar[str] = "v2.1 -> v3.0, local and verified (lerobot-local)"

    def convert(self, job: ConvertJob) -> ConversionReport:
        from lerobot_local.convert.run import run_conversion

        return run_conversion(job, converter_name=self.get_choice_name(type(self)))


@ConverterConfig.register_subclass("local_v20")
@dataclass
class LocalV20Converter(LocalV21Converter):
    """v2.0 -> v3.0: like ``local_v21``, computing the per-episode stats v2.0 lacks, as LeRobot does."""

    source_versions: ClassVar[tuple[str, ...]] = ("v2.0",)
    description: ClassVar[str] = "v2.0 -> v3.0, per-episode stats computed (lerobot-local)"


@ConverterConfig.register_subclass("local_v30_restats")
@dataclass
class LocalV30Restats(ConverterConfig):
    """v3.0 -> a v3.0 copy with stats recomputed from the data (--stats=recompute) and/or without some
    cameras (--drop_features=...); never in place."""

    source_versions: ClassVar[tuple[str, ...]] = ("v3.0",)
    description: ClassVar[str] = "v3.0 -> v3.0 copy: --stats=recompute, --drop_features=CAM"

    def convert(self, job: ConvertJob) -> ConversionReport:
        if job.drop_features:
            from lerobot_local.convert.v30_copy import copy_without  # imports the dataset checks (plugins)

            return copy_without(job, converter_name=self.get_choice_name(type(self)))
        from lerobot_local.convert.restats import restats  # imports the dataset checks (plugins)

        return restats(job, converter_name=self.get_choice_name(type(self)))


def known_converters() -> dict[str, type[ConverterConfig]]:
    """Every registered converter (built-in and from plugins), by name."""
    load_from_plugins(ConverterConfig, "lerobot_local_register_converters", "converter")
    return dict(ConverterConfig.get_known_choices())


def converter_for_version(version: str) -> tuple[str, type[ConverterConfig]] | None:
    """The first registered converter that reads ``version`` (built-ins first)."""
    for name, cls in known_converters().items():
        if version in cls.source_versions:
            return name, cls
    return None
