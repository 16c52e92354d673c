"""People and organisations, typed relationships, activities and the one-page customer card."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="contacts",
    label="Contacts",
    version="0.1.0",
    requires={},
    optional={},
    description=__doc__ or "",
)
