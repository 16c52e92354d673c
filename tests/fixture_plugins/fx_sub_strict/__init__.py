"""Answers fx_pub's hook but forgot ``optionalhook=True``: fine with fx_pub, disabled without it."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_sub_strict", label="Strict subscriber", version="1.0.0")
