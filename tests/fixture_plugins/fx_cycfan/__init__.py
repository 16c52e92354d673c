"""Requires fx_cyc_x, which sits in a dependency cycle."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_cycfan", label="Cycle fan", version="1.0.0", requires={"fx_cyc_x": ""})
