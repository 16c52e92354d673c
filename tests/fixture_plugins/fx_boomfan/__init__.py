"""Requires fx_boom, which cannot be imported."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_boomfan", label="Boom fan", version="1.0.0", requires={"fx_boom": ""})
