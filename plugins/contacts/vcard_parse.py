"""A vCard 2.1 / 3.0 / 4.0 reader written for what address books really export.

Handled: line folding (a line starting with a space or tab continues the previous one), 2.1's
QUOTED-PRINTABLE with soft line breaks and its CHARSET parameter, 2.1's bare type parameters
(``TEL;WORK;VOICE``), 3.0/4.0 parameters (``TYPE=work,home``, repeated ``type=``, quoted lists, ``PREF=1``),
group prefixes (``item1.EMAIL``), backslash escapes (``\\n \\, \\; \\\\``), several cards per file. A card
that cannot be read is returned with its error and the rest go on. No third-party vCard library is
installed, so this is our own.
"""

from __future__ import annotations

import datetime as dt
import quopri
import re
from dataclasses import dataclass, field

MAX_CARDS = 100_000
MAX_CARD_LINES = 5_000
"""A card longer than this is refused (a runaway card without END:VCARD would otherwise eat the file)."""


class VCardError(ValueError):
    """The file as a whole is not a vCard file."""


@dataclass
class Prop:
    """One content line: name upper-cased, parameters (names upper-cased, values lists) and raw value."""

    name: str
    params: dict[str, list[str]]
    value: str
    group: str = ""

    @property
    def types(self) -> set[str]:
        return {t.lower() for t in self.params.get("TYPE", [])}

    @property
    def pref(self) -> int:
        """Preference, lower is preferred (4.0 PREF=1); a 2.1/3.0 ``pref`` type counts as 1, none as 100."""
        raw = (self.params.get("PREF") or [""])[0]
        if raw.isdigit():
            return int(raw)
        return 1 if "pref" in self.types else 100


@dataclass
class Point:
    channel: str  # email, phone, web, messenger
    value: str
    label: str = ""
    pref: int = 100


@dataclass
class PostalAddress:
    label: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    pref: int = 100

    @property
    def empty(self) -> bool:
        return not any((self.street, self.city, self.region, self.postcode, self.country))


@dataclass
class Card:
    """What we keep of one card; ``number`` counts cards in the file from 1."""

    number: int
    version: str = ""
    formatted_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    prefix: str = ""
    suffix: str = ""
    organisation: str = ""
    department: str = ""
    title: str = ""
    kind: str = ""
    birthday: dt.date | None = None
    birthday_no_year: bool = False
    note: str = ""
    points: list[Point] = field(default_factory=list)
    addresses: list[PostalAddress] = field(default_factory=list)
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def channel(self, name: str) -> list[Point]:
        """Points of one channel, preferred first (stable for equal preference)."""
        return sorted((p for p in self.points if p.channel == name), key=lambda p: p.pref)

    @property
    def emails(self) -> list[Point]:
        return self.channel("email")

    @property
    def phones(self) -> list[Point]:
        return self.channel("phone")

    @property
    def has_person_name(self) -> bool:
        return bool(self.first_name or self.middle_name or self.last_name or self.formatted_name)

    @property
    def is_organisation(self) -> bool:
        """A card for a company: KIND:org (4.0), X-ABShowAs:COMPANY (Apple), or only an ORG and no name
        (or a name that is the organisation's)."""
        if self.kind == "org":
            return bool(self.organisation or self.formatted_name)
        if not self.organisation:
            return False
        if not (self.first_name or self.middle_name or self.last_name):
            return not self.formatted_name or self.formatted_name.strip() == self.organisation.strip()
        return False


# -- lines ---------------------------------------------------------------------------------------------


