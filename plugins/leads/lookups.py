"""Data a qualification script may read (leads' own answers to ``qualification_lookups``).

Each runs through the system scope (:func:`voronka.core.security.system_scope.match_fact`): "is there a
customer with this e-mail?" must be answered even when someone else owns that customer, and the answer is
only the fact (a count), never the record. ``lead`` is the dict of the lead's fields the runner passes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from voronka.core.i18n import N_
from voronka.core.security.system_scope import match_fact
from voronka.plugins.contacts.api import ContactPoint, Organisation, Party

from .models import Lead


def own_lookups() -> list[dict[str, Any]]:
    return [
        {
            "key": "leads.existing_customer",
            "label": N_("Is this an existing customer?"),
            "type": "bool",
            "run": existing_customer,
        },
        {
            "key": "leads.previous_leads",
            "label": N_("Earlier leads with the same e-mail or phone"),
            "type": "number",
            "run": previous_leads,
        },
        {"key": "leads.company_known", "label": N_("Do we know this company?"), "type": "bool", "run": company_known},
    ]


def _points(lead: dict[str, Any]) -> Any:
    """Parties with one of the lead's e-mail address or phone number (compared in their normalised form)."""
    wanted = []
    if lead.get("email_key"):
        wanted.append(and_(ContactPoint.channel == "email", ContactPoint.value_key == lead["email_key"]))
    if lead.get("phone_key"):
        wanted.append(and_(ContactPoint.channel == "phone", ContactPoint.value_key == lead["phone_key"]))
    if not wanted:
        return false()
    return Party.id.in_(select(ContactPoint.party_id).where(or_(*wanted)))


def _organisation_named(lead: dict[str, Any]) -> Any:
    key = lead.get("company_key") or ""
    if not key:
        return false()
    return and_(Party.kind == "organisation", or_(Party.name_key == key, Party.alt_key == key))


def existing_customer(session: Session, lead: dict[str, Any]) -> bool:
    """A person or organisation with the lead's e-mail or phone, or an organisation with its company name."""
    fact = match_fact(session, Party, Party.deleted_at.is_(None), or_(_points(lead), _organisation_named(lead)))
    return fact is not None


def previous_leads(session: Session, lead: dict[str, Any]) -> int:
    """How many leads came before this one with the same e-mail or phone."""
    same = []
    if lead.get("email_key"):
        same.append(Lead.email_key == lead["email_key"])
    if lead.get("phone_key"):
        same.append(Lead.phone_key == lead["phone_key"])
    if not same:
        return 0
    criteria = [Lead.deleted_at.is_(None), or_(*same)]
    if lead.get("id"):
        criteria.append(Lead.id < lead["id"])
    fact = match_fact(session, Lead, *criteria)
    return fact.count if fact is not None else 0


def company_known(session: Session, lead: dict[str, Any]) -> bool:
    """An organisation with the lead's company name, or another lead from the same company."""
    if not lead.get("company_key"):
        return False
    if match_fact(session, Organisation, Party.deleted_at.is_(None), _organisation_named(lead)) is not None:
        return True
    others = [Lead.deleted_at.is_(None), Lead.company_key == lead["company_key"]]
    if lead.get("id"):
        others.append(Lead.id != lead["id"])
    return match_fact(session, Lead, *others) is not None
