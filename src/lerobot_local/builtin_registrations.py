"""Built-in plugin: registers the built-in converters, dataset profiles and train presets."""

from __future__ import annotations

from collections.abc import Callable

from lerobot_local.hookspecs import hookimpl


@hookimpl
def lerobot_local_register_converters(register: Callable[[str, type], None]) -> None:
    from lerobot_local.convert.builtin import LocalV20Converter, LocalV21Converter

    register("local_v21", LocalV21Converter)
    register("local_v20", LocalV20Converter)


@hookimpl
def lerobot_local_register_profiles(register: Callable[[str, type], None]) -> None:
    from lerobot_local.profiles import LocalGraspProfile

    register("local_grasp", LocalGraspProfile)


@hookimpl
def lerobot_local_register_presets(register: Callable[[str, type], None]) -> None:
    from lerobot_local.presets import LocalGraspLowMemPreset, LocalGraspPreset, LocalGraspScratchPreset

    register("local_grasp", LocalGraspPreset)
    register("local_grasp_lowmem", LocalGraspLowMemPreset)
    register("local_grasp_scratch", LocalGraspScratchPreset)
