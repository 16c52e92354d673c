"""The record kinds leads registers with core: lead and campaign. Core's record services (write path,
audit, tags, custom fields, attachments, recycle bin, import/export) work on them through these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true

from voronka.core.records import RecordKind
from voronka.core.search_keys import search_key

from . import lead_imports
from .models import Campaign, Lead

VIEW, EDIT, MANAGE, CAPTURE = "leads.view", "leads.edit", "leads.manage", "leads.capture"
"""See leads; work and qualify them; define scripts, campaigns, mapping; the API scope that creates leads."""

LEAD_FIELDS = ("first_name", "last_name", "job_title", "company", "email", "phone", "website", "city", "country",
               "message", "channel", "campaign_id", "utm_source", "utm_medium", "utm_campaign", "utm_term",
               "utm_content", "referrer", "external_ref", "payload", "status", "disqualify_reason",
               "disqualify_note", "marketing_consent", "consent_at", "consent_text", "closed_at", "closed_by_id",
               "owner_user_id", "owner_team_id")  # fmt: skip
LEAD_AUDITED = tuple(f for f in LEAD_FIELDS if f not in ("payload", "closed_at", "closed_by_id"))
CAMPAIGN_FIELDS = ("name", "channel", "tracking_code", "starts_on", "ends_on", "cost_minor", "cost_currency",
                   "description", "active", "form_title", "allowed_origins", "thank_you_url", "owner_user_id",
                   "owner_team_id")  # fmt: skip


def lead_url(lead_id: int) -> str:
    return f"/leads/{lead_id}"


def lead_display(lead: Any) -> str:
    return lead.name or lead.company or lead.email or lead.phone or f"#{lead.id}"


def _everyone(_user: Any) -> ColumnElement[bool]:
    """Campaigns are the company's: everyone who may see leads sees every campaign and its figures."""
    return true()


def _campaign_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {"name_key": search_key(values["name"])} if "name" in values else {}


LEAD_KIND = RecordKind(
    name="lead",
    label="Lead",
    model=Lead,
    url=lead_url,
    display=lead_display,
    fields=LEAD_FIELDS,
    audited=LEAD_AUDITED,
    view_permission=VIEW,
    edit_permission=EDIT,
    duplicates=lead_imports.duplicates,
    import_targets=lead_imports.lead_targets,
    import_defaults={"channel": "leads.import"},
)

CAMPAIGN_KIND = RecordKind(
    name="campaign",
    label="Campaign",
    model=Campaign,
    url="/leads/campaigns/{id}",
    display=lambda campaign: campaign.name,
    fields=CAMPAIGN_FIELDS,
    visibility=_everyone,
    derive=_campaign_keys,
    view_permission=VIEW,
    edit_permission=MANAGE,
)

KINDS = [LEAD_KIND, CAMPAIGN_KIND]
