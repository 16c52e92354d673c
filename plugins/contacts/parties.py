"""Rules every write of a person or an organisation obeys, whatever path it takes (form, bulk, import, API):
the display name and search keys follow the name parts, a party always has a name, and contact values are
normalised (see ``points``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.search_keys import search_key

from . import points
from .models import ORGANISATION, PERSON, Party

NAME_PARTS = ("first_name", "middle_name", "last_name")
LEGAL_FORMS = re.compile(
    r"^(?:тов|пп|прат|пат|ат|фоп|тзов|дп|кп|ооо|зао|оао|llc|ltd|limited|inc|corp|plc|gmbh|ag|sa|sas|bv|"
    r"sp\.? ?z ?o\.? ?o\.?|s\.?r\.?o\.?|oy|ab)\b\.?\s*|\s*,?\s*\b(?:тов|llc|ltd|limited|inc|corp|plc|gmbh|ag|"
    r"sa|sas|bv|co)\.?$",
    re.IGNORECASE,
)
QUOTES = str.maketrans("", "", "\"«»“”„'")


def split_name(name: str) -> dict[str, str]:
    """A whole name typed in one box ("Olena Kovalenko", "Тарас Григорович Шевченко") as its parts."""
    words = name.split()
    if not words:
        return {"first_name": "", "middle_name": "", "last_name": ""}
    if len(words) == 1:
        return {"first_name": words[0], "middle_name": "", "last_name": ""}
    if len(words) == 2:
        return {"first_name": words[0], "middle_name": "", "last_name": words[1]}
    return {"first_name": words[0], "middle_name": " ".join(words[1:-1]), "last_name": words[-1]}


def person_name(first: str, middle: str, last: str) -> str:
    return " ".join(part for part in (first.strip(), middle.strip(), last.strip()) if part)


def bare_organisation_name(name: str) -> str:
    """The name without its legal form and quotes: ТОВ «Ромашка» → Ромашка, Acme Ltd. → Acme."""
    bare = name.translate(QUOTES).strip()
    for _round in range(2):
        bare = LEGAL_FORMS.sub("", bare).strip(" ,")
    return bare or name.strip()


def keys_for(party: Party) -> tuple[str, str]:
    """(name_key, alt_key) of a party as it stands."""
    if party.kind == PERSON:
        by_last = person_name(party.last_name or "", party.first_name or "", party.middle_name or "")
        return search_key(by_last), search_key(party.name)
    return organisation_keys(party.name or "")


def organisation_keys(name: str) -> tuple[str, str]:
    """(name_key, alt_key) of an organisation called ``name``; quotes are left out of both keys: «Ромашка»
    and "Romashka" are typed without them."""
    return search_key(name.translate(QUOTES)), search_key(bare_organisation_name(name))


def before_save(session: Session, party: Party, changes: dict[str, Any]) -> None:
    if party.kind == PERSON:
        _person_name(party, changes)
    elif party.kind == ORGANISATION:
        party.name = (party.name or "").strip()
        if not party.name:
            raise ValidationError({"name": _("Give the organisation a name.")})
    party.name_key, party.alt_key = keys_for(party)
    points.before_save(session, party, changes)


def _person_name(party: Party, changes: dict[str, Any]) -> None:
    parts_given = any(name in changes for name in NAME_PARTS)
    if "name" in changes and not parts_given:
        for key, value in split_name(party.name or "").items():
            setattr(party, key, value)
    for key in NAME_PARTS:
        setattr(party, key, (getattr(party, key) or "").strip())
    party.name = person_name(party.first_name, party.middle_name, party.last_name)
    if not party.name:
        raise ValidationError({"first_name": _("Give the person a first or a last name.")})
