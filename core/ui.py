"""Plain data that plugins hand to the web shell: nav entries, panels in slots, search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NavItem:
    """A sidebar entry. ``key`` is namespaced (``notes.list``); ``order`` sorts within the sidebar."""

    key: str
    label: str
    url: str
    icon: str = ""
    order: int = 100
    badge: str | None = None


@dataclass(frozen=True)
class Panel:
    """A box in a page slot: either ``template`` rendered with ``context``, or loaded from ``lazy_url``.

    ``lazy_url`` panels are fetched by HTMX after the page loads (``hx-trigger="load"``) so a slow panel
    never holds up the page.
    """

    key: str
    title: str
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    lazy_url: str | None = None
    order: int = 100


@dataclass(frozen=True)
class SearchHit:
    """One line in the global search results."""

    title: str
    url: str
    kind: str
    subtitle: str = ""
    score: float = 0.0
