"""Build the plugin host from settings: entry points plus modules named in the configuration."""

from __future__ import annotations

from typing import Any

from voronka.core.config import Settings
from voronka.core.plugins import PluginHost, entry_point_sources, module_source

from . import core_hooks


def build_host(settings: Settings, extra_sources: list[Any] | None = None) -> PluginHost:
    sources = entry_point_sources() if settings.entry_points else []
    for spec in settings.extra_plugins:
        name, _, module = spec.partition("=") if "=" in spec else ("", "", spec)
        sources.append(module_source(module, name or None))
    sources.extend(extra_sources or [])
    return PluginHost(
        sources,
        disabled=settings.disabled_plugins,
        blocked=settings.blocked_plugins,
        strict=settings.strict_plugins,
        core_impls=[core_hooks],
    )
