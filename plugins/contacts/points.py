"""Contact points (e-mail, phone, web, messenger) and postal addresses of a party.

OWNED BY THE CARD HELPER. Contract used by others:
- ``before_save(session, party, changes)``: normalise and validate ``primary_email``/``primary_phone`` on
  every write path (a bad value is a ValidationError for that field); the child rows follow the primary
  values (a primary point created or updated in the same transaction).
- ``normalise_email(text) -> str`` and ``normalise_phone(text, region) -> str`` (E.164) for search and
  duplicate matching.

How the rows follow: ``before_save`` cannot write child rows itself (a new party has no id yet, and an
import saves a thousand parties in one flush), so it queues what each party wants in ``session.info`` and
an ``after_flush_postexec`` listener writes the rows for the whole flush at once: one executemany of new
rows per table, and for parties that already existed one SELECT of their rows per table.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import event, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from voronka.core.company import company_settings, region_codes
from voronka.core.errors import ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.seeding import insert_many
from voronka.core.writes import batch_memo

from .city_keys import city_key
from .models import Address, ContactPoint, Party

PRIMARY_COLUMNS = {"email": "primary_email", "phone": "primary_phone"}
"""Channels whose primary value is also kept on the party row."""
LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    "email": (("work", N_("work")), ("home", N_("home")), ("other", N_("other"))),
    "phone": (("mobile", N_("mobile")), ("work", N_("work")), ("home", N_("home")), ("fax", N_("fax")),
              ("other", N_("other"))),
    "web": (("work", N_("work")), ("personal", N_("personal")), ("other", N_("other"))),
    "messenger": (("telegram", "Telegram"), ("viber", "Viber"), ("whatsapp", "WhatsApp"), ("signal", "Signal"),
                  ("skype", "Skype"), ("other", N_("other"))),
}  # fmt: skip
ADDRESS_LABELS = (("work", N_("work")), ("home", N_("home")), ("billing", N_("billing")),
                  ("delivery", N_("delivery")), ("other", N_("other")))  # fmt: skip
CHANNEL_LABELS = {"email": N_("E-mail"), "phone": N_("Phone"), "web": N_("Web site"), "messenger": N_("Messenger")}
VALUE_MAX = 300
HANDLE = re.compile(r"^[^\s]{1,100}$")
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9\u00a1-\uffff]([a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?\.)+"
                  r"[a-z\u00a1-\uffff]{2,}$")  # fmt: skip
QUEUE = "contacts.points.pending"
REGION_MEMO = "contacts.points.phone_region"


# -- normalising and validating values ------------------------------------------------------------------


def normalise_email(text: str) -> str:
    """The form e-mails are compared in: lower-cased, the domain in its normal form when it parses."""
    text = (text or "").strip()
    found = _email_form(text)
    return found.lower() if found is not None else text.lower()


def normalise_phone(text: str, region: str = "UA") -> str:
    """E.164 (+380441234567), or "" when ``text`` cannot be a phone number (``region`` for local forms)."""
    forms = _phone_forms((text or "").strip(), region)
    return forms[1] if forms is not None else ""


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = (text or "").strip()
    if not text or len(text) > 60:
        return None
    try:
        return phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None


@functools.lru_cache(maxsize=16384)
def _email_form(text: str) -> str | None:
    """The validator's normal form of an e-mail address, or None when it is not one. Remembered: an import
    asks about each address three times (the duplicate check before and after its batch is written, and the
    write itself), and the validator costs more than everything else about the address."""
    if len(text) > 254:
        return None  # longer than any address (and not worth keeping in the cache)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@functools.lru_cache(maxsize=16384)
def _phone_forms(text: str, region: str) -> tuple[str, str] | None:
    """(international display form, E.164) of a phone number, or None when it cannot be one; remembered
    as :func:`_email_form` is (parsing is the costly part)."""
    number = _parse_phone(text, region)
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
    )


def clean_email(text: str) -> tuple[str, str]:
    """(display value, key) of an e-mail address; ValueError with a message people understand."""
    text = (text or "").strip()
    if not text:
        raise ValueError(_("Enter an e-mail address."))
    if len(text) > 254:
        raise ValueError(_("An e-mail address is at most 254 characters."))
    found = _email_form(text)
    if found is None:
        raise ValueError(_("“%(value)s” is not a valid e-mail address.") % {"value": text})
    return found, found.lower()


def clean_phone(text: str, region: str) -> tuple[str, str]:
    """(international display form, E.164 key) of a phone number written in any usual way."""
    text = (text or "").strip()
    if not text:
        raise ValueError(_("Enter a phone number."))
    forms = _phone_forms(text, region)
    if forms is None:
        raise ValueError(
            _("“%(value)s” is not a phone number. Write it with the country code (+380 44 123 4567) or as it is "
              "dialled in %(region)s.") % {"value": text[:60], "region": region}
        )  # fmt: skip
    return forms


def clean_web(text: str) -> tuple[str, str]:
    """(URL, key) of a web site: https:// is assumed; the key is the lower-cased host (without www.) and
    path, so http://WWW.Acme.ua/ and acme.ua match."""
    text = (text or "").strip()
    if not text:
        raise ValueError(_("Enter a web address."))
    url = text if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE) else "https://" + text
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        host, parts = "", None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not HOST.match(host) or len(url) > VALUE_MAX:
        raise ValueError(_("“%(value)s” is not a web address such as acme.ua or https://acme.ua/about.") % {
            "value": text[:100]})  # fmt: skip
    key = host.removeprefix("www.") + parts.path.rstrip("/")
    return url, key


