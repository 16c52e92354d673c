"""Rules that hold for a lead on every write path (forms, public form, API, import, qualification),
called from ``before_save`` inside the transaction.

- ``name`` is composed from the name parts; search keys (name, company, e-mail, phone) follow the values.
- An e-mail or phone that is given must be one (clear message otherwise); the raw text stays in ``payload``.
- ``status``: only the qualify service sets ``qualified`` (it writes what the lead became in the same
  transaction); ``disqualified`` needs one of :data:`DISQUALIFY_REASONS`; closing stamps ``closed_at`` and
  who closed it, reopening clears them and the reason.
- A lead with a campaign and no channel takes the campaign's channel.
- The channel report's aggregates move in the same transaction (:mod:`.channel_rollups`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.search_keys import search_key
from voronka.core.types import utcnow
from voronka.plugins.contacts.api import clean_email, clean_phone, organisation_key, phone_region

from . import channel_rollups
from .models import DISQUALIFIED, DISQUALIFY_REASONS, QUALIFIED, STATUSES, Campaign, Lead

QUALIFYING = "leads.qualifying"
"""``session.info`` key: the set of :class:`Lead` objects the qualify service is qualifying in this transaction."""
CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_.-]{1,50}$")
DEFAULT_CHANNEL = "leads.manual"


def before_save(session: Session, lead: Lead, changes: dict[str, Any], actor_id: int | None) -> None:
    with session.no_autoflush:
        old_status = _old(lead, "status")
        _defaults(lead)
        _names(lead, changes)
        _contact_points(session, lead, changes)
        _channel(session, lead, changes)
        _status(session, lead, changes, actor_id)
        channel_rollups.lead_saved(session, lead, old_status)


def _old(lead: Lead, column: str) -> Any:
    """The value ``column`` had when the lead was loaded (None for a new lead)."""
    state = inspect(lead)
    if state.transient or state.pending:
        return None
    history = state.attrs[column].history
    return history.deleted[0] if history.deleted else getattr(lead, column)


def _defaults(lead: Lead) -> None:
    """Column defaults apply at the flush; the rules read a new lead before it, so fill them in now."""
    for key, value in _SCALAR_DEFAULTS:
        if getattr(lead, key, None) is None:
            setattr(lead, key, value)


_SCALAR_DEFAULTS = tuple((column.key, column.default.arg) for column in Lead.__table__.columns
                         if column.default is not None and column.default.is_scalar)  # fmt: skip


def _names(lead: Lead, changes: dict[str, Any]) -> None:
    for column in ("first_name", "last_name", "company", "job_title", "city"):
        setattr(lead, column, (getattr(lead, column) or "").strip())
    lead.name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    lead.name_key = search_key(lead.name)
    lead.company_key = organisation_key(lead.company) if lead.company else ""
    if not (lead.name or lead.company or lead.email or lead.phone):
        raise ValidationError(_("A lead needs at least a name, a company, an e-mail address or a phone number."))


def _contact_points(session: Session, lead: Lead, changes: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if "email" in changes or _old(lead, "email") is None:
        try:
            lead.email, lead.email_key = clean_email(lead.email) if (lead.email or "").strip() else ("", "")
        except ValueError as exc:
            errors["email"] = str(exc)
    if "phone" in changes or _old(lead, "phone") is None:
        try:
            text = (lead.phone or "").strip()
            lead.phone, lead.phone_key = clean_phone(text, phone_region(session)) if text else ("", "")
        except ValueError as exc:
            errors["phone"] = str(exc)
    if errors:
        raise ValidationError(errors)


_LIVE_CAMPAIGN = select(Campaign.id, Campaign.channel).where(Campaign.id == bindparam("id"),
                                                          Campaign.deleted_at.is_(None))  # fmt: skip


def live_campaign(session: Session, campaign_id: int) -> Any:
    """The id and channel of a campaign not in the recycle bin, or None: all a lead's write needs of it (the
    public form runs this on every post, so no ORM object is loaded)."""
    return session.execute(_LIVE_CAMPAIGN, {"id": campaign_id}).first()


def _channel(session: Session, lead: Lead, changes: dict[str, Any]) -> None:
    if lead.campaign_id is not None and ("campaign_id" in changes or _old(lead, "campaign_id") is None):
        campaign = live_campaign(session, lead.campaign_id)
        if campaign is None:
            raise ValidationError({"campaign_id": _("There is no such campaign.")})
        if not lead.channel or "channel" not in changes:
            lead.channel = campaign.channel
    lead.channel = (lead.channel or DEFAULT_CHANNEL).strip()
    if not CHANNEL_RE.match(lead.channel):
        raise ValidationError({"channel": _("“%(channel)s” is not a channel key.") % {"channel": lead.channel[:60]}})


def _status(session: Session, lead: Lead, changes: dict[str, Any], actor_id: int | None) -> None:
    if lead.status not in STATUSES:
        raise ValidationError({"status": _("Choose a status from the list.")})
    old = _old(lead, "status")
    if lead.status == old:
        if lead.status == DISQUALIFIED and "disqualify_reason" in changes:
            _check_reason(lead)
        return
    if lead.status == QUALIFIED and lead not in session.info.get(QUALIFYING, ()):
        raise ValidationError(
            {"status": _("A lead is qualified with the Qualify button, which creates what it becomes.")}
        )
    if lead.status == DISQUALIFIED:
        _check_reason(lead)
    else:
        lead.disqualify_reason = ""
    if lead.status in (QUALIFIED, DISQUALIFIED):
        lead.closed_at = utcnow()
        lead.closed_by_id = actor_id
    else:
        lead.closed_at = None
        lead.closed_by_id = None


def _check_reason(lead: Lead) -> None:
    if lead.disqualify_reason not in DISQUALIFY_REASONS:
        raise ValidationError({"disqualify_reason": _("Choose why the lead is disqualified.")})
