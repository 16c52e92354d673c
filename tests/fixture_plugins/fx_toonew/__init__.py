"""Broken fixture: requires fx_root 2.x while fx_root 1.0.0 is installed."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_toonew", label="Too new", version="1.0.0", requires={"fx_root": ">=2.0"})
