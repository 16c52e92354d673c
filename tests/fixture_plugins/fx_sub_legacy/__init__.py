"""Answers fx_pub's hook with the retired argument ``channel_type``: it works and is warned."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_sub_legacy", label="Legacy subscriber", version="1.0.0", optional={"fx_pub": ""})
