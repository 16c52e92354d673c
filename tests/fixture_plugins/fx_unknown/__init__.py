"""Broken fixture: its hooks module implements a hook nobody specifies."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_unknown", label="Unknown hook", version="1.0.0")
