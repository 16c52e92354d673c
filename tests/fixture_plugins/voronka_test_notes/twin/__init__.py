"""A second plugin that claims the record kind name "note": the registry must refuse it, not notes."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="notestwin",
    label="Notes twin",
    version="1.0.0",
    hook_api=">=1.0,<2",
    description="Registers a record kind whose name the notes plugin already took.",
)
