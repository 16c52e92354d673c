"""Contacts: people and organisations on one party table, their contact points, typed relationships,
activities (notes, calls, meetings, tasks) attached to any record, and the one-page customer card with a
unified timeline that other plugins feed through the ``timeline`` hook.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="contacts",
    label="Contacts",
    version="1.0.0",
    hook_api=">=1.0,<2",
    description="People, organisations, relationships, activities and the customer card.",
)