def clean_messenger(text: str) -> tuple[str, str]:
    text = (text or "").strip()
    if not HANDLE.match(text):
        raise ValueError(_("Enter the handle or number without spaces (at most 100 characters)."))
    return text, text.lower().lstrip("@")


def clean_point(channel: str, text: str, region: str) -> tuple[str, str]:
    """(display value, key) for ``channel``; ValueError with the message for the field."""
    if channel == "email":
        return clean_email(text)
    if channel == "phone":
        return clean_phone(text, region)
    if channel == "web":
        return clean_web(text)
    if channel == "messenger":
        return clean_messenger(text)
    raise ValueError(_("Choose e-mail, phone, web site or messenger."))


def clean_country(text: str) -> str:
    country = (text or "").strip().upper()
    if country and country not in region_codes():
        raise ValueError(_("Enter the two-letter country code, such as UA, PL or US."))
    return country


def phone_region(session: Session) -> str:
    """The company's default phone region; reading it must not flush a batch being built (one executemany).
    Read once per batched write (kept in its :func:`~voronka.core.writes.batch_memo`), once per party else."""
    memo = batch_memo(session)
    region = memo.get(REGION_MEMO)
    if region is None:
        with session.no_autoflush:
            region = company_settings(session).phone_region or "UA"
        memo[REGION_MEMO] = region  # a no-op outside a batch: the memo is a fresh dict then
    return region


def address_text(row: Any) -> str:
    """One line for an address (history, audit values)."""
    parts = (row.street, row.city, row.region, row.postcode, row.country)
    return ", ".join(p for p in parts if p)


# -- every write path: the party's primary values and the rows that back them -------------------------


def before_save(session: Session, party: Party, changes: dict[str, Any]) -> None:
    """Normalise the primary e-mail/phone and city/country of ``party`` and queue the rows that back them."""
    wanted: dict[str, tuple[str, str]] = {}
    if "primary_email" in changes:
        wanted["email"] = _primary(party, "primary_email", lambda text: clean_email(text))
    if "primary_phone" in changes:
        region = phone_region(session)
        wanted["phone"] = _primary(party, "primary_phone", lambda text: clean_phone(text, region))
    if "city" in changes or "country" in changes:
        party.city = " ".join((party.city or "").split())
        try:
            party.country = clean_country(party.country or "")
        except ValueError as exc:
            raise ValidationError({"country": str(exc)}) from None
        wanted["address"] = (party.city, party.country)
    if wanted:
        queue = session.info.setdefault(QUEUE, {})
        earlier = queue.get(id(party))
        merged = {**(earlier[2] if earlier else {}), **wanted}
        queue[id(party)] = (party, party.id is None if earlier is None else earlier[1], merged)


def _primary(party: Party, column: str, clean: Any) -> tuple[str, str]:
    raw = getattr(party, column) or ""
    if not raw.strip():
        setattr(party, column, "")
        return "", ""
    try:
        display, key = clean(raw)
    except ValueError as exc:
        raise ValidationError({column: str(exc)}) from None
    setattr(party, column, key)
    return display, key


@event.listens_for(Session, "after_flush_postexec")
def _write_queued(session: Session, _flush_context: Any) -> None:
    """Write the rows queued by ``before_save`` for parties this flush saved (see the module's docstring)."""
    queue = session.info.get(QUEUE)
    if not queue:
        return
    ready, later = [], {}
    for key, (party, is_new, wanted) in queue.items():
        state = sa_inspect(party)
        if state.persistent and party.id is not None:
            ready.append((party, is_new, wanted))
        elif state.pending:
            later[key] = (party, is_new, wanted)  # added after this flush began: the next flush takes it
    if later:
        session.info[QUEUE] = later
    else:
        session.info.pop(QUEUE, None)
    if ready:
        sync(session, ready)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_queued(session: Session) -> None:
    """Rows queued for parties whose write never reached a flush go with the transaction."""
    session.info.pop(QUEUE, None)


def sync(session: Session, parties: list[tuple[Party, bool, dict[str, tuple[str, str]]]]) -> None:
    """Make each party's primary rows match what it wants: a new party gets its rows in one executemany;
    for existing ones the matching row is promoted or a new primary row is added (old ones kept, demoted)."""
    conn = session.connection()
    new_points: list[dict[str, Any]] = []
    new_addresses: list[dict[str, Any]] = []
    existing = [(p, w) for p, is_new, w in parties if not is_new]
    for party, is_new, wanted in parties:
        if not is_new:
            continue
        for channel in ("email", "phone"):
            display, key = wanted.get(channel, ("", ""))
            if key:
                new_points.append(_point_row(party.id, channel, display, key, 0))
        city, country = wanted.get("address", ("", ""))
        if city:
            new_addresses.append(_address_row(party.id, city, country, 0))
    if existing:
        _sync_existing(conn, existing, new_points, new_addresses)
    for table, rows in ((ContactPoint.__table__, new_points), (Address.__table__, new_addresses)):
        if not rows:
            continue
        if conn.dialect.name == "sqlite":
            insert_many(session, table, rows)  # the driver's executemany, past SQLAlchemy's per-row work
        else:  # one executemany (psycopg's pipeline); not COPY, which no statement event sees
            conn.execute(insert(table), rows)


