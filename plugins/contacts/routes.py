"""Every route of contacts, mounted under /contacts: each module owns its own list of routes."""

from __future__ import annotations

from typing import Any

from . import activities, cards, lists, merging, relationships, vcard

# Order matters only where paths overlap: fixed paths come before /{party_id:int}/… ones in each module.
routes: list[Any] = [*lists.routes, *vcard.routes, *relationships.routes, *activities.routes, *merging.routes,
                     *cards.routes]  # fmt: skip
