"""Broken fixture: its migration creates a table, writes a row, then raises."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_migfail", label="Failing migration", version="1.0.0")
