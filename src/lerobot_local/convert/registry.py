"""The draccus choice registry of dataset converters (``local_v21``, ``local_v20``, third-party ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import draccus

if TYPE_CHECKING:
    from lerobot_local.convert.run import ConversionReport, ConvertJob


@dataclass
class ConverterConfig(draccus.ChoiceRegistry):
    """A converter from some LeRobot dataset versions to v3.0; subclasses register under a name."""

    source_versions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def convert(self, job: ConvertJob) -> ConversionReport:  # pragma: no cover - abstract
        raise NotImplementedError


def known_converters() -> dict[str, type[ConverterConfig]]:
    """Every registered converter (built-in and from plugins), by name."""
    from lerobot_local.registries import load_registrations

    load_registrations()
    return dict(ConverterConfig.get_known_choices())


def converter_for_version(version: str) -> tuple[str, type[ConverterConfig]] | None:
    """The first registered converter that reads ``version`` (built-ins first)."""
    for name, cls in known_converters().items():
        if version in cls.source_versions:
            return name, cls
    return None
