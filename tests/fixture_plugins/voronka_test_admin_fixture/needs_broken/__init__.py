"""Requires the broken plugin, so it is disabled with the chain of reasons."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="adminfx_needs",
    label="Needs the broken one",
    version="0.1.0",
    requires={"adminfx_broken": ""},
)
