"""Individual plans for every employee, rolled up through managers: plan against actual at any moment."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="planning",
    label="Planning",
    version="0.1.0",
    requires={},
    optional={"pipeline": ">=0.1", "leads": ">=0.1", "contacts": ">=0.1"},
    description=__doc__ or "",
)
