"""Requires fx_oldapi, which speaks an incompatible hook API."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="fx_oldapifan", label="Old API fan", version="1.0.0", requires={"fx_oldapi": ""})
