"""Broken fixture: fx_cyc_x and fx_cyc_y require each other."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_cyc_x", label="Cycle X", version="1.0.0", requires={"fx_cyc_y": ""})