def decode_bytes(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252/1251-safe Latin-1.

    Binary data (NUL bytes outside UTF-16) is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        if b"\x00" in data[:65536]:
            raise VCardError("binary")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return text


def logical_lines(text: str) -> list[str]:
    """Unfold: a physical line starting with a space or tab continues the previous one; a 2.1
    QUOTED-PRINTABLE value ending in ``=`` continues on the next line (a soft line break)."""
    out: list[str] = []
    qp_open = False
    for raw in re.split(r"\r\n|\r|\n", text):
        if qp_open and out:
            out[-1] = out[-1][:-1] + raw.lstrip() if out[-1].endswith("=") else out[-1] + raw
            qp_open = out[-1].endswith("=")
            continue
        if raw[:1] in (" ", "\t") and out:
            out[-1] += raw[1:]
        else:
            out.append(raw)
        last = out[-1]
        head = last.split(":", 1)[0].upper()
        qp_open = "QUOTED-PRINTABLE" in head and last.endswith("=") and ":" in last
    return out


_PARAM_SPLIT = re.compile(r';(?=(?:[^"]*"[^"]*")*[^"]*$)')


def parse_line(line: str) -> Prop | None:
    """``[group.]NAME;PARAM=v,w;BARE:value`` → Prop; None for a line without a colon in its name part."""
    in_quote = False
    colon = -1
    for index, char in enumerate(line):
        if char == '"':
            in_quote = not in_quote
        elif char == ":" and not in_quote:
            colon = index
            break
    if colon <= 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    parts = _PARAM_SPLIT.split(head)
    name = parts[0].strip()
    group = ""
    if "." in name:
        group, name = name.rsplit(".", 1)
    params: dict[str, list[str]] = {}
    for raw in parts[1:]:
        if not raw:
            continue
        key, sep, val = raw.partition("=")
        if not sep:  # vCard 2.1: TEL;WORK;VOICE / ENCODING bare values
            bare = key.strip()
            upper = bare.upper()
            if upper in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B"):
                params.setdefault("ENCODING", []).append(upper)
            else:
                params.setdefault("TYPE", []).append(bare)
            continue
        values = [v.strip().strip('"') for v in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', val)]
        for item in values:
            for piece in item.split(","):
                if piece:
                    params.setdefault(key.strip().upper(), []).append(piece)
    return Prop(name.upper(), params, value, group)


def decode_value(prop: Prop) -> str:
    """The value's text: QUOTED-PRINTABLE decoded in its CHARSET (UTF-8 by default)."""
    encoding = {e.upper() for e in prop.params.get("ENCODING", [])}
    if "QUOTED-PRINTABLE" in encoding:
        raw = quopri.decodestring(prop.value.encode("latin-1", errors="replace"))
        charset = (prop.params.get("CHARSET") or ["utf-8"])[0]
        try:
            return raw.decode(charset, errors="replace")
        except LookupError:
            return raw.decode("utf-8", errors="replace")
    return prop.value


def unescape(text: str) -> str:
    r"""``\n`` → newline, ``\,`` ``\;`` ``\\`` → the character; other backslashes stay (2.1 has none)."""
    return re.sub(r"\\([nN,;:\\])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def split_components(text: str, sep: str = ";", *, raw: bool = False) -> list[str]:
    """Split a structured value on unescaped ``sep`` and unescape each part (``raw``: keep the escapes)."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append("".join(current) if raw else unescape("".join(current)))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current) if raw else unescape("".join(current)))
    return [p.strip() for p in parts]


# -- values ---------------------------------------------------------------------------------------------

NO_YEAR = 1604
"""The year address books (Apple, Thunderbird) write for a birthday without a year; we store it the same way."""


def parse_birthday(text: str) -> tuple[dt.date | None, bool]:
    """(date, no_year): 1980-03-22, 19800322, 1980-03-22T00:00:00Z, --0203 / --02-03 (no year)."""
    raw = text.strip()
    match = re.fullmatch(r"--(\d{2})-?(\d{2})", raw)
    if match:
        try:
            return dt.date(NO_YEAR, int(match.group(1)), int(match.group(2))), True
        except ValueError:
            return None, False
    match = re.match(r"(\d{4})-?(\d{2})-?(\d{2})", raw)
    if not match:
        return None, False
    try:
        day = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None, False
    return day, day.year == NO_YEAR


PHONE_LABELS = {
    "cell": "mobile",
    "mobile": "mobile",
    "work": "work",
    "home": "home",
    "fax": "fax",
    "pager": "pager",
    "main": "main",
}
MESSENGERS = {
    "X-SKYPE": "skype",
    "X-SKYPE-USERNAME": "skype",
    "X-TELEGRAM": "telegram",
    "X-AIM": "aim",
    "X-ICQ": "icq",
    "X-JABBER": "jabber",
    "X-MSN": "msn",
    "X-YAHOO": "yahoo",
    "X-GOOGLE-TALK": "gtalk",
    "X-WHATSAPP": "whatsapp",
    "X-VIBER": "viber",
    "X-SIGNAL": "signal",
    "X-MS-IMADDRESS": "im",
}
IMPP_SCHEMES = {
    "skype": "skype",
    "tg": "telegram",
    "telegram": "telegram",
    "xmpp": "jabber",
    "aim": "aim",
    "icq": "icq",
    "msnim": "msn",
    "ymsgr": "yahoo",
    "sip": "sip",
    "whatsapp": "whatsapp",
    "viber": "viber",
    "signal": "signal",
}


def _label(types: set[str], known: dict[str, str]) -> str:
    for key in ("cell", "mobile", "fax", "pager", "work", "home", "main"):
        if key in types and key in known:
            return known[key]
    return ""


def _plain_label(types: set[str]) -> str:
    return "work" if "work" in types else "home" if "home" in types else ""


def _apply(card: Card, prop: Prop) -> None:
    name = prop.name
    if name in ("PHOTO", "LOGO", "SOUND", "KEY"):
        return
    text = decode_value(prop)
    if name == "VERSION":
        card.version = text.strip()
    elif name == "FN":
        card.formatted_name = unescape(text).strip()
    elif name == "N":
        parts = [
            " ".join(p for p in split_components(part, ",") if p)
            for part in (split_components(text, raw=True) + [""] * 5)[:5]
        ]
        card.last_name, card.first_name, card.middle_name, card.prefix, card.suffix = parts
    elif name == "ORG":
        if not card.organisation:
            parts = split_components(text)
            card.organisation = parts[0]
            card.department = "; ".join(p for p in parts[1:] if p)
    elif name == "TITLE":
        card.title = card.title or unescape(text).strip()
    elif name == "KIND" or name == "X-ADDRESSBOOKSERVER-KIND":
        card.kind = "org" if text.strip().lower() in ("org", "organization", "group") and name == "KIND" else ""
    elif name == "X-ABSHOWAS" and text.strip().upper() == "COMPANY":
        card.kind = "org"
    elif name == "BDAY":
        day, no_year = parse_birthday(text)
        if day is None and text.strip():
            card.warnings.append(f"birthday “{text.strip()}” is not a date")
        card.birthday, card.birthday_no_year = day, no_year
    elif name == "NOTE":
        note = unescape(text).strip()
        card.note = f"{card.note}\n\n{note}".strip() if card.note else note
    elif name == "EMAIL":
        value = unescape(text).strip()
        if value:
            card.points.append(Point("email", value, _plain_label(prop.types), prop.pref))
    elif name == "TEL":
        value = unescape(text).strip()
        if value.lower().startswith("tel:"):
            value = value[4:].split(";")[0]
        if value:
            card.points.append(Point("phone", value, _label(prop.types, PHONE_LABELS), prop.pref))
    elif name == "URL":
        value = unescape(text).strip()
        if value:
            card.points.append(Point("web", value, _plain_label(prop.types), prop.pref))
    elif name == "IMPP":
        value = unescape(text).strip()
        scheme, sep, handle = value.partition(":")
        if sep and scheme.lower() in IMPP_SCHEMES:
            card.points.append(Point("messenger", handle.lstrip("/"), IMPP_SCHEMES[scheme.lower()], prop.pref))
        elif value:
            card.points.append(Point("messenger", value, "", prop.pref))
    elif name in MESSENGERS:
        value = unescape(text).strip()
        if value:
            card.points.append(Point("messenger", value, MESSENGERS[name], prop.pref))
    elif name == "ADR":
        parts = (split_components(text) + [""] * 7)[:7]
        pobox, extended, street, city, region, postcode, country = parts
        street_text = ", ".join(p.replace("\n", ", ") for p in (pobox, extended, street) if p)
        address = PostalAddress(_plain_label(prop.types), street_text, city, region, postcode, country, prop.pref)
        if not address.empty:
            card.addresses.append(address)


def parse_card(lines: list[str], number: int) -> Card:
    card = Card(number)
    for line in lines:
        if not line.strip():
            continue
        prop = parse_line(line)
        if prop is None:
            if re.match(r"^[A-Za-z0-9+/=]+$", line.strip()):
                continue  # a 2.1 BASE64 continuation without indentation
            raise ValueError(f"line “{line[:60]}” is not a vCard property")
        _apply(card, prop)
    return card


def parse(text: str) -> list[Card]:
    """Every card in ``text``; a card that cannot be read carries ``error`` (the others are unaffected).

    Raises VCardError when the text holds no BEGIN:VCARD at all."""
    lines = logical_lines(text)
    cards: list[Card] = []
    current: list[str] | None = None
    for line in lines:
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if current is not None:
                cards.append(Card(len(cards) + 1, error="the card has no END:VCARD before the next card"))
            current = []
            continue
        if upper == "END:VCARD":
            if current is None:
                continue
            cards.append(_read(current, len(cards) + 1))
            current = None
            continue
        if current is not None:
            current.append(line)
            if len(current) > MAX_CARD_LINES:
                cards.append(Card(len(cards) + 1, error="the card has no END:VCARD"))
                current = None
        if len(cards) >= MAX_CARDS:
            break
    if current is not None:
        cards.append(Card(len(cards) + 1, error="the file ends inside a card (no END:VCARD)"))
    if not cards:
        raise VCardError("no cards")
    return cards


def _read(lines: list[str], number: int) -> Card:
    try:
        return parse_card(lines, number)
    except (ValueError, UnicodeError, LookupError) as exc:
        return Card(number, error=str(exc))


def name_from_email(email: str) -> str:
    """A person's name guessed from an address's local part: ``olena.kovalenko+crm@x`` → ``Olena Kovalenko``."""
    local = email.split("@", 1)[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._\-]+", local) if w]
    words = [re.sub(r"\d+$", "", w) or w for w in words]
    return " ".join(w[:1].upper() + w[1:] for w in words if w)


__all__ = ["NO_YEAR", "Card", "Point", "PostalAddress", "VCardError", "decode_bytes", "name_from_email", "parse"]
