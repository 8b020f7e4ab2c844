"""Fill a draccus choice registry (converters, dataset profiles, train presets) from third-party plugins.

The built-in choices register where their classes are defined (``@Base.register_subclass("name")``, as
LeRobot does); plugins add theirs through a ``lerobot_local_register_*`` hook. This module knows no
registry class: each registry module calls :func:`load_from_plugins` with its own base class.
"""

from __future__ import annotations

import logging

from lerobot_local.plugins import call_each_guarded, current_plugin, get_plugin_manager

logger = logging.getLogger("lerobot_local")
BUILTIN_ORIGIN = "lerobot-local (built-in)"
_origins: dict[type, dict[str, str]] = {}
_loaded: set[tuple[type, str]] = set()


def origin(base: type, name: str) -> str:
    """Which plugin registered choice ``name`` of ``base`` (built-ins: :data:`BUILTIN_ORIGIN`)."""
    return _origins.get(base, {}).get(name, BUILTIN_ORIGIN)


def load_from_plugins(base: type, hook_name: str, kind: str) -> None:
    """Call every plugin's ``hook_name(register)`` once per process; a duplicate name warns with both
    sources and keeps the first registration."""
    if (base, hook_name) in _loaded:
        return
    _loaded.add((base, hook_name))
    origins = _origins.setdefault(base, {})

    def register(name: str, cls: type) -> None:
        plugin = current_plugin()
        if name in base.get_known_choices():
            if base.get_known_choices()[name] is not cls:
                logger.warning(
                    "lerobot-local: %s %r from plugin %s is ignored: %s already registered that name "
                    "(rename one of them)",
                    kind,
                    name,
                    plugin,
                    origin(base, name),
                )
            return
        base.register_subclass(name)(cls)
        origins[name] = plugin

    def crashed(plugin: str, exc: Exception) -> None:
        logger.warning(
            "lerobot-local: plugin %s failed to register its %ss (%s: %s); they are unavailable",
            plugin,
            kind,
            type(exc).__name__,
            exc,
        )

    call_each_guarded(getattr(get_plugin_manager().hook, hook_name), {"register": register}, crashed)
