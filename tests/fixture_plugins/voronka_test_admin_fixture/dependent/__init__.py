"""Requires the admin fixture, so disabling the fixture while this is on must be refused."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="adminfx_dep",
    label="Admin fixture add-on",
    version="0.3.0",
    requires={"adminfx": ">=1.0"},
)
