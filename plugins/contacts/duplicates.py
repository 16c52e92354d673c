"""The duplicate matcher for people and organisations (system scope: it looks past the user's visibility).

A person is a likely duplicate of another when a normalised e-mail or phone is the same, or when their names
agree (across scripts, romanisations, initials and first/last order) and both are at the same organisation;
an organisation, when an e-mail or phone is the same or its name without the legal form agrees. Candidates
come only from indexed lookups (contact-point keys, the people of one organisation, a prefix of the name
key), so a check stays a handful of small queries however many parties there are; scoring happens here.

``person_candidates``/``organisation_candidates`` are the record kinds' ``duplicates`` functions and
``*_candidates_many`` their ``duplicates_many`` (core's import asks once per batch: :func:`candidates_many`);
:func:`hints` turns matches into the minimal facts a form may show
(:mod:`duplicate_hints`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from voronka.core.search_keys import prefix_bounds, search_key

from . import points
from .models import ORGANISATION, PERSON, ContactPoint, Party, Relationship, RelationshipType
from .name_match import HIGH, may_score_high, organisation_key, organisation_score, person_name, person_score
from .parties import bare_organisation_name

THRESHOLD = 0.8
"""Scores from here up are likely duplicates (chosen on tests/plugins/contacts/duplicate_pairs.csv)."""
LIMIT = 20
CHANNEL_LIMIT = 100
"""At most this many contact-point hits (a shared switchboard number must not flood the check)."""
PEOPLE_AT_ORG = 300
"""An organisation with more people than this is searched by name prefix among them instead of whole."""
NAME_PROBE = 200
ORG_PREFIX = 6
"""Letters of an organisation's first word that must agree (in some romanisation) to be compared at all:
enough to keep a probe small among a million names, few enough to allow a typo near the end."""
ORG_HINT_KEYS = ("organisation_id", "organisation_ids", "employer_id")
ORG_NAME_KEYS = ("organisation", "organisation_name", "company")
TYPES_KEY = "contacts.duplicates.at_org_types"
REGION_KEY = "contacts.duplicates.phone_region"

ROMANISATIONS = (("ya", "ia"), ("yu", "iu"), ("ye", "ie"), ("yi", "i"), ("y", "i"), ("ia", "ya"), ("iu", "yu"),
                 ("ie", "ye"), ("kh", "h"), ("h", "kh"), ("g", "h"), ("h", "g"), ("ts", "c"), ("c", "ts"),
                 ("w", "v"), ("x", "ks"), ("j", "y"), ("ie", "e"), ("e", "ie"))  # fmt: skip
"""Spellings of one sound in common romanisations, for prefix probes of indexed name keys."""

EMAIL, PHONE, NAME, REGISTRATION = "email", "phone", "name", "registration"


@dataclass(frozen=True)
class Match:
    """A likely duplicate: which party, how sure (0..1) and why (``EMAIL``, ``PHONE``, ``NAME``…)."""

    party_id: int
    score: float
    reason: str


def person_candidates(session: Session, values: dict[str, Any]) -> list[int]:
    """Ids of likely duplicates of a person described by ``values``, best first (the kind's matcher)."""
    return [m.party_id for m in matches(session, PERSON, values)]


def organisation_candidates(session: Session, values: dict[str, Any]) -> list[int]:
    """Ids of likely duplicates of an organisation described by ``values``, best first."""
    return [m.party_id for m in matches(session, ORGANISATION, values)]


def hints(
    session: Session, viewer: Any, kind_name: str, values: dict[str, Any], exclude: int | None = None
) -> list[Any]:
    """Likely duplicates of a person/organisation being created or edited, as minimal facts the viewer may
    see even when they cannot see the record (system scope, DESIGN §6): a list of
    :class:`~.duplicate_hints.DuplicateHint` — name and url only when the viewer can see the record."""
    from .duplicate_hints import hints_for

    if kind_name not in (PERSON, ORGANISATION):
        return []
    return hints_for(session, viewer, matches(session, kind_name, values, exclude=exclude))


def matches(
    session: Session,
    kind_name: str,
    values: dict[str, Any],
    *,
    exclude: int | None = None,
    limit: int = LIMIT,
    by_channel: dict[int, str] | None = None,
) -> list[Match]:
    """Likely duplicates of a ``kind_name`` party described by ``values``, best first, above :data:`THRESHOLD`.

    ``values`` holds the party's fields (``first_name``/``last_name`` or ``name``, ``primary_email``,
    ``primary_phone``, ``registration_no``), optionally more addresses under ``emails``/``phones`` and, for
    a person, the organisation they are at: ``organisation_id``/``organisation_ids`` (ids) or
    ``organisation`` (a name, looked up like a duplicate organisation). ``by_channel`` are the e-mail and
    phone hits when the caller looked them up already (:func:`candidates_many`)."""
    if by_channel is None:
        by_channel = _channel_hits(session, kind_name, values, exclude)
    if kind_name == PERSON:
        name = person_name(
            _text(values, "first_name"), _text(values, "last_name"), _text(values, "middle_name"), _text(values, "name")
        )
        orgs = organisation_ids(session, values)
        rows = _load(session, PERSON, set(by_channel) | set(_people_at(session, orgs, values, exclude)), exclude)
        found = [_score_person(name, row, by_channel.get(row.id)) for row in rows]
    else:
        name = _text(values, "name") or _text(values, "legal_name")
        key = organisation_key(name)
        reg = _text(values, "registration_no").replace(" ", "")
        ids = set(by_channel) | set(_organisations_named(session, name, exclude))
        rows = _load(session, ORGANISATION, ids, exclude)
        found = [_score_organisation(key, reg, row, by_channel.get(row.id)) for row in rows]
    likely = [m for m in found if m is not None and m.score >= THRESHOLD]
    likely.sort(key=lambda m: (-m.score, m.party_id))
    return likely[:limit]


def candidates_many(session: Session, kind_name: str, rows: list[dict[str, Any]]) -> list[list[int]]:
    """:func:`matches` ids for many rows at once (an import batch), the same answer per row in a few queries
    per batch: the e-mail and phone keys of all rows, the name prefixes of all rows (organisations), the
    organisations named in the rows and the people at them (people), each looked up once per 500 keys,
    and one load of every candidate; scoring is the same as :func:`matches`."""
    if not rows:
        return []
    hits = _channel_hits_many(session, rows)
    if kind_name == PERSON:
        wanted = _people_wanted(session, rows)
    else:
        names = [_text(values, "name") or _text(values, "legal_name") for values in rows]
        named = _organisations_named_many(session, names)
        wanted = [set(named.get(_first_word(name), ())) for name in names]
    for row_hits, ids in zip(hits, wanted, strict=True):
        ids.update(row_hits)
    loaded = _load_many(session, kind_name, set().union(*wanted))
    shapes = {i: _shape(kind_name, row) for i, row in loaded.items()}  # once per candidate, not per pair
    found = []
    for values, row_hits, ids in zip(rows, hits, wanted, strict=True):
        candidates = [loaded[i] for i in sorted(ids) if i in loaded]
        found.append([m.party_id for m in _scored(kind_name, values, candidates, row_hits, shapes)[:LIMIT]])
    return found


class CandidatesMany:
    """A kind's ``duplicates_many`` (:func:`candidates_many`), which also answers core's import about the
    rows of one batch among themselves (:meth:`within`), so it needs no second look after writing them."""

    def __init__(self, kind_name: str):
        self.kind_name = kind_name

    def __call__(self, session: Session, rows: list[dict[str, Any]]) -> list[list[int]]:
        return candidates_many(session, self.kind_name, rows)

    def within(self, session: Session, rows: list[dict[str, Any]]) -> list[list[int]]:
        return candidates_within(session, self.kind_name, rows)

    def prepare(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Before the batch's write transaction: normalise its e-mails and phones (the costly part of a
        check, kept by ``points``' caches for the matcher and ``before_save`` inside it), so the write lock
        is held for less time."""
        for values in rows:
            _email_keys(values)
            _phone_keys(session, values)


person_candidates_many = CandidatesMany(PERSON)
"""The person kind's ``duplicates_many``: :func:`person_candidates` for an import batch."""
organisation_candidates_many = CandidatesMany(ORGANISATION)
"""The organisation kind's ``duplicates_many``."""


class _Written:
    """A row of a batch as the matcher would load it once written (:data:`_LOAD`'s columns that scoring reads)."""

    __slots__ = ("first_name", "id", "last_name", "middle_name", "name", "registration_no")

    def __init__(self, index: int, values: dict[str, Any]):
        self.id = index
        self.first_name, self.middle_name = _text(values, "first_name"), _text(values, "middle_name")
        self.last_name, self.name = _text(values, "last_name"), _text(values, "name")
        self.registration_no = _text(values, "registration_no")


def candidates_within(session: Session, kind_name: str, rows: list[dict[str, Any]]) -> list[list[int]]:
    """For each of ``rows`` (records about to be created, in order), the earlier rows (by index) it would
    match once they were written: the same e-mail or phone key, or for an organisation a name probed by
    the same prefixes as :func:`_organisations_named` (without its limit), scored as :func:`matches` scores.
    Core's import writes the rows before the first one with such a match first and asks again for the rest,
    so that row is matched against the database as if the batch had been written row by row. The people
    an organisation named in a row has are not looked at: the batch's people have no ties yet."""
    if len(rows) < 2:
        return [[] for _row in rows]
    keys = [(_email_keys(values), _phone_keys(session, values)) for values in rows]
    owners: dict[tuple[str, str], list[int]] = {}
    prefixes: list[list[str]] = []
    alt_keys: list[str] = []
    if kind_name == ORGANISATION:
        for values in rows:
            name = _text(values, "name") or _text(values, "legal_name")
            word = _first_word(name)
            prefixes.append(prefix_variants(word, min(len(word), ORG_PREFIX)) if word else [])
            alt_keys.append(search_key(bare_organisation_name(name)))  # the stored alt_key: parties.keys_for
    found: list[list[int]] = []
    for index, (values, (emails, phones)) in enumerate(zip(rows, keys, strict=True)):
        hits: dict[int, str] = {}
        for key in sorted(phones):
            hits.update({i: PHONE for i in owners.get(("phone", key), ())})
        for key in sorted(emails):
            hits.update({i: EMAIL for i in owners.get(("email", key), ())})
        candidates = set(hits)
        if prefixes and prefixes[index]:
            candidates.update(i for i in range(index) if any(alt_keys[i].startswith(p) for p in prefixes[index]))
        if candidates:
            earlier = [_Written(i, rows[i]) for i in sorted(candidates)]
            shapes = {row.id: _shape(kind_name, row) for row in earlier}
            found.append(sorted(m.party_id for m in _scored(kind_name, values, earlier, hits, shapes)))
        else:
            found.append([])
        for key in emails:
            owners.setdefault(("email", key), []).append(index)
        for key in phones:
            owners.setdefault(("phone", key), []).append(index)
    return found


def _scored(
    kind_name: str, values: dict[str, Any], rows: list[Any], by_channel: dict[int, str], shapes: dict[int, Any]
) -> list[Match]:
    """Score loaded candidate ``rows`` (``shapes``: their compared names) against ``values``; those above
    :data:`THRESHOLD`, best first. A person found only by name is scored only when the family names may
    agree (:func:`may_score_high`: the others score too low to count)."""
    found: list[Match | None]
    if not rows:
        return []
    if kind_name == PERSON:
        name = person_name(
            _text(values, "first_name"), _text(values, "last_name"), _text(values, "middle_name"), _text(values, "name")
        )
        gate = THRESHOLD > HIGH
        found = [
            _score_names(name, shapes[row.id], row.id, channel)
            for row in rows
            if (channel := by_channel.get(row.id)) is not None or not gate or may_score_high(name, shapes[row.id])
        ]
    else:
        key = organisation_key(_text(values, "name") or _text(values, "legal_name"))
        reg = _text(values, "registration_no").replace(" ", "")
        found = [_score_organisation(key, reg, row, by_channel.get(row.id), shapes[row.id]) for row in rows]
    likely = [m for m in found if m is not None and m.score >= THRESHOLD]
    likely.sort(key=lambda m: (-m.score, m.party_id))
    return likely


def _shape(kind_name: str, row: Any) -> Any:
    """A candidate's name as scoring compares it: a person's :class:`PersonName`, an organisation's key."""
    if kind_name == PERSON:
        return person_name(row.first_name, row.last_name, row.middle_name, row.name)
    return organisation_key(row.name)


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _channel_hits_many(session: Session, rows: list[dict[str, Any]]) -> list[dict[int, str]]:
    """:func:`_channel_hits` of each row, the keys of all rows looked up together."""
    keys = [(_email_keys(values), _phone_keys(session, values)) for values in rows]
    emails = sorted({k for e, _p in keys for k in e})
    phones = sorted({k for _e, p in keys for k in p})
    owners: dict[tuple[str, str], set[int]] = {}
    connection = session.connection()
    email_chunks, phone_chunks = list(_chunks(emails)), list(_chunks(phones))
    for index in range(max(len(email_chunks), len(phone_chunks))):  # both channels in one query per 500 keys
        params = {"emails": email_chunks[index] if index < len(email_chunks) else [],
                  "phones": phone_chunks[index] if index < len(phone_chunks) else []}  # fmt: skip
        for party_id, found_channel, key in connection.execute(_POINT_KEYS, params):
            owners.setdefault((found_channel, key), set()).add(party_id)
    found = []
    for row_emails, row_phones in keys:
        hits: dict[int, str] = {}
        for key in sorted(row_phones):
            hits.update({i: PHONE for i in owners.get(("phone", key), ())})
        for key in sorted(row_emails):
            hits.update({i: EMAIL for i in owners.get(("email", key), ())})
        if len(hits) > CHANNEL_LIMIT:  # as the single-row query's limit: a shared number must not flood the check
            hits = {i: hits[i] for i in sorted(hits)[:CHANNEL_LIMIT]}
        found.append(hits)
    return found


def _people_wanted(session: Session, rows: list[dict[str, Any]]) -> list[set[int]]:
    """Per row, the people at the organisations it names (:func:`organisation_ids`, :func:`_people_at`)."""
    names = [[_text(values, key) for key in ORG_NAME_KEYS if _text(values, key)] for values in rows]
    distinct = sorted({n for row_names in names for n in row_names})
    orgs_by_name = dict(zip(distinct, _org_ids_named(session, distinct), strict=True))
    org_ids: list[list[int]] = []
    for values, row_names in zip(rows, names, strict=True):
        ids = [i for key in ORG_HINT_KEYS for i in _ids(values.get(key))]
        ids += [i for n in row_names for i in orgs_by_name[n]]
        org_ids.append(sorted(set(ids)))
    people = _people_at_many(session, sorted({i for ids in org_ids for i in ids}))
    wanted = []
    for values, ids in zip(rows, org_ids, strict=True):
        if any(people.get(i) is None for i in ids):  # a very large organisation: probe it by name, as one row
            wanted.append(set(_people_at(session, ids, values, None)))
        else:
            wanted.append({p for i in ids for p in people[i]})
    return wanted


def _org_ids_named(session: Session, names: list[str]) -> list[list[int]]:
    """For each organisation name, the best five organisations matching it (as ``matches(..., limit=5)``)."""
    if not names:
        return []
    return [ids[:5] for ids in candidates_many(session, ORGANISATION, [{"name": n} for n in names])]


def _people_at_many(session: Session, org_ids: list[int]) -> dict[int, list[int] | None]:
    """People at each of ``org_ids``; None for an organisation with more than :data:`PEOPLE_AT_ORG` (its
    people are probed by name per row, as :func:`_people_at` does)."""
    found: dict[int, list[int] | None] = {i: [] for i in org_ids}
    types = at_org_type_ids(session) if org_ids else []
    if not types:
        return found
    for chunk in _chunks(org_ids):
        rows = session.connection().execute(_PEOPLE_AT, {"orgs": chunk, "types": types, "cap": PEOPLE_AT_ORG + 1})
        for person_id, org_id, rank in rows:
            people = found[org_id]
            if people is not None:
                found[org_id] = None if rank > PEOPLE_AT_ORG else [*people, person_id]
    return found


def _first_word(name: str) -> str:
    return search_key(bare_organisation_name(name)).split(" ")[0].strip("\"'«»“”.,")


def _organisations_named_many(session: Session, names: list[str]) -> dict[str, list[int]]:
    """:func:`_organisations_named` for many names, by their first word: each distinct prefix range once."""
    words = sorted({w for w in (_first_word(n) for n in names) if w})
    prefixes = {w: prefix_variants(w, min(len(w), ORG_PREFIX)) for w in words}
    by_prefix: dict[str, list[int]] = {}
    distinct = sorted({p for ps in prefixes.values() for p in ps})
    connection = session.connection()
    for chunk in _chunks(distinct, 50):
        parts = []
        for index, prefix in enumerate(chunk):
            lo, hi = prefix_bounds(prefix) or ("", "")
            probe = (
                select(Party.id)
                .where(Party.kind == ORGANISATION, Party.alt_key >= lo, Party.alt_key < hi, Party.deleted_at.is_(None))
                .order_by(Party.alt_key, Party.id)
                .limit(NAME_PROBE)
                .subquery()
            )
            parts.append(select(literal(index), probe.c.id))
        for index, party_id in connection.execute(union_all(*parts)):
            by_prefix.setdefault(chunk[index], []).append(party_id)
    return {w: [i for p in ps for i in by_prefix.get(p, ())] for w, ps in prefixes.items()}


def _load_many(session: Session, kind_name: str, ids: set[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.connection().execute(_LOAD, {"ids": chunk})
        found.update((row.id, row) for row in rows if row.kind == kind_name and row.deleted_at is None)
    return found


# -- reading the values -------------------------------------------------------------------------------------


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def _many(values: dict[str, Any], single: str, plural: str) -> list[str]:
    found = [_text(values, single)]
    extra = values.get(plural)
    if isinstance(extra, list | tuple):
        found += [v.strip() for v in extra if isinstance(v, str)]
    return [v for v in found if v]


def _ids(raw: Any) -> list[int]:
    items = raw if isinstance(raw, list | tuple | set) else [raw]
    found = []
    for item in items:
        text = str(item).strip() if item is not None else ""
        if text.isascii() and text.isdigit() and len(text) < 19:
            found.append(int(text))
    return found


def _email_keys(values: dict[str, Any]) -> set[str]:
    keys = set()
    for raw in _many(values, "primary_email", "emails"):
        try:
            key = _normal_email(raw)
        except Exception:  # not an e-mail address: nothing to match on
            continue
        if key:
            keys.add(key)
    return keys


def _phone_keys(session: Session, values: dict[str, Any]) -> set[str]:
    raw_phones = _many(values, "primary_phone", "phones")
    if not raw_phones:
        return set()
    region = _phone_region(session)
    keys = set()
    for raw in raw_phones:
        try:
            key = _normal_phone(raw, region)
        except Exception:  # not a phone number
            continue
        if key and sum(ch.isdigit() for ch in key) >= 6:  # a short extension is no evidence
            keys.add(key)
    return keys


def _normal_email(raw: str) -> str:
    """``points.normalise_email`` (which remembers recent addresses: an import asks about each row twice)."""
    return points.normalise_email(raw)


def _normal_phone(raw: str, region: str) -> str:
    return points.normalise_phone(raw, region)


def _phone_region(session: Session) -> str:
    """The company's default phone region, read once per session (an import asks per row)."""
    region = session.info.get(REGION_KEY)
    if region is None:
        region = session.info[REGION_KEY] = points.phone_region(session)
    return region


# -- candidates (indexed lookups only) ------------------------------------------------------------------------


_POINT_HITS = union_all(
    select(ContactPoint.party_id, ContactPoint.channel).where(
        ContactPoint.channel == "email", ContactPoint.value_key.in_(bindparam("emails", expanding=True))
    ),
    select(ContactPoint.party_id, ContactPoint.channel).where(
        ContactPoint.channel == "phone", ContactPoint.value_key.in_(bindparam("phones", expanding=True))
    ),
    # the party row's own primary e-mail (indexed) too, for rows written around the write path (bulk seeding)
    select(Party.id, literal("email")).where(Party.primary_email.in_(bindparam("emails", expanding=True))),
).limit(CHANNEL_LIMIT)
"""Built once: an import asks per row, and building the statement would cost more than running it. No kind
filter in SQL, so each key's own index answers alone; the kind is checked when loading."""


_POINT_KEYS = union_all(
    select(ContactPoint.party_id, ContactPoint.channel, ContactPoint.value_key).where(
        ContactPoint.channel == "email", ContactPoint.value_key.in_(bindparam("emails", expanding=True))
    ),
    select(ContactPoint.party_id, ContactPoint.channel, ContactPoint.value_key).where(
        ContactPoint.channel == "phone", ContactPoint.value_key.in_(bindparam("phones", expanding=True))
    ),
    select(Party.id, literal("email"), Party.primary_email).where(
        Party.primary_email.in_(bindparam("emails", expanding=True))
    ),
)


def _channel_hits(session: Session, kind_name: str, values: dict[str, Any], exclude: int | None) -> dict[int, str]:
    """Parties (of ``kind_name``, once loaded) sharing an e-mail or phone with ``values``: {id: EMAIL or PHONE}."""
    emails, phones = _email_keys(values), _phone_keys(session, values)
    if not emails and not phones:
        return {}
    hits: dict[int, str] = {}
    rows = session.connection().execute(_POINT_HITS, {"emails": sorted(emails), "phones": sorted(phones)})
    for party_id, channel in rows:
        if party_id != exclude:
            hits[party_id] = EMAIL if channel == "email" else hits.get(party_id, PHONE)
    return hits


def at_org_type_ids(session: Session) -> list[int]:
    """Relationship types that put a person at an organisation (employee, decision maker, contact person…):
    business ties from a person (A) to an organisation (B), not holding links. Cached per session."""
    cached = session.info.get(TYPES_KEY)
    if cached is None:
        query = select(RelationshipType.id).where(
            RelationshipType.category == "business",
            RelationshipType.a_kinds == PERSON,
            RelationshipType.b_kinds.in_((ORGANISATION, "any")),
            RelationshipType.hierarchy.is_(False),
        )
        cached = session.info[TYPES_KEY] = sorted(session.scalars(query))
    return cached


def organisations_of(session: Session, party_ids: Iterable[int]) -> dict[int, set[int]]:
    """The organisations each of ``party_ids`` (people) is at, by the relationships that say so."""
    ids, types = sorted(set(party_ids)), at_org_type_ids(session)
    found: dict[int, set[int]] = {i: set() for i in ids}
    if not ids or not types:
        return found
    rows = session.execute(
        select(Relationship.a_id, Relationship.b_id).where(Relationship.a_id.in_(ids), Relationship.type_id.in_(types))
    )
    for person_id, org_id in rows:
        found[person_id].add(org_id)
    return found


def organisation_ids(session: Session, values: dict[str, Any]) -> list[int]:
    """The organisations the values say the person is at: given ids, or a name matched like a duplicate."""
    ids: list[int] = []
    for key in ORG_HINT_KEYS:
        ids += _ids(values.get(key))
    for key in ORG_NAME_KEYS:
        name = _text(values, key)
        if name:
            ids += [m.party_id for m in matches(session, ORGANISATION, {"name": name}, limit=5)]
    return sorted(set(ids))


def _people_at(session: Session, org_ids: list[int], values: dict[str, Any], exclude: int | None) -> list[int]:
    """People at the organisations ``org_ids`` (the index on relationship B side); at a very large
    organisation only those whose name key starts like the name in ``values``."""
    types = at_org_type_ids(session)
    if not org_ids or not types:
        return []
    at_org = select(Relationship.a_id).where(Relationship.b_id.in_(org_ids), Relationship.type_id.in_(types))
    people = list(session.scalars(at_org.limit(PEOPLE_AT_ORG + 1)))
    if len(people) > PEOPLE_AT_ORG:
        probes = _name_probes(values)
        if not probes:
            return []
        query = (
            select(Party.id)
            .join(Relationship, Relationship.a_id == Party.id)
            .where(Relationship.b_id.in_(org_ids), Relationship.type_id.in_(types), or_(*probes))
            .limit(NAME_PROBE)
        )
        people = list(session.scalars(query))
    return [p for p in people if p != exclude]


def _name_probes(values: dict[str, Any]) -> list[Any]:
    """Prefix ranges on the indexed name keys: last name first (``name_key``) or first name first
    (``alt_key``), both ways round for a swapped order."""
    first = search_key(_text(values, "first_name"))
    last = search_key(_text(values, "last_name"))
    if not (first or last):
        words = search_key(_text(values, "name")).split()
        first, last = (words[0], words[-1]) if len(words) > 1 else ((words or [""])[0], "")
    probes = []
    for word in {first, last} - {""}:
        if len(word.strip(".")) < 2:
            continue
        for prefix in prefix_variants(word, 3):
            lo, hi = prefix_bounds(prefix) or ("", "")
            probes += [and_(Party.name_key >= lo, Party.name_key < hi), and_(Party.alt_key >= lo, Party.alt_key < hi)]
    return probes


def prefix_variants(word: str, size: int) -> list[str]:
    """The first ``size`` letters of ``word`` (a search key) as other romanisations would spell them, so a
    prefix range on a stored key finds "Zorya" from "zoria" and "Kievstar" from "kyivstar"."""
    found = {word[:size]}
    for old, new in ROMANISATIONS:
        if old in word[: size + 2]:
            found.add(word.replace(old, new)[:size])
    return sorted(v for v in found if v)


def _organisations_named(session: Session, name: str, exclude: int | None) -> list[int]:
    """Organisations whose bare-name key (``alt_key``) starts like the first word of ``name``."""
    word = search_key(bare_organisation_name(name)).split(" ")[0].strip("\"'«»“”.,")
    if not word:
        return []
    found: list[int] = []
    connection = session.connection()
    for prefix in prefix_variants(word, min(len(word), ORG_PREFIX)):
        lo, hi = prefix_bounds(prefix) or ("", "")
        found += [i for (i,) in connection.execute(_ORGS_BY_PREFIX, {"lo": lo, "hi": hi}) if i != exclude]
    return found


_ORGS_BY_PREFIX = (
    select(Party.id)
    .where(
        Party.kind == ORGANISATION,
        Party.alt_key >= bindparam("lo"),
        Party.alt_key < bindparam("hi"),
        Party.deleted_at.is_(None),
    )
    .order_by(Party.alt_key, Party.id)
    .limit(NAME_PROBE)
)


_ranked = (
    select(
        Relationship.a_id,
        Relationship.b_id,
        func.row_number().over(partition_by=Relationship.b_id, order_by=Relationship.a_id).label("rank"),
    )
    .where(
        Relationship.b_id.in_(bindparam("orgs", expanding=True)),
        Relationship.type_id.in_(bindparam("types", expanding=True)),
    )
    .subquery()
)
_PEOPLE_AT = select(_ranked.c.a_id, _ranked.c.b_id, _ranked.c.rank).where(_ranked.c.rank <= bindparam("cap"))
"""People at many organisations, at most ``cap`` each (one more than :data:`PEOPLE_AT_ORG` tells a large one)."""


def _load(session: Session, kind_name: str, ids: set[int], exclude: int | None) -> list[Any]:
    ids.discard(exclude)  # type: ignore[arg-type]
    if not ids:
        return []
    rows = session.connection().execute(_LOAD, {"ids": sorted(ids)})
    return [row for row in rows if row.kind == kind_name and row.deleted_at is None]


_LOAD = select(
    Party.id,
    Party.kind,
    Party.deleted_at,
    Party.first_name,
    Party.middle_name,
    Party.last_name,
    Party.name,
    Party.registration_no,
).where(Party.id.in_(bindparam("ids", expanding=True)))
"""The kind and the recycle bin are checked here, not in SQL: with them there, SQLite without statistics (and
PostgreSQL with stale ones) walks a (kind, …) or the deleted_at index over every party instead of looking the
ids up, some 30 ms a batch at 50,000 people and growing."""

# -- scoring --------------------------------------------------------------------------------------------------


def _score_person(name: Any, row: Any, channel: str | None) -> Match:
    return _score_names(name, _shape(PERSON, row), row.id, channel)


def _score_names(name: Any, other: Any, party_id: int, channel: str | None) -> Match:
    if channel == EMAIL:
        return Match(party_id, 1.0, EMAIL)
    by_name = person_score(name, other) if not name.empty else 0.0
    if channel == PHONE:
        # one phone may ring a whole household or office: another name at the same number is someone else
        differs = not name.empty and by_name < 0.5
        return Match(party_id, 0.6 if differs else max(0.9, by_name), PHONE)
    return Match(party_id, by_name, NAME)


def _score_organisation(key: str, reg: str, row: Any, channel: str | None, theirs_key: str | None = None) -> Match:
    theirs = (row.registration_no or "").replace(" ", "")
    by_name = organisation_score(key, organisation_key(row.name) if theirs_key is None else theirs_key)
    if reg and theirs:
        if reg == theirs:
            return Match(row.id, 1.0, REGISTRATION)
        return Match(row.id, min(by_name, 0.5), NAME)  # two registration numbers: two legal entities
    if channel == EMAIL:
        return Match(row.id, 1.0, EMAIL)
    if channel == PHONE:
        return Match(row.id, max(0.9, by_name), PHONE)
    return Match(row.id, by_name, NAME)


__all__ = [
    "THRESHOLD",
    "Match",
    "at_org_type_ids",
    "candidates_many",
    "candidates_within",
    "hints",
    "matches",
    "organisation_candidates",
    "organisation_candidates_many",
    "organisation_ids",
    "organisations_of",
    "person_candidates",
    "person_candidates_many",
]
