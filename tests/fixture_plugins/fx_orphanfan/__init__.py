"""Requires fx_orphan, whose own requirement is missing."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_orphanfan", label="Orphan fan", version="1.0.0", requires={"fx_orphan": ""})
