"""Conformance fixture: a hook implementation asking for an argument the hook does not pass."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_bad_args", label="Bad arguments", version="1.0.0")
