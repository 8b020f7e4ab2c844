"""The built-in converters: ``local_v21`` (v2.1 -> v3.0) and ``local_v20`` (v2.0 -> v3.0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from lerobot_local.convert.registry import ConverterConfig

if TYPE_CHECKING:
    from lerobot_local.convert.run import ConversionReport, ConvertJob


@dataclass
class LocalV21Converter(ConverterConfig):
    """Local, verified, non-destructive v2.1 -> v3.0 conversion (stats taken from episodes_stats.jsonl)."""

    source_versions: ClassVar[tuple[str, ...]] = ("v2.1",)
    description: ClassVar[str] = "v2.1 -> v3.0, local and verified (lerobot-local)"

    def convert(self, job: ConvertJob) -> ConversionReport:
        from lerobot_local.convert.run import run_conversion

        return run_conversion(job, converter_name=self.get_choice_name(type(self)))


@dataclass
class LocalV20Converter(LocalV21Converter):
    """v2.0 -> v3.0: like ``local_v21``, computing the per-episode stats v2.0 lacks, as LeRobot does."""

    source_versions: ClassVar[tuple[str, ...]] = ("v2.0",)
    description: ClassVar[str] = "v2.0 -> v3.0, per-episode stats computed (lerobot-local)"
