"""Fixture plugin A of the chain A → B → C: required by fx_trunk, which fx_leaf requires.

The names sort leaf < root < trunk, the reverse of the dependency order, so a test that sees
root, trunk, leaf knows the order came from ``requires`` and not from the alphabet.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_root", label="Root (A)", version="1.0.0")
