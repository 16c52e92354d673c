"""Broken fixture: publishes hookspecs that fail to import."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_badspecs", label="Bad hookspecs", version="1.0.0")
