"""vCards as rows for core's import: a row source (``import_sources["vcard"]`` of the party kinds) and the
"contact points" target that writes a card's further e-mails, phones, web sites, messenger handles and
postal addresses as child rows after each batch.

One uploaded file becomes up to two imports, one per record kind (``options["part"]``: "person" or
"organisation"): a card with only an organisation is an organisation, any other readable card a person.
Each card is one row, numbered by its place in the file, whose cells are named by target key, so the
import's mapping is exact and the preview, dry run, duplicate modes, batches and resumption are core's.
A card that cannot be read is a failed row of the person import with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from babel import Locale
from sqlalchemy import func, insert, select, update

from voronka.core.company import region_codes
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.imports_csv import Row
from voronka.core.imports_targets import AfterBatch, Lookups, Pending, Target

from . import points
from .city_keys import city_key
from .models import Address, ContactPoint
from .vcard_parse import Card, VCardError, decode_bytes, name_from_email, parse

SOURCE = "vcard"
PERSON_COLUMNS = (
    "first_name",
    "middle_name",
    "last_name",
    "name",
    "job_title",
    "birthday",
    "description",
    "primary_email",
    "primary_phone",
    "city",
    "country",
    "employer",
    "contact_points",
)
ORGANISATION_COLUMNS = ("name", "description", "primary_email", "primary_phone", "city", "country", "contact_points")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.a.": "US",
    "u.s.a": "US",
    "united states of america": "US",
    "uk": "GB",
    "england": "GB",
    "україна": "UA",
    "ukraine": "UA",
}
_countries: dict[str, str] = {}


def country_code(name: str) -> str:
    """An ISO code for a country as address books write it ("Germany", "U.S.A.", "Україна", "de"); "" when
    unknown (the name then stays in the address's region)."""
    raw = name.strip()
    if not raw:
        return ""
    if len(raw) == 2 and raw.isalpha():
        return raw.upper() if raw.upper() in region_codes() else ""
    if not _countries:
        for code in ("en", "uk"):
            for key, label in Locale.parse(code).territories.items():
                if len(key) == 2 and key.isalpha():
                    _countries.setdefault(label.casefold(), key)
    code = COUNTRY_ALIASES.get(raw.casefold()) or _countries.get(raw.casefold(), "")
    return code if code in region_codes() else ""


def classify(card: Card) -> str:
    """ "organisation", "person" or "error" (then ``card.error`` says why)."""
    if card.error:
        return "error"
    if card.is_organisation:
        return "organisation"
    if card.has_person_name or any(EMAIL.match(p.value) for p in card.emails):
        return "person"
    card.error = _("The card has no name, organisation or e-mail address, so there is nothing to call it by.")
    return "error"


def clean(channel: str, text: str, region: str) -> tuple[str, str] | None:
    """(value, key) as the card's own forms write them (``points.clean_point``), or None when invalid."""
    try:
        return points.clean_point(channel, text, region)
    except ValueError:
        return None


def card_values(card: Card, part: str, region: str) -> tuple[dict[str, str], list[str]]:
    """The card's cells by target key, and notes about what was left out or filled in."""
    notes: list[str] = []
    values: dict[str, str] = {}
    found: dict[str, list[tuple[Any, str, str]]] = {}
    bad = {"email": _("“%(value)s” is not an e-mail address; left out."),
           "phone": _("“%(value)s” is not a phone number; left out."),
           "web": _("“%(value)s” is not a web address; left out."),
           "messenger": _("“%(value)s” is not a messenger handle; left out.")}  # fmt: skip
    for channel in ("email", "phone", "web", "messenger"):
        for point in card.channel(channel):
            cleaned = clean(channel, point.value, region)
            if cleaned is None:
                notes.append(bad[channel] % {"value": point.value[:60]})
            else:
                found.setdefault(channel, []).append((point, *cleaned))
    emails, phones = found.get("email", []), found.get("phone", [])
    if part == "person":
        values.update(first_name=card.first_name[:120], middle_name=card.middle_name[:120],
                      last_name=card.last_name[:120], job_title=card.title[:200])  # fmt: skip
        if not (card.first_name or card.middle_name or card.last_name):
            values["name"] = card.formatted_name
            if not card.formatted_name and emails:
                address = emails[0][1]
                values["name"] = name_from_email(address) or address.split("@")[0]
                message = _("No name on the card: named “%(name)s” from the e-mail address.")
                notes.insert(0, message % {"name": values["name"]})
        if card.birthday is not None:
            values["birthday"] = card.birthday.isoformat()
        values["employer"] = card.organisation
    else:
        values["name"] = card.organisation or card.formatted_name
    description = card.note
    if card.department:
        description = "\n\n".join(p for p in (_("Department: %(name)s") % {"name": card.department}, description) if p)
    values["description"] = description
    if emails:
        values["primary_email"] = emails[0][1]
    if phones:
        values["primary_phone"] = phones[0][1][:40]
    found_points = []
    for channel, items in found.items():
        for index, (point, value, key) in enumerate(items):
            primary = index == 0 if channel in ("email", "phone") else point.pref < 100
            found_points.append({"c": channel, "l": point.label[:40], "v": value[:300], "k": key[:300], "p": primary})
    addresses = sorted(card.addresses, key=lambda a: a.pref)
    found_addresses = []
    for address in addresses:
        code = country_code(address.country)
        region_text = (
            address.region
            if code or not address.country
            else ", ".join(p for p in (address.region, address.country) if p)
        )
        found_addresses.append(
            {
                "l": address.label[:40],
                "street": address.street[:300],
                "city": address.city[:120],
                "region": region_text[:120],
                "postcode": address.postcode[:20],
                "country": code,
            }
        )
    if found_addresses:
        values["city"] = found_addresses[0]["city"]
        values["country"] = found_addresses[0]["country"]
    if found_points or found_addresses:
        values["contact_points"] = json.dumps(
            {"points": found_points, "addresses": found_addresses}, ensure_ascii=False
        )
    notes += [w for w in card.warnings]
    return values, notes


class VCardRows:
    """One part of a vCard file in the shape of core's ``CsvFile``: ``header``, ``rows(skip)``, ``count()``."""

    def __init__(self, data: bytes, options: dict[str, Any]):
        self.part = options.get("part") or "person"
        self.region = options.get("region") or "UA"
        self.header = list(PERSON_COLUMNS if self.part == "person" else ORGANISATION_COLUMNS)
        self.mapping = list(self.header)  # cells are named by target key
        self.cards = read_cards(data)

    def rows(self, skip: int = 0) -> Iterator[Row]:
        seen = 0
        for card in self.cards:
            kind = classify(card)
            if kind != self.part and not (kind == "error" and self.part == "person"):
                continue
            seen += 1
            if seen <= skip:
                continue
            if kind == "error":
                yield Row(
                    card.number, [], _("Card %(n)s cannot be read: %(error)s") % {"n": card.number, "error": card.error}
                )
                continue
            values, notes = card_values(card, self.part, self.region)
            yield Row(card.number, [values.get(key, "") for key in self.header], "", " ".join(notes))

    def count(self) -> int:
        return sum(1 for _row in self.rows())


def read_cards(data: bytes) -> list[Card]:
    """Every card of an uploaded file; a file that is not vCard text is a ValidationError for "file"."""
    try:
        return parse(decode_bytes(data))
    except VCardError:
        raise ValidationError(
            {
                "file": _(
                    "This is not a vCard file: it has no BEGIN:VCARD … END:VCARD cards (or it is binary). Export the "
                    "contacts from your address book as vCard (.vcf) and upload that file."
                )
            }
        ) from None


def open_vcard(data: bytes, options: dict[str, Any]) -> VCardRows:
    return VCardRows(data, options)


# -- the contact points target --------------------------------------------------------------------------


def parse_points(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError(_("This is not the contact points list a vCard import writes.")) from None
    if not isinstance(value, dict):
        raise ValidationError(_("This is not the contact points list a vCard import writes."))
    return value


def points_after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
    """Add the rows' contact points and addresses in bulk, leaving out those the party already has (the
    primary ones ``points.before_save`` keeps in step, and everything on a record a re-import updates)."""
    session = ctx.session
    ids = sorted({rid for _n, rid, _v, _r in items})
    have = set(
        session.execute(
            select(ContactPoint.party_id, ContactPoint.channel, ContactPoint.value_key).where(
                ContactPoint.party_id.in_(ids)
            )
        ).all()
    )
    primary = set(
        session.execute(
            select(ContactPoint.party_id, ContactPoint.channel).where(
                ContactPoint.party_id.in_(ids), ContactPoint.is_primary
            )
        ).all()
    )
    position = dict(
        session.execute(
            select(ContactPoint.party_id, func.max(ContactPoint.position))
            .where(ContactPoint.party_id.in_(ids))
            .group_by(ContactPoint.party_id)
        ).all()
    )
    places = {
        (pid, (street or "").casefold(), (city or "").casefold()): (aid, street)
        for aid, pid, street, city in session.execute(
            select(Address.id, Address.party_id, Address.street, Address.city).where(Address.party_id.in_(ids))
        )
    }
    with_primary_address = {pid for (pid, _s, _c) in places}
    point_rows: list[dict[str, Any]] = []
    address_rows: list[dict[str, Any]] = []
    filled: list[dict[str, Any]] = []
    for _number, party_id, value, _reason in items:
        next_position = (position.get(party_id) or 0) + 1
        for point in value.get("points") or []:
            key = (party_id, point["c"], point["k"])
            if not point.get("k") or key in have:
                continue
            have.add(key)
            is_primary = bool(point.get("p")) and (party_id, point["c"]) not in primary
            if is_primary:
                primary.add((party_id, point["c"]))
            point_rows.append(
                {
                    "party_id": party_id,
                    "channel": point["c"],
                    "label": point.get("l", "")[:40],
                    "value": point["v"],
                    "value_key": point["k"],
                    "is_primary": is_primary,
                    "position": next_position,
                }
            )
            next_position += 1
        for index, address in enumerate(value.get("addresses") or []):
            street, city = address.get("street", ""), address.get("city", "")
            if (party_id, street.casefold(), city.casefold()) in places:
                continue
            row = {
                "party_id": party_id,
                "label": address.get("l", ""),
                "street": street,
                "city": city,
                "city_key": city_key(city),
                "region": address.get("region", ""),
                "postcode": address.get("postcode", ""),
                "country": address.get("country", ""),
                "is_primary": index == 0 and party_id not in with_primary_address,
                "position": index,
            }
            bare = places.pop((party_id, "", city.casefold()), None)
            if bare is not None and street and bare[0]:
                # the row made from the party's city alone (``points`` keeps it in step): complete it
                filled.append(
                    {"id": bare[0], **{k: row[k] for k in ("label", "street", "region", "postcode", "country")}}
                )
            else:
                address_rows.append(row)
            places[(party_id, street.casefold(), city.casefold())] = (0, street)
    if point_rows:
        session.execute(insert(ContactPoint), point_rows)
    if address_rows:
        session.execute(insert(Address), address_rows)
    if filled:
        session.execute(update(Address), filled)
    return []


def points_targets(session: Any, lookups: Lookups) -> list[Target]:
    return [
        Target(
            "contact_points",
            _("More e-mails, phones and addresses (as a vCard import writes them)"),
            parse_points,
            after=points_after,
        )
    ]
