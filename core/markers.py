"""The pluggy markers every plugin uses: ``from voronka.core.markers import hookimpl``."""

import pluggy

PROJECT = "voronka"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
