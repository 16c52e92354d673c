"""E-mail lands in the customer's history by itself: mailbox sync, forwarding/BCC drop box, .eml and .msg files."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="outlook",
    label="Outlook",
    version="0.1.0",
    requires={"contacts": ">=0.1"},
    optional={"leads": ">=0.1", "pipeline": ">=0.1"},
    description=__doc__ or "",
)
