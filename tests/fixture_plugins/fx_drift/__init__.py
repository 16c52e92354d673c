"""Conformance fixture: the model has a column its migration never created."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_drift", label="Drift", version="1.0.0")
