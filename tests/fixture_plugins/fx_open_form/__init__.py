"""Conformance fixture: a public, CSRF-exempt form endpoint without a rate limit."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_open_form", label="Open form", version="1.0.0")
