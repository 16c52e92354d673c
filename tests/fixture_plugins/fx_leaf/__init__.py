"""Fixture plugin C of the chain A → B → C: requires fx_trunk (and so, through it, fx_root)."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_leaf", label="Leaf (C)", version="1.0.0", requires={"fx_trunk": ""})
