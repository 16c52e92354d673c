"""Broken fixture: fx_cyc_y and fx_cyc_x require each other."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_cyc_y", label="Cycle Y", version="1.0.0", requires={"fx_cyc_x": ""})
