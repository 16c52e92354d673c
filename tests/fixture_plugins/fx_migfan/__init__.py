"""Requires fx_migfail, whose migration fails; its own migration depends on fx_migfail's."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_migfan", label="Failing migration fan", version="1.0.0", requires={"fx_migfail": ""})
