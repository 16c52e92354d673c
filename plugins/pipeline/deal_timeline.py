"""Stage changes, wins and losses on timelines (contacts' ``timeline`` hook).

On a customer's timeline: every stay in a stage of that customer's deals (``pipeline.stage``), the moves
that won (``pipeline.won``) or lost (``pipeline.lost``) one. On a deal's own timeline (``Ref("opportunity",
id)``): its stage history. One query per page from ``pipeline_stage_history``, newest first by
``(entered_at, key)`` and strictly older than the cursor, of the kinds asked for, only of deals the viewer
may see (their visibility is in the query, so a filtered page is still full).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import Session, aliased

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import User
from voronka.core.security.visibility import visibility_key, visible
from voronka.core.statements import StatementCache
from voronka.core.templating import format_money
from voronka.plugins.contacts.api import TimelineEntry

from .kinds import deal_url
from .models import LOST, OPEN, WON, Opportunity, Stage, StageChange
from .stages import BUILTIN_STAGES

KEY_PREFIX = "pipeline.stage:"
KEY_DIGITS = 12
KINDS = {
    "pipeline.stage": (OPEN, N_("Stage changes")),
    "pipeline.won": (WON, N_("Deals won")),
    "pipeline.lost": (LOST, N_("Deals lost")),
}
OUTCOME_KIND = {outcome: kind for kind, (outcome, _label) in KINDS.items()}
PARTY_KINDS = ("person", "organisation")


def kinds() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, (_outcome, label) in KINDS.items()]


def entry_key(change_id: int) -> str:
    """Zero-padded, so keys of one instant sort as text the way ids sort as numbers."""
    return f"{KEY_PREFIX}{change_id:0{KEY_DIGITS}d}"


def _cursor_shape(before: tuple[dt.datetime, str] | None) -> tuple[Any, dict[str, Any]]:
    """How the cursor bounds the page (None: it does not; "id": by our id at the same instant; True/False:
    every or none of our rows at the same instant), and the values to bind."""
    if before is None:
        return None, {}
    at, key = before
    rest = key[len(KEY_PREFIX) :]
    if key.startswith(KEY_PREFIX) and rest.isdigit() and len(rest) <= 18:
        return "id", {"before_at": at, "before_id": int(rest)}
    return key > KEY_PREFIX, {"before_at": at}


def _older(shape: Any) -> ColumnElement[bool]:
    """Rows strictly older than the cursor, comparing keys as the merge does (as text): another plugin's
    key sorts before or after all of ours at the same instant; one of ours compares by id."""
    if shape is None:
        return true()
    at = bindparam("before_at", type_=StageChange.entered_at.type)
    if shape == "id":
        same: ColumnElement[bool] = StageChange.id < bindparam("before_id", type_=BigInteger)
    else:
        same = true() if shape else false()
    return and_(StageChange.entered_at <= at, or_(StageChange.entered_at < at, same))


def _query(viewer: Any, party: bool, outcomes: tuple[str, ...], shape: Any) -> Any:
    """The page's statement for one viewer's visibility and shape; the record, cursor and limit are bound."""
    source = aliased(Stage)
    record = bindparam("ref_id", type_=Integer)
    query = (
        select(StageChange.id, StageChange.entered_at, StageChange.opportunity_id, Stage.name, Stage.outcome,
               source.name.label("from_name"), Opportunity.name.label("deal_name"), Opportunity.amount_minor,
               Opportunity.amount_currency, Opportunity.lost_reason, Opportunity.competitor, User.display_name)
        .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
        .join(Stage, Stage.id == StageChange.stage_id)
        .outerjoin(source, source.id == StageChange.from_stage_id)
        .outerjoin(User, User.id == StageChange.by_user_id)
        .where(Opportunity.customer_id == record if party else Opportunity.id == record,
               Opportunity.deleted_at.is_(None), visible(Opportunity, viewer), _older(shape))
        .order_by(StageChange.entered_at.desc(), StageChange.id.desc())
        .limit(bindparam("page_limit", type_=Integer))
    )  # fmt: skip
    if len(outcomes) < len(KINDS):
        query = query.where(Stage.outcome.in_(outcomes))
    return query


_statements = StatementCache()


def entries(
    session: Session, viewer: Any, ref: Any, kinds: list[str] | None, before: tuple[dt.datetime, str] | None, limit: int
) -> list[TimelineEntry]:
    if ref.kind not in (*PARTY_KINDS, "opportunity"):
        return []
    party = ref.kind in PARTY_KINDS
    outcomes = tuple(outcome for key, (outcome, _label) in KINDS.items() if kinds is None or key in kinds)
    if not outcomes or limit < 1:
        return []
    shape, params = _cursor_shape(before)
    key = (visibility_key(viewer), party, outcomes, shape)
    query = _statements.get(key, lambda: _query(viewer, party, outcomes, shape))
    rows = session.execute(query, {**params, "ref_id": ref.id, "page_limit": limit})
    return [_entry(row, not party) for row in rows]


def _label(name: str | None) -> str:
    return (_(name) if name in BUILTIN_STAGES else name) or ""


def _entry(row: Any, own: bool) -> TimelineEntry:
    stage, deal = _label(row.name), row.deal_name
    amount = format_money(row.amount_minor, row.amount_currency) if row.amount_currency else ""
    if row.outcome == WON:
        title = _("Deal won: %(deal)s") % {"deal": deal}
        body, badge, icon = amount, _("Won"), "target"
    elif row.outcome == LOST:
        title = _("Deal lost: %(deal)s") % {"deal": deal}
        parts = [row.lost_reason, _("to %(competitor)s") % {"competitor": row.competitor} if row.competitor else ""]
        body, badge, icon = " · ".join(p for p in parts if p), _("Lost"), "target"
    elif row.from_name is None:
        title = _("Deal opened at %(stage)s") % {"stage": stage} if own else _("New deal: %(deal)s") % {"deal": deal}
        body, badge, icon = "" if own else " · ".join(p for p in (stage, amount) if p), "", "funnel"
    else:
        title = (
            _("Moved to %(stage)s") % {"stage": stage}
            if own
            else _("%(deal)s moved to %(stage)s") % {"deal": deal, "stage": stage}
        )
        body, badge, icon = _("from %(stage)s") % {"stage": _label(row.from_name)}, "", "funnel"
    at = row.entered_at if row.entered_at.tzinfo else row.entered_at.replace(tzinfo=dt.UTC)
    return TimelineEntry(
        at=at,
        key=entry_key(row.id),
        kind=OUTCOME_KIND[row.outcome],
        title=title,
        body=body,
        link=deal_url(row.opportunity_id),
        actor=row.display_name or "",
        icon=icon,
        badge=badge,
    )
