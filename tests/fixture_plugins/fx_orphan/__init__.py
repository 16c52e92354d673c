"""Broken fixture: requires a plugin that is not installed."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_orphan", label="Orphan", version="1.0.0", requires={"fx_absent": ">=1.0"})
