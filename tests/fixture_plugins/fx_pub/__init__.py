"""Publishes an extension point of its own, ``fx_pub_channels`` (the way leads publishes lead channels)."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_pub", label="Publisher", version="1.1.0")
