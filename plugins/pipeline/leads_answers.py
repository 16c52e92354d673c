"""Pipeline's answers to the leads plugin's hooks: an opportunity as a qualification outcome and "open
deals of this organisation" as a lookup.

Leads is optional for pipeline, so these are ``optionalhook`` implementations returning plain dicts (keys
as leads documents them in its hookspecs): pipeline never imports leads and stores nothing about it;
where a deal came from is kept in leads' own table. ``ctx`` (what leads passes to ``create``) is read by
attribute only: ``session``, ``actor``, ``lead`` (a dict), ``values`` (mapped target → value),
``created`` (outcome key → ``(kind, id)`` made before this one) and ``kinds`` (the registered kinds).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from voronka.core import custom_fields
from voronka.core.errors import ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.writes import save
from voronka.plugins.contacts.api import ContactPoint, Party, normalise_email, organisation_key

from .deal_forms import read_money
from .models import NAME_MAX, OPEN, Opportunity
from .stages import catalogue

OPPORTUNITY, OPEN_DEALS = "pipeline.opportunity", "pipeline.open_deals"
ORGANISATION, PERSON = "leads.organisation", "leads.person"
"""Leads' own outcome keys (plain strings of its documented contract, not an import)."""
CUSTOM = "custom."

TARGETS: tuple[tuple[str, str], ...] = (
    ("name", N_("Deal name")), ("amount", N_("Amount")), ("amount_currency", N_("Currency")),
    ("expected_close", N_("Expected close")), ("probability", N_("Probability")),
    ("description", N_("Description")), ("competitor", N_("Competitor")),
)  # fmt: skip
DEFAULTS = {"amount": "answer.budget", "amount_currency": "answer.currency", "expected_close": "answer.close_date",
            "description": "lead.message"}  # fmt: skip
"""A script step keyed ``budget`` fills the amount, and so on; admins map other steps on leads' page."""


def fields(session: Session) -> list[tuple[str, str]]:
    """The opportunity's mapping targets: its own fields and its custom fields as ``custom.<key>``."""
    found = [(key, _(label)) for key, label in TARGETS]
    return found + [(CUSTOM + f.key, f.label) for f in custom_fields.definitions(session, "opportunity")]


def _customer(created: dict[str, tuple[str, int]]) -> int | None:
    for key, kind in ((ORGANISATION, "organisation"), (PERSON, "person")):
        made = created.get(key)
        if made is not None and made[0] == kind:
            return int(made[1])
    return None


def deal_name(lead: dict[str, Any]) -> str:
    """ "<company or person> — <channel label or the start of the message>"."""
    who = lead.get("company") or lead.get("name") or lead.get("email") or lead.get("phone") or ""
    what = lead.get("channel_label") or lead.get("message_excerpt") or ""
    name = " — ".join(part for part in (str(who).strip(), str(what).strip()) if part) or _("New deal")
    return name[:NAME_MAX]


def _money(session: Session, amount: Any, currency: Any) -> dict[str, Any]:
    """An amount from an answer ("50 000", 50000, "1250.50"): nothing when it is not one (a budget answered
    "not sure" leaves the deal at zero rather than failing the qualification)."""
    code = str(currency or "").strip().upper()[:3]
    raw = amount if isinstance(amount, str) else (str(amount) if isinstance(amount, int | float | Decimal) else "")
    raw = "".join(ch for ch in raw if ch.isdigit() or ch in " .,\u00a0")
    values, errors = read_money(session, raw, code)
    if "currency" in errors:
        values, errors = read_money(session, raw, "")
    return values if not errors else {}


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _owner(ctx: Any) -> dict[str, Any]:
    lead = ctx.lead
    if lead.get("owner_user_id"):
        return {"owner_user_id": lead["owner_user_id"], "owner_team_id": None}
    if lead.get("owner_team_id"):
        return {"owner_user_id": None, "owner_team_id": lead["owner_team_id"]}
    return {"owner_user_id": ctx.actor if isinstance(ctx.actor, int) else getattr(ctx.actor, "id", None),
            "owner_team_id": None}  # fmt: skip


def create(ctx: Any) -> int:
    """The opportunity of a qualified lead, in the default pipeline's first open stage, for the
    organisation made or linked in the same qualification (else the person)."""
    session, values = ctx.session, dict(ctx.values)
    pipeline = catalogue(session).default()
    stage = pipeline.first_open() if pipeline is not None else None
    if pipeline is None or stage is None:
        raise ValidationError(_("There is no pipeline with an open stage to put the deal in."))
    deal: dict[str, Any] = {"name": (str(values.pop("name", "") or "").strip()[:NAME_MAX] or deal_name(ctx.lead)),
                            "pipeline_id": pipeline.id, "stage_id": stage.id, "customer_id": _customer(ctx.created),
                            **_owner(ctx)}  # fmt: skip
    deal.update(_money(session, values.pop("amount", ""), values.pop("amount_currency", "")))
    close = _date(values.pop("expected_close", None)) if "expected_close" in values else None
    if close is not None and dt.date(2000, 1, 1) <= close <= dt.date(2100, 12, 31):
        deal["expected_close"] = close
    probability = values.pop("probability", None)
    if isinstance(probability, int | str) and str(probability).strip().isdigit() and 0 <= int(probability) <= 100:
        deal["probability"] = int(probability)
    for key in ("description", "competitor"):
        if key in values:
            deal[key] = str(values.pop(key))[: 200 if key == "competitor" else 20_000]
    deal.update({"cf." + k[len(CUSTOM) :]: v for k, v in values.items() if k.startswith(CUSTOM)})
    return int(save(session, ctx.kinds["opportunity"], None, deal, actor=ctx.actor).id)


def open_deals(session: Session, lead: dict[str, Any]) -> int:
    """How many open deals an organisation named like the lead's company, or a party with the lead's
    e-mail, has (system scope: whoever owns them; only the count leaves this function)."""
    parties = []
    company = str(lead.get("company") or "").strip()
    if company:
        key = organisation_key(company)  # as stored: the full name, and without the legal form ("ТОВ", "LLC")
        for column in (Party.name_key, Party.alt_key):
            parties.append(select(Party.id).where(Party.kind == "organisation", column == key,
                                                  Party.deleted_at.is_(None)))  # fmt: skip
    email = normalise_email(str(lead.get("email") or ""))
    if email:
        parties.append(select(ContactPoint.party_id).where(ContactPoint.channel == "email",
                                                           ContactPoint.value_key == email))  # fmt: skip
    if not parties:
        return 0
    query = select(func.count()).where(
        Opportunity.status == OPEN,
        Opportunity.deleted_at.is_(None),
        or_(*(Opportunity.customer_id.in_(ids) for ids in parties)),
    )
    return int(session.scalar(query) or 0)


def outcome() -> dict[str, Any]:
    return {"key": OPPORTUNITY, "label": N_("Opportunity"), "kind": "opportunity", "after": (ORGANISATION, PERSON),
            "default": True, "fields": fields, "defaults": dict(DEFAULTS), "create": create}  # fmt: skip


def lookup() -> dict[str, Any]:
    return {"key": OPEN_DEALS, "label": N_("Open deals of this organisation"), "type": "number", "run": open_deals}


@hookimpl(optionalhook=True)
def qualification_outcomes() -> list[dict[str, Any]]:
    return [outcome()]


@hookimpl(optionalhook=True)
def qualification_lookups() -> list[dict[str, Any]]:
    return [lookup()]


__all__ = ["OPEN_DEALS", "OPPORTUNITY", "create", "deal_name", "open_deals", "qualification_lookups",
           "qualification_outcomes"]  # fmt: skip
