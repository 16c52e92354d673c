"""Broken fixture: a second package claiming the plugin name fx_root (load it as ``fx_root=fx_rootdup``)."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_root", label="Root impostor", version="9.0.0")
