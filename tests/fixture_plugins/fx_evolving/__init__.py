"""Fixture: version 2 of a plugin whose first migration ran long ago and whose second one fails."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_evolving", label="Evolving", version="2.0.0")
