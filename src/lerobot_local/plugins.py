"""The plugin manager: one per process, entry points loaded once.

Set ``LEROBOT_LOCAL_PLUGINS`` to a comma-separated list of entry-point names to load only those (the
built-ins are entry points too); leave it unset to load every installed plugin.
"""

from __future__ import annotations

import os
from functools import cache

import pluggy

from lerobot_local import hookspecs

ENTRY_POINT_GROUP = "lerobot_local"


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager with every allowed entry point loaded."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    allowed = os.environ.get("LEROBOT_LOCAL_PLUGINS")
    if allowed is None:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    else:
        for name in filter(None, (n.strip() for n in allowed.split(","))):
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
    pm.check_pending()
    return pm


def plugin_sources() -> list[tuple[str, str]]:
    """Return ``(plugin name, distribution name==version)`` for every registered plugin."""
    pm = get_plugin_manager()
    sources = {
        id(plugin): f"{dist.project_name}=={dist.version}" for plugin, dist in pm.list_plugin_distinfo()
    }
    return sorted((name, sources.get(id(plugin), "?")) for name, plugin in pm.list_name_plugin())


def hook_implementations() -> dict[str, list[str]]:
    """Return, for each hook, the names of the plugins implementing it."""
    pm = get_plugin_manager()
    table: dict[str, list[str]] = {}
    for hook_name in sorted(n for n in dir(pm.hook) if n.startswith("lerobot_local_")):
        caller = getattr(pm.hook, hook_name)
        table[hook_name] = [impl.plugin_name for impl in caller.get_hookimpls()]
    return table
