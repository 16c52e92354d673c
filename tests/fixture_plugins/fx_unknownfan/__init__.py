"""Requires fx_unknown, whose hooks do not match any spec."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_unknownfan", label="Unknown fan", version="1.0.0", requires={"fx_unknown": ""})
