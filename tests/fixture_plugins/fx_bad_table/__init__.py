"""Conformance fixture: a model whose table lacks the plugin's prefix."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_bad_table", label="Bad table", version="1.0.0")
