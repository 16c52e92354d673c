"""Rules every write of a deal obeys, whatever the path (board, form, bulk action, import, API).

Called from pipeline's ``before_save`` inside the transaction, with the record already holding its new
values. The stage decides the status (an open, won or lost stage), the default probability and forecast
category; a stage change closes the deal's current stay in the stage history and opens the next one; a
closed deal does not move until it is reopened. The events that follow are queued here and written to the
outbox once the deal has its id (:mod:`.deal_events`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from voronka.core.company import company_settings, currency_codes
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.types import utcnow
from voronka.plugins.contacts.api import Party

from . import deal_events, deal_rollups
from .models import FORECAST_CATEGORIES, LOST, OPEN, WON, Opportunity, StageChange
from .stages import PipelineInfo, StageInfo, catalogue

TRACKED = ("owner_user_id", "owner_team_id", "pipeline_id", "stage_id", "status", "amount_minor", "amount_currency",
           "probability", "forecast_category", "expected_close", "closed_on")  # fmt: skip
"""What aggregates of deals read: :mod:`.deal_rollups` gets these as they were before the change."""

MAX_AMOUNT_MINOR = 10**15
"""Ten trillion units: more is a typing slip, and it keeps sums of a million deals inside 64 bits."""


def before_save(session: Session, deal: Opportunity, changes: dict[str, Any], actor_id: int | None) -> None:
    # the checks below query (stages, the customer): a flush on the way would write a value not checked yet
    with session.no_autoflush:
        _before_save(session, deal, changes, actor_id)


def _before_save(session: Session, deal: Opportunity, changes: dict[str, Any], actor_id: int | None) -> None:
    creating = _is_new(deal)
    old_stage_id = None if creating else _old(changes, "stage_id", deal.stage_id)
    old_status = OPEN if creating else _old(changes, "status", deal.status)
    before = None if creating else {name: _old(changes, name, getattr(deal, name)) for name in TRACKED}
    errors: dict[str, str] = {}
    deal.name = (deal.name or "").strip()
    if not deal.name:
        errors["name"] = _("Give the deal a name.")
    _check_money(session, deal, errors)
    if deal.probability is not None and not 0 <= deal.probability <= 100:
        errors["probability"] = _("A probability is a percentage from 0 to 100.")
    if deal.forecast_category not in (*FORECAST_CATEGORIES, None):
        errors["forecast_category"] = _("Pick a forecast category from the list.")
    if "customer_id" in changes and deal.customer_id is not None and not _live_party(session, deal.customer_id):
        errors["customer_id"] = _("This customer no longer exists; pick another one.")
    pipeline, stage = _place(session, deal, changes, creating, errors)
    if errors or pipeline is None or stage is None:
        raise ValidationError(errors or {"stage_id": _("Pick a stage.")})
    moved = creating or old_stage_id != stage.id
    if moved and old_status != OPEN and stage.outcome != old_status and not _reopening(changes):
        when = deal.closed_on.isoformat() if deal.closed_on else ""
        raise ValidationError({"stage_id": (_("This deal was won %(when)s; reopen it before you move it.")
                                            if old_status == WON
                                            else _("This deal was lost %(when)s; reopen it before you move it."))
                               % {"when": when}})  # fmt: skip
    _follow_stage(session, deal, stage, changes, moved, creating)
    if moved:
        _record_stay(session, deal, stage, old_stage_id, creating, changes, actor_id)
        deal_events.stage_changed(session, deal, old_stage_id, old_status, actor_id)
    deal_rollups.follow(session, deal, before)


def _is_new(deal: Opportunity) -> bool:
    state = inspect(deal)
    return state.transient or state.pending


def _old(changes: dict[str, Any], name: str, current: Any) -> Any:
    return changes[name][0] if name in changes else current


def _reopening(changes: dict[str, Any]) -> bool:
    return "status" in changes and changes["status"][1] == OPEN


def _live_party(session: Session, party_id: int) -> bool:
    return session.scalar(select(Party.id).where(Party.id == party_id, Party.deleted_at.is_(None))) is not None


def _check_money(session: Session, deal: Opportunity, errors: dict[str, str]) -> None:
    if deal.amount_minor is None:
        deal.amount_minor = 0
    if not isinstance(deal.amount_minor, int) or deal.amount_minor < 0:
        errors["amount_minor"] = _("The amount cannot be negative.")
    elif deal.amount_minor > MAX_AMOUNT_MINOR:
        errors["amount_minor"] = _("The amount is too large; check the number of digits.")
    code = (deal.amount_currency or "").strip().upper()
    deal.amount_currency = code or company_settings(session).base_currency
    if deal.amount_currency not in currency_codes():
        errors["amount_currency"] = _("%(code)s is not a currency code (ISO 4217, such as UAH, EUR, USD).") % {
            "code": deal.amount_currency
        }


def _place(
    session: Session, deal: Opportunity, changes: dict[str, Any], creating: bool, errors: dict[str, str]
) -> tuple[PipelineInfo | None, StageInfo | None]:
    """The deal's pipeline and stage after this change: defaults for a new deal, the first open stage when
    only the pipeline changed, the closing stage when only the status changed (won, lost or reopened)."""
    book = catalogue(session)
    if deal.pipeline_id is None:
        current = book.stage(deal.stage_id)
        pipeline = book.pipeline(current.pipeline_id) if current else book.default()
    else:
        pipeline = book.pipeline(deal.pipeline_id)
    if pipeline is None or (pipeline.archived and "pipeline_id" in changes):
        errors["pipeline_id"] = _("Pick a pipeline from the list.")
        return None, None
    deal.pipeline_id = pipeline.id
    stage = book.stage(deal.stage_id)
    status_only = "status" in changes and "stage_id" not in changes
    if (stage is None and deal.stage_id is None) or ("pipeline_id" in changes and "stage_id" not in changes):
        stage = pipeline.first_open()
    if status_only and (stage is None or stage.outcome != deal.status):
        if deal.status not in (OPEN, WON, LOST):
            errors["status"] = _("A deal is open, won or lost.")
            return pipeline, None
        stage = pipeline.first_open() if deal.status == OPEN else pipeline.closing(deal.status)
    if stage is None or stage.pipeline_id != pipeline.id:
        errors["stage_id"] = _("Pick a stage of the %(pipeline)s pipeline.") % {"pipeline": pipeline.label}
        return pipeline, None
    if stage.archived and (creating or "stage_id" in changes):
        errors["stage_id"] = _("The stage %(stage)s is no longer used; pick another one.") % {"stage": stage.label}
        return pipeline, None
    deal.stage_id = stage.id
    return pipeline, stage


def _follow_stage(
    session: Session, deal: Opportunity, stage: StageInfo, changes: dict[str, Any], moved: bool, creating: bool
) -> None:
    """Status, probability, forecast category and close date as the stage says, unless set by hand."""
    deal.status = stage.outcome
    typed_probability = "probability" in changes and changes["probability"][1] is not None
    if stage.closed:
        deal.probability = stage.probability
        deal.probability_manual = False
        deal.forecast_category = stage.outcome
        if deal.closed_on is None or (moved and "closed_on" not in changes):
            deal.closed_on = company_settings(session).today()
        if deal.expected_close is None:
            deal.expected_close = deal.closed_on
        return
    deal.closed_on = None
    if (moved and not typed_probability) or deal.probability is None:
        deal.probability = stage.probability
    deal.probability_manual = deal.probability != stage.probability
    typed_category = "forecast_category" in changes and changes["forecast_category"][1]
    if (moved and not typed_category) or not deal.forecast_category or deal.forecast_category in (WON, LOST):
        deal.forecast_category = stage.forecast_category if stage.forecast_category not in (WON, LOST) else "pipeline"


def _record_stay(
    session: Session,
    deal: Opportunity,
    stage: StageInfo,
    old_stage_id: int | None,
    creating: bool,
    changes: dict[str, Any],
    actor_id: int | None,
) -> None:
    """Close the current stay (if any) and open one in ``stage``. An import may say when the deal entered
    its stage (``stage_entered_at``); otherwise it is now."""
    now = utcnow()
    entered = deal.stage_entered_at if "stage_entered_at" in changes and deal.stage_entered_at else now
    deal.stage_entered_at = entered
    if not creating:
        session.execute(
            update(StageChange)
            .where(StageChange.opportunity_id == deal.id, StageChange.left_at.is_(None))
            .values(left_at=entered)
        )
    deal.history.add(
        StageChange(
            pipeline_id=deal.pipeline_id,
            stage_id=stage.id,
            from_stage_id=old_stage_id,
            entered_at=entered,
            by_user_id=actor_id,
        )
    )
