"""Every route of leads, mounted under /leads: each module owns its own list of routes."""

from __future__ import annotations

from typing import Any

from . import (
    api_capture,
    campaign_pages,
    contact_centre,
    lead_list,
    lead_pages,
    mapping_pages,
    public_form,
    qualify_pages,
    report_pages,
    runner_pages,
    script_pages,
)

# Fixed paths (/call, /campaigns, /scripts, /report, /form/…, /api/…) never clash with /{id:int}/… ones.
routes: list[Any] = [*public_form.routes, *api_capture.routes, *campaign_pages.routes, *contact_centre.routes,
                     *script_pages.routes, *runner_pages.routes, *qualify_pages.routes, *mapping_pages.routes,
                     *report_pages.routes, *lead_list.routes, *lead_pages.routes]  # fmt: skip
