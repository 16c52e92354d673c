"""Requires fx_badspecs, whose hookspecs cannot be loaded."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_badspecsfan", label="Bad specs fan", version="1.0.0", requires={"fx_badspecs": ""})
