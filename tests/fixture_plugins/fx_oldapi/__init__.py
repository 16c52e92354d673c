"""Broken fixture: written for a hook API older than this Voronka's."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_oldapi", label="Old API", version="0.3.0", hook_api=">=0.1,<1.0")
