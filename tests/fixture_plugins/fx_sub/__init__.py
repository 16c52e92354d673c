"""Answers fx_pub's hook without requiring fx_pub (``optionalhook=True``), so it works with and without it."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_sub", label="Subscriber", version="1.0.0", optional={"fx_pub": ">=1.1"})
