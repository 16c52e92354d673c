"""Inquiries from every channel, guided qualification, one-click qualify, channel effectiveness."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="leads",
    label="Leads",
    version="0.1.0",
    requires={"contacts": ">=0.1"},
    optional={"pipeline": ">=0.1", "outlook": ">=0.1"},
    description=__doc__ or "",
)
