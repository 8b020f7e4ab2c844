"""Fill the draccus choice registries (converters, dataset profiles, train presets) from the plugins."""

from __future__ import annotations

from functools import cache

from lerobot_local.plugins import get_plugin_manager


def _registrar(base: type, origin: dict[str, str], plugin: str):
    def register(name: str, cls: type) -> None:
        if name in base.get_known_choices():
            return
        base.register_subclass(name)(cls)
        origin[name] = plugin

    return register


REGISTRY_ORIGINS: dict[str, dict[str, str]] = {"converters": {}, "profiles": {}, "presets": {}}


@cache
def load_registrations() -> None:
    """Call every plugin's ``register_*`` hooks once per process."""
    from lerobot_local.convert.registry import ConverterConfig
    from lerobot_local.presets import TrainPreset
    from lerobot_local.profiles import DatasetProfile

    pm = get_plugin_manager()
    for kind, base, hook in (
        ("converters", ConverterConfig, pm.hook.lerobot_local_register_converters),
        ("profiles", DatasetProfile, pm.hook.lerobot_local_register_profiles),
        ("presets", TrainPreset, pm.hook.lerobot_local_register_presets),
    ):
        for impl in reversed(hook.get_hookimpls()):
            impl.function(register=_registrar(base, REGISTRY_ORIGINS[kind], impl.plugin_name))
