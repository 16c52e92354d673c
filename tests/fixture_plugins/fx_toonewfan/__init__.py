"""Requires fx_toonew, whose version range for fx_root does not match."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_toonewfan", label="Too new fan", version="1.0.0", requires={"fx_toonew": ""})
