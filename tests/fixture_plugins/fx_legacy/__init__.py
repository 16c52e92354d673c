"""Implements a host hook under its old name, ``sidebar_items`` (renamed to ``nav_items``)."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_legacy", label="Legacy", version="1.0.0")
