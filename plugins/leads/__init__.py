"""Inquiries from every channel, guided qualification, one-click qualify, channel effectiveness."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="leads",
    label="Leads",
    version="1.0.0",
    hook_api=">=1.2,<2",
    requires={"contacts": ">=1.0"},
    optional={"pipeline": ">=0.1", "outlook": ">=0.1"},
    description=__doc__ or "",
)
