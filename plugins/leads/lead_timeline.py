"""Lead entries on timelines (contacts' ``timeline`` hook).

On a customer's timeline (a person or organisation a lead became, through :class:`~.models.LeadOutcome`):
"Lead captured via <channel>" when the lead arrived (``leads.captured``) and "Qualified into …" when it
became this customer (``leads.qualified``). On the lead's own timeline (``Ref("lead", id)``) the same two
stories, one "qualified" entry per record it became. Only leads the viewer may see count (their visibility
is in the query). A record has a handful of leads, so the rows are read whole and paged here by the
``(at, key)`` cursor, newest first, strictly older than the cursor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import User
from voronka.core.security.visibility import visible
from voronka.plugins.contacts.api import Party, TimelineEntry

from . import channels
from .models import Campaign, Lead, LeadOutcome

CAPTURED, QUALIFIED = "leads.captured", "leads.qualified"
KINDS = {CAPTURED: N_("Leads captured"), QUALIFIED: N_("Leads qualified")}
PARTY_KINDS = ("person", "organisation")
KIND_NOUNS = {"person": N_("Person"), "organisation": N_("Organisation"), "opportunity": N_("Opportunity")}
ROWS_MAX = 200


def kinds() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in KINDS.items()]


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _channel_label(key: str) -> str:
    labels = {k: label for k, label, _help in channels.OWN}
    return _(labels[key]) if key in labels else key


def _leads(session: Session, viewer: Any, ref: Any) -> list[Any]:
    query = (select(Lead.id, Lead.name, Lead.company, Lead.email, Lead.phone, Lead.channel, Lead.created_at,
                    Campaign.name.label("campaign"))
             .outerjoin(Campaign, Campaign.id == Lead.campaign_id)
             .where(Lead.deleted_at.is_(None), visible(Lead, viewer)))  # fmt: skip
    if ref.kind == "lead":
        query = query.where(Lead.id == ref.id)
    else:
        linked = select(LeadOutcome.lead_id).where(LeadOutcome.kind == ref.kind, LeadOutcome.record_id == ref.id)
        query = query.where(Lead.id.in_(linked))
    return list(session.execute(query.limit(ROWS_MAX)))


def _outcomes(session: Session, viewer: Any, ref: Any, lead_ids: list[int]) -> list[Any]:
    query = (select(LeadOutcome.id, LeadOutcome.lead_id, LeadOutcome.kind, LeadOutcome.record_id, LeadOutcome.at,
                    LeadOutcome.created, User.display_name)
             .outerjoin(User, User.id == LeadOutcome.by_id)
             .where(LeadOutcome.lead_id.in_(lead_ids)))  # fmt: skip
    if ref.kind != "lead":
        query = query.where(LeadOutcome.kind == ref.kind, LeadOutcome.record_id == ref.id)
    rows = list(session.execute(query.limit(ROWS_MAX)))
    party_ids = [r.record_id for r in rows if r.kind in PARTY_KINDS]
    names = {}
    if party_ids:
        names = dict(session.execute(select(Party.id, Party.name).where(Party.id.in_(party_ids),
                                                                        visible(Party, viewer))).all())  # fmt: skip
    return [(r, names.get(r.record_id) if r.kind in PARTY_KINDS else None) for r in rows]


def _display(row: Any) -> str:
    return row.name or row.company or row.email or row.phone or f"#{row.id}"


def entries(
    session: Session, viewer: Any, ref: Any, kinds: list[str] | None, before: tuple[dt.datetime, str] | None, limit: int
) -> list[TimelineEntry]:
    if ref.kind not in (*PARTY_KINDS, "lead") or limit < 1:
        return []
    wanted = [k for k in KINDS if kinds is None or k in kinds]
    if not wanted:
        return []
    leads = _leads(session, viewer, ref)
    if not leads:
        return []
    own = ref.kind == "lead"
    found: list[TimelineEntry] = []
    if CAPTURED in wanted:
        for lead in leads:
            via = _channel_label(lead.channel)
            title = (
                _("Lead captured via %(channel)s") % {"channel": via}
                if own
                else _("Lead captured via %(channel)s: %(lead)s") % {"channel": via, "lead": _display(lead)}
            )
            found.append(
                TimelineEntry(
                    at=_aware(lead.created_at),
                    key=f"{CAPTURED}:{lead.id:012d}",
                    kind=CAPTURED,
                    title=title,
                    body=lead.campaign or "",
                    link=f"/leads/{lead.id}",
                    icon="funnel",
                )
            )
    if QUALIFIED in wanted:
        by_id = {lead.id: lead for lead in leads}
        for row, name in _outcomes(session, viewer, ref, list(by_id)):
            what = name or _(KIND_NOUNS.get(row.kind, row.kind))
            link = f"/contacts/{row.record_id}" if own and name else f"/leads/{row.lead_id}"
            body = "" if own else _display(by_id[row.lead_id])
            verb = (_("Qualified into %(what)s") if row.created else _("Qualified and linked to %(what)s")) % {
                "what": what
            }
            found.append(TimelineEntry(at=_aware(row.at), key=f"{QUALIFIED}:{row.id:012d}", kind=QUALIFIED, title=verb,
                                       body=body, link=link, actor=row.display_name or "", icon="target",
                                       badge=_("Qualified")))  # fmt: skip
    if before is not None:
        found = [e for e in found if (e.at, e.key) < (before[0], before[1])]
    found.sort(key=lambda e: (e.at, e.key), reverse=True)
    return found[:limit]
