"""The plugin manager: one per process, entry points loaded once, hooks called the way pluggy calls them.

``LEROBOT_LOCAL_PLUGINS`` (a comma-separated list of entry-point names) limits which THIRD-PARTY plugins
load; the built-in ones (the entry points of lerobot-local's own distribution: the safety checks and the
checkpoint actions) always load, like pytest's essential plugins. An allowed name that no installed
distribution provides is logged as a warning.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable
from functools import cache
from importlib import metadata
from typing import Any

import pluggy

from lerobot_local import hookspecs

ENTRY_POINT_GROUP = "lerobot_local"
ALLOWLIST_ENV = "LEROBOT_LOCAL_PLUGINS"
DISTRIBUTION = "lerobot-local"
logger = logging.getLogger("lerobot_local")
_current_plugin: contextvars.ContextVar[str] = contextvars.ContextVar("lerobot_local_plugin", default="?")


def builtin_plugin_names() -> set[str]:
    """Entry-point names of lerobot-local's own plugins (declared once, in pyproject.toml)."""
    try:
        eps = metadata.distribution(DISTRIBUTION).entry_points
    except metadata.PackageNotFoundError:
        return set()
    return {ep.name for ep in eps if ep.group == ENTRY_POINT_GROUP}


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager with the built-ins and every allowed third party loaded."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    allowed = os.environ.get(ALLOWLIST_ENV)
    if allowed is None:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    else:
        builtins = builtin_plugin_names()
        wanted = {n.strip() for n in allowed.split(",") if n.strip()}
        in_order = [ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]  # as when unfiltered
        for name in [n for n in in_order if n in builtins | wanted] + sorted(wanted - set(in_order)):
            if not pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name) and name not in builtins:
                logger.warning(
                    "lerobot-local: %s names plugin %r, but no installed distribution provides it in the "
                    "'%s' entry-point group (see `lerobot-local doctor`)",
                    ALLOWLIST_ENV,
                    name,
                    ENTRY_POINT_GROUP,
                )
        skipped = _third_party_names() - wanted
        if skipped:
            logger.info(
                "lerobot-local: %s=%s leaves out third-party plugin(s) %s (built-ins always load)",
                ALLOWLIST_ENV,
                allowed,
                ", ".join(sorted(skipped)),
            )
    pm.check_pending()
    return pm


def _third_party_names() -> set[str]:
    names = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return names - builtin_plugin_names()


def current_plugin() -> str:
    """Name of the plugin whose hook implementation is running (inside :func:`call_each_guarded`)."""
    return _current_plugin.get()


def call_each_guarded(
    hook: Any, kwargs: dict[str, Any], on_crash: Callable[[str, Exception], Any]
) -> list[Any]:
    """Call ``hook`` through pluggy (its order, ``tryfirst``/``trylast``, wrappers) with every plain
    implementation guarded: one that raises gives ``on_crash(plugin name, exception)`` as its result
    instead of stopping the others. :func:`current_plugin` names the implementation being called.
    """
    impls = [i for i in hook.get_hookimpls() if not (i.wrapper or i.hookwrapper)]
    originals = [i.function for i in impls]
    for impl, function in zip(impls, originals, strict=True):
        impl.function = _guarded(impl.plugin_name, function, on_crash)
    try:
        return hook(**kwargs)
    finally:
        for impl, function in zip(impls, originals, strict=True):
            impl.function = function


def _guarded(name: str, function: Callable[..., Any], on_crash: Callable[[str, Exception], Any]):
    def call(*args: Any) -> Any:
        token = _current_plugin.set(name)
        try:
            return function(*args)
        except Exception as exc:
            return on_crash(name, exc)
        finally:
            _current_plugin.reset(token)

    return call


def plugin_sources() -> list[tuple[str, str]]:
    """Return ``(plugin name, distribution name==version)`` for every registered plugin."""
    pm = get_plugin_manager()
    sources = {
        id(plugin): f"{dist.project_name}=={dist.version}" for plugin, dist in pm.list_plugin_distinfo()
    }
    return sorted((name, sources.get(id(plugin), "?")) for name, plugin in pm.list_name_plugin())


def hook_implementations() -> dict[str, list[str]]:
    """Return, for each hook, the names of the plugins implementing it, in the order pluggy calls them."""
    pm = get_plugin_manager()
    table: dict[str, list[str]] = {}
    for hook_name in sorted(n for n in dir(pm.hook) if n.startswith("lerobot_local_")):
        caller = getattr(pm.hook, hook_name)
        table[hook_name] = [impl.plugin_name for impl in reversed(caller.get_hookimpls())]
    return table