def _point_row(party_id: int, channel: str, value: str, key: str, position: int) -> dict[str, Any]:
    return {"party_id": party_id, "channel": channel, "label": "", "value": value[:VALUE_MAX],
            "value_key": key[:VALUE_MAX], "is_primary": True, "position": position}  # fmt: skip


def _address_row(party_id: int, city: str, country: str, position: int) -> dict[str, Any]:
    return {"party_id": party_id, "label": "", "street": "", "city": city, "city_key": city_key(city),
            "region": "", "postcode": "", "country": country, "is_primary": True, "position": position}  # fmt: skip


def _sync_existing(conn: Any, parties: list[tuple[Party, dict]], new_points: list, new_addresses: list) -> None:
    ids = [p.id for p, _w in parties]
    points: dict[tuple[int, str], list[Any]] = {}
    addresses: dict[int, list[Any]] = {}
    if any("email" in w or "phone" in w for _p, w in parties):
        rows = conn.execute(
            select(ContactPoint.id, ContactPoint.party_id, ContactPoint.channel, ContactPoint.value_key,
                   ContactPoint.is_primary, ContactPoint.position)
            .where(ContactPoint.party_id.in_(ids), ContactPoint.channel.in_(("email", "phone")))
        )  # fmt: skip
        for row in rows:
            points.setdefault((row.party_id, row.channel), []).append(row)
    if any("address" in w for _p, w in parties):
        rows = conn.execute(
            select(
                Address.id, Address.party_id, Address.city, Address.country, Address.is_primary, Address.position
            ).where(Address.party_id.in_(ids))
        )
        for row in rows:
            addresses.setdefault(row.party_id, []).append(row)
    promote: list[int] = []
    demote: list[int] = []
    demote_addresses: list[int] = []
    countries: list[dict[str, Any]] = []
    for party, wanted in parties:
        for channel in ("email", "phone"):
            if channel not in wanted:
                continue
            display, key = wanted[channel]
            rows = points.get((party.id, channel), [])
            match = next((r for r in rows if key and r.value_key == key), None)
            demote.extend(r.id for r in rows if r.is_primary and r is not match)
            if match is not None and not match.is_primary:
                promote.append(match.id)
            elif match is None and key:
                top = max((r.position for r in rows), default=-1)
                new_points.append(_point_row(party.id, channel, display, key, top + 1))
        if "address" in wanted:
            city, country = wanted["address"]
            rows = addresses.get(party.id, [])
            same = [r for r in rows if city and r.city.casefold() == city.casefold()]
            match = next((r for r in same if r.is_primary), None) or (same[0] if same else None)
            demote_addresses.extend(r.id for r in rows if r.is_primary and r is not match)
            if match is None and city:
                top = max((r.position for r in rows), default=-1)
                new_addresses.append(_address_row(party.id, city, country, top + 1))
            elif match is not None:
                values: dict[str, Any] = {"is_primary": True}
                if country and match.country != country:
                    values["country"] = country
                if not match.is_primary or "country" in values:
                    countries.append({"b_id": match.id, **values})
    points_table, address_table = ContactPoint.__table__, Address.__table__
    if demote:
        conn.execute(update(points_table).where(points_table.c.id.in_(demote)).values(is_primary=False))
    if promote:
        conn.execute(update(points_table).where(points_table.c.id.in_(promote)).values(is_primary=True))
    if demote_addresses:
        conn.execute(update(address_table).where(address_table.c.id.in_(demote_addresses)).values(is_primary=False))
    for values in countries:
        conn.execute(update(address_table).where(address_table.c.id == values.pop("b_id")).values(**values))


# -- reading ---------------------------------------------------------------------------------------------


def points_of(session: Session, party_id: int) -> list[ContactPoint]:
    """The party's contact points by channel, primary first, then in the order they were added."""
    query = select(ContactPoint).where(ContactPoint.party_id == party_id)
    rows = list(session.scalars(query.order_by(ContactPoint.channel, ContactPoint.position, ContactPoint.id)))
    order = {channel: i for i, channel in enumerate(("email", "phone", "web", "messenger"))}
    return sorted(rows, key=lambda p: (order.get(p.channel, 9), not p.is_primary, p.position, p.id))


def addresses_of(session: Session, party_id: int) -> list[Address]:
    query = select(Address).where(Address.party_id == party_id).order_by(Address.position, Address.id)
    return sorted(session.scalars(query), key=lambda a: (not a.is_primary, a.position, a.id))
