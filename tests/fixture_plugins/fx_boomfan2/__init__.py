"""Requires fx_boomfan, which requires the broken fx_boom: the chain is two steps long."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_boomfan2", label="Boom fan's fan", version="1.0.0", requires={"fx_boomfan": ""})
