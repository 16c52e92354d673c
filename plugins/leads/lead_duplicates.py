"""Duplicate hints for a lead: other leads and existing customers that may be the same inquirer.

Matching looks past the viewer's visibility (system scope, DESIGN §6): leads by the indexed e-mail key,
phone key, or name together with company; customers through contacts' own duplicate matcher (the person
and organisation kinds' ``duplicates``). What reaches the viewer is only the minimal fact: a record they
may open is named and linked, any other is "a record you cannot see matches", with who owns it to ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, User
from voronka.core.search_keys import search_key
from voronka.plugins.contacts.api import Party, normalise_email, normalise_phone, organisation_key, phone_region

from .models import Lead

LIMIT = 10
EMAIL, PHONE, NAME = "email", "phone", "name"
REASONS = {EMAIL: N_("same e-mail"), PHONE: N_("same phone"), NAME: N_("same name and company")}


def lead_url(lead_id: int) -> str:
    return f"/leads/{lead_id}"


def lead_display(lead: Any) -> str:
    """As :func:`.kinds.lead_display` (not imported: the kinds import this module's matcher)."""
    return lead.name or lead.company or lead.email or lead.phone or f"#{lead.id}"


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return str(value).strip()[:400] if value is not None else ""


def keys_of(session: Session, values: dict[str, Any]) -> dict[str, str]:
    """The comparison keys of a lead described by ``values`` (as typed: raw e-mail, phone, names)."""
    email = _text(values, "email")
    phone = _text(values, "phone")
    name = _text(values, "name") or " ".join(p for p in (_text(values, "first_name"), _text(values, "last_name")) if p)
    company = _text(values, "company")
    found = {
        EMAIL: normalise_email(email) if "@" in email else "",
        PHONE: normalise_phone(phone, phone_region(session)) if sum(c.isdigit() for c in phone) >= 6 else "",
        "name": search_key(name),
        "company": organisation_key(company) if company else "",
    }
    return found


def lead_matches(
    session: Session, values: dict[str, Any], *, exclude: int | None = None, limit: int = LIMIT
) -> list[tuple[int, str]]:
    """``(lead id, reason)`` of live leads that may be the same inquiry, best reason first (system scope)."""
    keys = keys_of(session, values)
    clauses = []
    if keys[EMAIL]:
        clauses.append(Lead.email_key == keys[EMAIL])
    if keys[PHONE]:
        clauses.append(Lead.phone_key == keys[PHONE])
    if keys["name"] and keys["company"]:
        clauses.append(and_(Lead.name_key == keys["name"], Lead.company_key == keys["company"]))
    if not clauses:
        return []
    query = select(Lead.id, Lead.email_key, Lead.phone_key).where(or_(*clauses), Lead.deleted_at.is_(None))
    if exclude is not None:
        query = query.where(Lead.id != exclude)
    found: list[tuple[int, str]] = []
    for row in session.execute(query.order_by(Lead.id.desc()).limit(limit)):
        if keys[EMAIL] and row.email_key == keys[EMAIL]:
            reason = EMAIL
        elif keys[PHONE] and row.phone_key == keys[PHONE]:
            reason = PHONE
        else:
            reason = NAME
        found.append((row.id, reason))
    order = (EMAIL, PHONE, NAME)
    return sorted(found, key=lambda pair: order.index(pair[1]))


def customer_matches(session: Session, kinds: Any, values: dict[str, Any]) -> list[tuple[int, str]]:
    """``(party id, reason)`` of people and organisations contacts' matcher finds for the lead's details."""
    found: list[tuple[int, str]] = []
    email, phone = _text(values, "email"), _text(values, "phone")
    person = {"first_name": _text(values, "first_name"), "last_name": _text(values, "last_name"),
              "name": _text(values, "name"), "primary_email": email, "primary_phone": phone,
              "organisation": _text(values, "company")}  # fmt: skip
    keys = keys_of(session, values)
    for kind_name, described in (("person", person), ("organisation", {"name": _text(values, "company")})):
        kind = kinds.get(kind_name) if hasattr(kinds, "get") else None
        if kind is None or kind.duplicates is None:
            continue
        if kind_name == "person" and not (person["first_name"] or person["last_name"] or person["name"]
                                          or email or phone):  # fmt: skip
            continue
        if kind_name == "organisation" and not described["name"]:
            continue
        try:
            ids = list(kind.duplicates(session, described))[:LIMIT]
        except Exception:  # contacts' matcher failing must not take the form down
            continue
        for party_id in ids:
            found.append((party_id, _party_reason(session, party_id, keys)))
    return found


def _party_reason(session: Session, party_id: int, keys: dict[str, str]) -> str:
    row = session.execute(select(Party.primary_email, Party.primary_phone).where(Party.id == party_id)).first()
    if row is not None and keys[EMAIL] and (row[0] or "").lower() == keys[EMAIL]:
        return EMAIL
    if row is not None and keys[PHONE] and (row[1] or "") == keys[PHONE]:
        return PHONE
    return NAME


@dataclass(frozen=True)
class Hint:
    """One likely duplicate as the viewer may learn it: ``name`` and ``url`` None when they cannot see it."""

    kind: str
    kind_label: str
    reason: str
    name: str | None
    url: str | None
    owner: str
    record_id: int | None = None


def _owners(session: Session, model: Any, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(model.id, User.display_name, Team.name)
        .outerjoin(User, User.id == model.owner_user_id)
        .outerjoin(Team, Team.id == model.owner_team_id)
        .where(model.id.in_(ids))
    )
    return {r[0]: (r[1] or r[2] or _("nobody")) for r in rows}


def hints(
    session: Session,
    viewer: Any,
    kinds: Any,
    values: dict[str, Any],
    *,
    exclude_lead: int | None = None,
    exclude_parties: set[int] | frozenset[int] = frozenset(),
) -> list[Hint]:
    """Leads and customers that may be the same as the lead described by ``values``, as minimal facts
    (``exclude_parties``: the customers this lead became, which are no news)."""
    found: list[Hint] = []
    leads = lead_matches(session, values, exclude=exclude_lead)
    lead_ids = [i for i, _r in leads]
    if lead_ids:
        seen = {r.id: r for r in session.execute(
            select(Lead.id, Lead.name, Lead.company, Lead.email, Lead.phone)
            .where(Lead.id.in_(lead_ids), kinds["lead"].visible_to(viewer)))}  # fmt: skip
        owners = _owners(session, Lead, lead_ids)
        for lead_id, reason in leads:
            row = seen.get(lead_id)
            name = lead_display(row) if row is not None else None
            found.append(Hint("lead", _("Lead"), _(REASONS[reason]), name, lead_url(lead_id) if row else None,
                              owners.get(lead_id, ""), lead_id if row else None))  # fmt: skip
    parties = [(i, r) for i, r in customer_matches(session, kinds, values) if i not in exclude_parties]
    party_ids = [i for i, _r in parties]
    if party_ids:
        visible: dict[int, Any] = {}
        for kind_name in ("person", "organisation"):
            kind = kinds.get(kind_name)
            if kind is not None:
                visible.update({r.id: r for r in session.execute(
                    select(Party.id, Party.name).where(Party.id.in_(party_ids), kind.visible_to(viewer)))})  # fmt: skip
        owners = _owners(session, Party, party_ids)
        done: set[int] = set()
        for party_id, reason in parties:
            if party_id in done:
                continue
            done.add(party_id)
            row = visible.get(party_id)
            found.append(Hint("customer", _("Customer"), _(REASONS[reason]), row.name if row else None,
                              f"/contacts/{party_id}" if row else None, owners.get(party_id, ""),
                              party_id if row else None))  # fmt: skip
    return found
