"""Every route of pipeline, mounted under /pipeline: each module owns its own list of routes."""

from __future__ import annotations

from typing import Any

from . import admin_pages, analytics_pages, board, catalogue_pages, deal_list, deal_pages, order_pages, quote_pages

# Order matters only where paths overlap: fixed paths come before /{id:int}/… ones in each module.
routes: list[Any] = [*board.routes, *deal_list.routes, *deal_pages.routes, *analytics_pages.routes,
                     *catalogue_pages.routes, *quote_pages.routes, *order_pages.routes,
                     *admin_pages.routes]  # fmt: skip
