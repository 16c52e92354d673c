"""Notes: the test plugin that proves the plugin contract, written only against what DESIGN.md documents.

Short notes owned by a user or a team, optionally attached to any record by ``(kind, id)``. It brings a
model with its own migration branch, a page with its HTMX fragment, a create form, a detail page, a nav
item, panels on the home page and on a user's page, a search hit, settings, permissions, a metric and
seed data.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="notes",
    label="Notes",
    version="1.0.0",
    hook_api=">=1.0,<2",
    description="Short notes about anything, for testing the plugin contract.",
)
