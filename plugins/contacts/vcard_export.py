"""Writing people and organisations as vCards.

We write vCard 3.0 (RFC 2426), not 4.0: Microsoft Outlook (desktop, through 2021/365) reads 2.1 and 3.0
but not 4.0, and it is the address book our customers' files most often go to; Apple Contacts, Google
Contacts, Thunderbird and Android read 3.0 as well. 3.0 has no year-less birthday, so one (stored with
the year 1604, as Apple does) is written with Apple's ``X-APPLE-OMIT-YEAR=1604`` parameter, which our
reader and Apple's understand. Lines are folded at 75 octets and end in CRLF, text is UTF-8.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from voronka.core.security.visibility import visible

from .imports_links import EMPLOYMENT
from .models import PERSON, Address, ContactPoint, Party, Relationship, RelationshipType
from .vcard_parse import NO_YEAR

PHONE_TYPES = {"mobile": "CELL", "work": "WORK", "home": "HOME", "fax": "FAX", "pager": "PAGER", "main": "MAIN"}
MESSENGER_PROPS = {
    "skype": "X-SKYPE",
    "telegram": "X-TELEGRAM",
    "aim": "X-AIM",
    "icq": "X-ICQ",
    "jabber": "X-JABBER",
    "msn": "X-MSN",
    "yahoo": "X-YAHOO",
    "whatsapp": "X-WHATSAPP",
    "viber": "X-VIBER",
    "signal": "X-SIGNAL",
}


def escape(text: str) -> str:
    return (
        (text or "")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 2426 §2.6)."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _types(*names: str) -> str:
    found = [n for n in names if n]
    return f";TYPE={','.join(found)}" if found else ""


def card(party: Any, points: list[Any], addresses: list[Any], employer: str = "") -> str:
    """One party as a vCard 3.0 card (``points``/``addresses``: its child rows, primary first)."""
    lines = ["BEGIN:VCARD", "VERSION:3.0"]
    if party.kind == PERSON:
        lines.append(f"N:{escape(party.last_name)};{escape(party.first_name)};{escape(party.middle_name)};;")
        lines.append(f"FN:{escape(party.name)}")
        if employer:
            lines.append(f"ORG:{escape(employer)}")
        if party.job_title:
            lines.append(f"TITLE:{escape(party.job_title)}")
        if party.birthday is not None:
            lines.append(_birthday(party.birthday))
    else:
        lines += [
            f"N:{escape(party.name)};;;;",
            f"FN:{escape(party.name)}",
            f"ORG:{escape(party.name)}",
            "X-ABShowAs:COMPANY",
        ]
    seen: set[tuple[str, str]] = set()
    rows = list(points)
    for channel, value in (("email", party.primary_email), ("phone", party.primary_phone)):
        if value and not any(p.channel == channel and p.value == value for p in rows):
            rows.insert(0, ContactPoint(channel=channel, value=value, label="", is_primary=True))
    for point in rows:
        if (point.channel, point.value) in seen:
            continue
        seen.add((point.channel, point.value))
        pref = "PREF" if point.is_primary else ""
        label = (point.label or "").lower()
        if point.channel == "email":
            lines.append(
                f"EMAIL{_types('INTERNET', label.upper() if label in ('work', 'home') else '', pref)}:"
                f"{escape(point.value)}"
            )
        elif point.channel == "phone":
            lines.append(f"TEL{_types(PHONE_TYPES.get(label, 'VOICE'), pref)}:{escape(point.value)}")
        elif point.channel == "web":
            lines.append(f"URL{_types(label.upper() if label in ('work', 'home') else '', pref)}:{point.value}")
        elif point.channel == "messenger":
            prop = MESSENGER_PROPS.get(label)
            lines.append(f"{prop or 'IMPP'}{_types(pref)}:{escape(point.value)}")
    shown = list(addresses)
    if not shown and party.city:
        shown = [
            Address(
                label="", street="", city=party.city, region="", postcode="", country=party.country, is_primary=True
            )
        ]
    for address in shown:
        label = (address.label or "").lower()
        kind = label.upper() if label in ("work", "home") else ""
        parts = ["", "", address.street, address.city, address.region, address.postcode, address.country]
        lines.append(
            f"ADR{_types(kind, 'PREF' if address.is_primary else '')}:{';'.join(escape(p or '') for p in parts)}"
        )
    if party.description:
        lines.append(f"NOTE:{escape(party.description)}")
    lines.append(f"UID:voronka-party-{party.id}")
    if party.updated_at is not None:
        lines.append(f"REV:{party.updated_at.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def _birthday(day: dt.date) -> str:
    if day.year == NO_YEAR:
        return f"BDAY;X-APPLE-OMIT-YEAR={NO_YEAR}:{day.isoformat()}"
    return f"BDAY;VALUE=date:{day.isoformat()}"


def cards(session: Session, parties: list[Any], viewer: Any) -> Iterator[str]:
    """The cards of ``parties`` with their child rows and the employers ``viewer`` may see, three queries."""
    ids = [p.id for p in parties]
    if not ids:
        return
    by_party: dict[int, list[Any]] = {}
    for point in session.scalars(
        select(ContactPoint)
        .where(ContactPoint.party_id.in_(ids))
        .order_by(
            ContactPoint.party_id,
            ContactPoint.is_primary.desc(),
            ContactPoint.channel,
            ContactPoint.position,
            ContactPoint.id,
        )
    ):
        by_party.setdefault(point.party_id, []).append(point)
    places: dict[int, list[Any]] = {}
    for address in session.scalars(
        select(Address)
        .where(Address.party_id.in_(ids))
        .order_by(Address.party_id, Address.is_primary.desc(), Address.position, Address.id)
    ):
        places.setdefault(address.party_id, []).append(address)
    employers = dict(_employers(session, [p.id for p in parties if p.kind == PERSON], viewer))
    for party in parties:
        yield card(party, by_party.get(party.id, []), places.get(party.id, []), employers.get(party.id, ""))


def _employers(session: Session, person_ids: list[int], viewer: Any) -> Iterable[tuple[int, str]]:
    """Current employers by person; one the viewer may not see is left out (its name must not leak)."""
    if not person_ids:
        return []
    employer = aliased(Party, name="employer")
    query = (
        select(Relationship.a_id, employer.name)
        .join(RelationshipType, RelationshipType.id == Relationship.type_id)
        .join(employer, employer.id == Relationship.b_id)
        .where(
            RelationshipType.key.in_(EMPLOYMENT),
            Relationship.a_id.in_(person_ids),
            Relationship.valid_to.is_(None),
            employer.deleted_at.is_(None),
            visible(employer, viewer),
        )
        .order_by(Relationship.a_id, Relationship.id.desc())
    )
    return list(reversed(session.execute(query).all()))  # the oldest link wins when dict() keeps the last
