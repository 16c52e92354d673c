"""Conformance fixture: a template that does not compile, and one outside templates/<plugin>/."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_bad_template", label="Bad template", version="1.0.0")
