"""Fixture plugin B of the chain A → B → C: requires fx_root, required by fx_leaf."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_trunk", label="Trunk (B)", version="1.0.0", requires={"fx_root": ">=1.0,<2"})
