"""The queries behind the lists of people and organisations: search, filters, sorting and keyset pages.

Everything here is a SELECT under the viewer's visibility (``kind.visible_to``), so the list, its CSV
export, bulk actions and the global search agree on what a person may see. Pages are keyset pages on
``(sort key, id)`` read from the indexes ``(kind, name_key, id)`` / ``(kind, created_at, id)``: page 20,000
costs what page 1 does. The search box decides from the query's shape what to look for: an e-mail (has @),
a phone number (digits), or a name or city (anything else), each through an indexed prefix range. A city is
the party's own (``city_key``, index ``(kind, city_key, id)``), the one the list shows: searched like a name,
never through a join with the addresses, which would walk every address in the city to find the listed kind.

A search sorted by name lists rows in the order of the key that matched (:func:`search_page`): each source
is an index range already in (key, id) order, read a page at a time and merged, so "olek" or a big city
costs a page of rows however many match. Sorted by date, a search filters the date order (``search_parts``).
"""

from __future__ import annotations

import base64
import datetime as dt
import heapq
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, case, exists, false, func, null, or_, select, union
from sqlalchemy.orm import Session, aliased

from voronka.core import custom_fields
from voronka.core.models import TeamMember
from voronka.core.models_records import TagLink
from voronka.core.search_keys import prefix_bounds, prefix_filter

from . import points
from .models import ContactPoint, Party, Relationship

SORTS = {"name": Party.name_key, "created": Party.created_at, "updated": Party.updated_at}
PHONE_SHAPE = re.compile(r"^\+?[\d\s().\-/]+$")
PHONE_SPACING = re.compile(r"[\s().\-/]")
QUERY_MAX = 200
FEW_ONLY = "contacts_few_ids"
"""Execution option on a list query whose search matched only a few ids (see :func:`page`)."""
SEARCH_PROBE = 5000
"""A search source with this many matches or more is "common": tested per row along the list's index.
Reading ``c`` matches and sorting them costs ~c rows; walking the index finds a page after ~50·N/c rows
(N parties): they cross near sqrt(50·N), about 7,000 for a million; a source whose row test costs an
extra index probe (contact points, addresses) waits for twice as many."""
REL_PROBE = 5000
"""Above this many relationships of a type, the filter checks each listed party (EXISTS on the a/b
indexes, stops after a page); below it, it collects the few party ids first (IN)."""

COLUMNS = (
    Party.id,
    Party.kind,
    Party.name,
    Party.name_key,
    Party.job_title,
    Party.industry,
    Party.primary_email,
    Party.primary_phone,
    Party.city,
    Party.owner_user_id,
    Party.owner_team_id,
    Party.do_not_contact,
    Party.created_at,
    Party.updated_at,
)


@dataclass
class ListParams:
    """What a list shows, as its query string carries it (the same string pages, exports and bulk)."""

    q: str = ""
    owner: str = ""
    team: str = ""
    tag: str = ""
    rel: str = ""
    dnc: str = ""
    sort: str = "name"
    after: str = ""
    cf: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, params: Any) -> ListParams:
        def one(name: str) -> str:
            return str(params.get(name, "") or "").strip()[:QUERY_MAX]

        sort = one("sort")
        if sort.lstrip("-") not in SORTS:
            sort = "name"
        cf = {k: str(v)[:QUERY_MAX] for k, v in params.items() if k.startswith("cf.") and str(v).strip()}
        return cls(one("q"), one("owner"), one("team"), one("tag"), one("rel"), one("dnc"), sort, one("after")[:600],
                   cf)  # fmt: skip

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.owner or self.team or self.tag or self.rel or self.dnc or self.cf)

    def query_items(self, *, after: str = "", sort: str | None = None) -> list[tuple[str, str]]:
        """The parameters as (name, value) pairs for a link: the same list, another page or order."""
        items = [(k, v) for k, v in (("q", self.q), ("owner", self.owner), ("team", self.team), ("tag", self.tag),
                                      ("rel", self.rel), ("dnc", self.dnc)) if v]  # fmt: skip
        items += sorted(self.cf.items())
        chosen = self.sort if sort is None else sort
        if chosen != "name":
            items.append(("sort", chosen))
        if after:
            items.append(("after", after))
        return items


# -- the search box ------------------------------------------------------------------------------------


def query_shape(text: str) -> str:
    """The query's shape: "email" (has @), "phone" (digits, spaces, + ( ) - . /, at least three digits) or "text"."""
    if "@" in text:
        return "email"
    if PHONE_SHAPE.match(text) and sum(ch.isdigit() for ch in text) >= 3:
        return "phone"
    return "text"


def _range(column: Any, prefix: str) -> ColumnElement[bool] | None:
    bounds = prefix_bounds(prefix)
    if bounds is None:
        return None
    return and_(column >= bounds[0], column < bounds[1])


def phone_prefixes(text: str, region: str) -> list[str]:
    """E.164 prefixes a typed (maybe partial) number may start: "+380 67 12" → +3806712, "067 12" (in UA) →
    +3806712, "380671" → +380671, "6712" → +3806712 and +6712. A whole number goes through
    ``points.normalise_phone`` too, so its key matches exactly however it was typed."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return []
    found: list[str] = []
    try:  # only a whole number (nine digits or more) is worth parsing
        whole = points.normalise_phone(text, region) if len(digits) >= 9 else ""
    except Exception:  # a number the parser cannot read is still searched by its digits
        whole = ""
    if whole.startswith("+") and len(whole) > 4:
        found.append(whole)
    stripped = PHONE_SPACING.sub("", text)
    code = _country_code(region)
    if stripped.startswith("+"):
        found.append("+" + digits)
    elif digits.startswith("00"):
        found.append("+" + digits[2:])
    elif code and digits.startswith(code):
        found.append("+" + digits)
    elif digits.startswith("0"):
        if code:
            found.append("+" + code + digits[1:])
    else:
        if code:
            found.append("+" + code + digits)
        found.append("+" + digits)
    unique = list(dict.fromkeys(p for p in found if len(p) > 3))
    # a longer candidate starting with a shorter one adds nothing to a prefix search
    return [p for p in unique if not any(o != p and p.startswith(o) for o in unique)]


def _country_code(region: str) -> str:
    try:
        import phonenumbers

        code = phonenumbers.country_code_for_region((region or "UA").upper())
    except Exception:
        return ""
    return str(code) if code else ""


@dataclass(frozen=True)
class Source:
    """One way the search box may match a party: ``ids`` selects the matching party ids from the source's
    own index; ``row`` is the same test on a party row of the list (for common matches, see
    :func:`search_clause`)."""

    ids: Select[Any]
    row: ColumnElement[bool]
    probe: int = 0
    """Matches from which the row test is used (0: :data:`SEARCH_PROBE`); ids beyond it are not read."""
    key: str = ""
    """The sort (``SORTS``) whose index holds this source in order: its range is read as is."""
    walk: ColumnElement[bool] | None = None
    """The row test without an index (SQLite), so the list walks its own index instead."""


def _point(channel: str, match: ColumnElement[bool]) -> Source:
    ids = select(ContactPoint.party_id).where(ContactPoint.channel == channel, match)
    row = exists(select(ContactPoint.id).where(ContactPoint.party_id == Party.id, ContactPoint.channel == channel,
                                               match))  # fmt: skip
    return Source(ids, row, probe=SEARCH_PROBE * 2)  # the row test costs an index probe per row


def search_sources(session: Session, kinds: list[Any], text: str, region: str) -> list[Source]:
    """Every way ``text`` may match, by its shape: e-mail (contact points, the primary address), phone
    (contact points, by E.164 prefixes), or name (either key, so either script), city (its key, either
    script) and searchable custom fields."""
    text = text.strip()[:QUERY_MAX]
    kind_names = [k.name for k in kinds]
    kind_clause = Party.kind == kind_names[0] if len(kind_names) == 1 else Party.kind.in_(kind_names)
    unindexed = session.get_bind().dialect.name == "sqlite"
    found: list[Source] = []
    shape = query_shape(text)
    if shape == "email":
        wanted = points.normalise_email(text)
        email = _range(ContactPoint.value_key, wanted)
        if email is not None:
            found.append(_point("email", email))
            primary = Party.primary_email.in_(sorted({wanted, text}))
            found.append(Source(select(Party.id).where(primary), primary))
    elif shape == "phone":
        for prefix in phone_prefixes(text, region):
            found.append(_point("phone", _range(ContactPoint.value_key, prefix)))  # type: ignore[arg-type]
    else:
        for column, key in ((Party.name_key, "name"), (Party.alt_key, ""), (Party.city_key, "")):
            match = prefix_filter(column, text)
            if match is not None:
                # without statistics SQLite reads a common prefix's whole range and sorts it; along the
                # list's own index it finds a page sooner, so its row test there uses no index
                walk = prefix_filter(column.concat(""), text) if unindexed else None
                found.append(Source(select(Party.id).where(kind_clause, match), match, key=key, walk=walk))
        for kind in kinds:
            custom = custom_fields.search_ids(session, kind, text)
            if custom is not None:
                found.append(Source(custom, Party.id.in_(custom)))
    return found


@dataclass(frozen=True)
class Part:
    """One query of a search: a common source's row test, or the ids of all the few matches."""

    where: ColumnElement[bool]
    few: bool = False


def search_parts(session: Session, kinds: list[Any], text: str, region: str, sort_key: str) -> list[Part] | None:
    """The search box as parts, each read as its own keyset query and merged (:func:`merged_page`); None
    when ``text`` can match nothing, [] when it matched nothing.

    Each source is counted up to its probe size (an index range, in SQL). Sources with fewer matches give
    their ids to one part (``id IN (1, 2, …)``: the few rows are read by primary key and sorted); a common
    one ("Шевч", a big city) is a part of its own: its range read in order when it is the list's sort
    ("Шевч" by name), else tested on each row while the list walks its own index, which finds a page after
    a few thousand rows.
    """
    sources = search_sources(session, kinds, text, region)
    if not sources:
        return None
    few: set[int] = set()
    parts: list[Part] = []
    for source in sources:
        limit = source.probe or SEARCH_PROBE
        count = session.scalar(select(func.count()).select_from(source.ids.limit(limit).subquery())) or 0
        if count < limit:
            few |= set(session.scalars(source.ids)) if count else set()
        elif source.key == sort_key or source.walk is None:
            parts.append(Part(source.row))
        else:
            parts.append(Part(source.walk))
    if few:  # written into the SQL (integers only): no parameter limit, and planned for these very ids
        parts.append(Part(Party.id.in_(bindparam("few_ids", sorted(few), expanding=True, literal_execute=True)),
                          few=True))  # fmt: skip
    return parts


# -- filters -------------------------------------------------------------------------------------------


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def relationship_filter(session: Session, type_id: int) -> ColumnElement[bool]:
    """Parties on either side of a relationship of ``type_id``: IN for rare types, EXISTS for common
    ones (see :data:`REL_PROBE`)."""
    probe = select(Relationship.id).where(Relationship.type_id == type_id).limit(REL_PROBE).subquery()
    if (session.scalar(select(func.count()).select_from(probe)) or 0) >= REL_PROBE:
        a_side = exists(select(Relationship.id).where(Relationship.a_id == Party.id, Relationship.type_id == type_id))
        b_side = exists(select(Relationship.id).where(Relationship.b_id == Party.id, Relationship.type_id == type_id))
        return or_(a_side, b_side)
    ends = union(
        select(Relationship.a_id).where(Relationship.type_id == type_id),
        select(Relationship.b_id).where(Relationship.type_id == type_id),
    )
    return Party.id.in_(select(ends.subquery().c[0]))


def filter_clauses(session: Session, kinds: list[Any], params: ListParams, viewer: Any) -> list[ColumnElement[bool]]:
    """WHERE clauses of the list's filters (owner, team, tag, relationship, do-not-contact); a value that
    is not valid matches nothing rather than everything."""
    clauses: list[ColumnElement[bool]] = []
    if params.owner:
        owner = viewer.id if params.owner == "me" else _int(params.owner)
        clauses.append(Party.owner_user_id == owner if owner is not None else false())
    if params.team:
        team = _int(params.team)
        if team is None:
            clauses.append(false())
        else:
            members = select(TeamMember.user_id).where(TeamMember.team_id == team)
            clauses.append(or_(Party.owner_team_id == team, Party.owner_user_id.in_(members)))
    if params.tag:
        tag = _int(params.tag)
        names = [k.name for k in kinds]
        tagged = select(TagLink.record_id).where(TagLink.tag_id == tag, TagLink.kind.in_(names))
        clauses.append(Party.id.in_(tagged) if tag is not None else false())
    if params.rel:
        rel = _int(params.rel)
        clauses.append(relationship_filter(session, rel) if rel is not None else false())
    if params.dnc in ("yes", "no"):
        clauses.append(Party.do_not_contact.is_(params.dnc == "yes"))
    return clauses


# -- the list ------------------------------------------------------------------------------------------


def _filtered(session: Session, kind: Any, viewer: Any, params: ListParams, where: Any) -> Select[Any]:
    stmt = select(*COLUMNS).where(Party.kind == kind.name, kind.visible_to(viewer))
    return stmt.where(*filter_clauses(session, [kind], params, viewer), *where)


def base_queries(
    session: Session, kind: Any, viewer: Any, params: ListParams, region: str, *, where: Any = ()
) -> list[Select[Any]]:
    """The list's filtered SELECTs for one kind (no order, no page): one, or one per part of a search
    (:func:`search_parts`), each paged on its own and merged. ``where`` adds clauses (custom fields'
    filters). Empty when the search matches nothing."""
    stmt = _filtered(session, kind, viewer, params, where)
    if not params.q:
        return [stmt]
    parts = search_parts(session, [kind], params.q, region, params.sort_key) or []
    return [stmt.where(p.where).execution_options(**{FEW_ONLY: p.few}) for p in parts]


def base_query(
    session: Session, kind: Any, viewer: Any, params: ListParams, region: str, *, where: Any = ()
) -> Select[Any] | None:
    """The list's filtered SELECT for one kind as one statement (the CSV export, which reads by id);
    None when the search matches nothing."""
    stmt = _filtered(session, kind, viewer, params, where)
    if params.q:
        parts = search_parts(session, [kind], params.q, region, params.sort_key)
        if not parts:
            return None
        stmt = stmt.where(or_(*(p.where for p in parts)))
    return stmt


def encode_cursor(value: Any, row_id: int) -> str:
    raw = value.isoformat() if isinstance(value, dt.datetime) else value
    return base64.urlsafe_b64encode(json.dumps([raw, row_id], ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(text: str, sort_key: str) -> tuple[Any, int] | None:
    """The (sort value, id) a "next page" link carries; None when it is missing or not one of ours."""
    if not text:
        return None
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(row_id, int) or not isinstance(value, str):
            return None
        if sort_key != "name":
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                return None
        return value, row_id
    except (ValueError, TypeError):
        return None


def _after(column: Any, cursor: tuple[Any, int], descending: bool) -> ColumnElement[bool]:
    """Rows after the cursor in (column, id) order, written so the index range starts at the cursor."""
    value, row_id = cursor
    if descending:
        return and_(column <= value, or_(column < value, Party.id < row_id))
    return and_(column >= value, or_(column > value, Party.id > row_id))


def page(
    session: Session, stmt: Select[Any], params: ListParams, limit: int, cursor: tuple[Any, int] | None
) -> list[Row[Any]]:
    """Up to ``limit + 1`` rows of ``stmt`` after ``cursor`` in the list's order (the extra one says
    whether there is a next page)."""
    column = SORTS[params.sort_key]
    if cursor is not None:
        stmt = stmt.where(_after(column, cursor, params.descending))
    key: Any = column
    if stmt.get_execution_options().get(FEW_ONLY):
        # a few ids: read them by primary key and sort them, rather than walk the sort index hoping to meet
        # them early (they may all sit at its far end); an expression no index provides forces that plan
        key = func.coalesce(column, column)
    order = (key.desc(), Party.id.desc()) if params.descending else (key.asc(), Party.id.asc())
    return list(session.execute(stmt.order_by(*order).limit(limit + 1)))


def sort_value(row: Any, params: ListParams) -> Any:
    """The value a "next page" cursor carries: the sort column, or in a search the key that matched."""
    if "match_key" in row._fields:
        return row.match_key
    return getattr(row, SORTS[params.sort_key].key)


def merged_page(pages: list[list[Row[Any]]], params: ListParams, limit: int) -> tuple[list[Row[Any]], bool]:
    """Pages of several queries (kinds, parts of a search; each in the list's order) as one: each reads
    its own index in order and they merge, instead of one query sorting every match."""
    rows = list({r.id: r for p in pages for r in p}.values())
    rows.sort(key=lambda r: (sort_value(r, params), r.id), reverse=params.descending)
    return rows[:limit], len(rows) > limit


# -- the search in match order -------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """One way the search box matches, as ordered streams: each stream is an index range already in
    (key, party id) order, so a page reads about a page of rows from it whatever the match count.

    ``row_key`` is the party's key in this matcher (NULL when it does not match): every stream selects
    every matcher's ``row_key``, so a row found by several is kept only where its key is the smallest."""

    row_key: ColumnElement[Any]
    streams: list[Stream]


@dataclass(frozen=True)
class Stream:
    """One index range: rows of ``where`` (joined through ``join``) in ``(key, tie)`` order. A stream with
    ``const`` has one key (an address typed exactly): it is ordered by the tie alone."""

    key: ColumnElement[Any]
    tie: ColumnElement[int]
    where: list[ColumnElement[bool]]
    join: tuple[Any, ColumnElement[bool]] | None = None
    const: str | None = None


def _case(match: ColumnElement[bool] | None, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((match, value), else_=null()) if match is not None else null()


def _point_matcher(channel: str, prefix: str) -> Matcher:
    """Contact points of ``channel`` whose key starts with ``prefix``; a party's key is its smallest."""
    other = aliased(ContactPoint)
    row_key = (select(func.min(other.value_key))
               .where(other.party_id == Party.id, other.channel == channel, _range(other.value_key, prefix))
               .scalar_subquery())  # fmt: skip
    stream = Stream(ContactPoint.value_key, ContactPoint.party_id,
                    [ContactPoint.channel == channel, _range(ContactPoint.value_key, prefix)],  # type: ignore[list-item]
                    join=(ContactPoint, ContactPoint.party_id == Party.id))  # fmt: skip
    return Matcher(row_key, [stream])


def _equal_matcher(session: Session, column: Any, values: list[str]) -> Matcher:
    """Parties whose ``column`` is one of ``values`` (as typed): a stream per value, ordered by id. Values
    no party has are dropped first (one index seek each), so the planner never walks another index
    hoping to meet them."""
    values = sorted(v for v in set(values) if v and session.scalar(select(Party.id).where(column == v).limit(1)))
    return Matcher(_case(column.in_(values), column),
                   [Stream(column, Party.id, [column == v], const=v) for v in values])  # fmt: skip


def search_matchers(session: Session, kinds: list[Any], text: str, region: str) -> list[Matcher]:
    """Every way ``text`` may match (as :func:`search_sources`), each as streams in key order."""
    text = text.strip()[:QUERY_MAX]
    found: list[Matcher] = []
    shape = query_shape(text)
    if shape == "email":
        wanted = points.normalise_email(text)
        if wanted:
            found.append(_point_matcher("email", wanted))
            found.append(_equal_matcher(session, Party.primary_email, [wanted, text]))
    elif shape == "phone":
        for prefix in phone_prefixes(text, region):
            found.append(_point_matcher("phone", prefix))
    else:
        for column in (Party.name_key, Party.alt_key, Party.city_key):
            match = prefix_filter(column, text)
            if match is not None:
                found.append(Matcher(_case(match, column), [Stream(column, Party.id, [match])]))
        customs = [c for c in (custom_fields.search_ids(session, kind, text) for kind in kinds) if c is not None]
        if customs:
            custom = Party.id.in_(union(*customs)) if len(customs) > 1 else Party.id.in_(customs[0])
            found.append(Matcher(_case(custom, Party.name_key), [Stream(Party.name_key, Party.id, [custom])]))
    return found


def owner_ranges(session: Session, viewer: Any) -> list[tuple[ColumnElement[bool], ...]]:
    """A viewer who sees only their own records (and their teams' queues) reads each owner as a stream of
    its own, through the owner-led indexes ((owner_user_id, name_key), (owner_user_id, alt_key), …): a few
    thousand records of theirs in key order, rather than the whole range tested row by row for its owner.
    The visibility clause itself still applies; a row both theirs and their team's comes once (the merge
    skips an id it has listed)."""
    if getattr(viewer, "visibility", "all") != "own" or not getattr(viewer, "is_authenticated", False):
        return [()]
    queues = [t for t in sorted(viewer.team_ids)
              if session.scalar(select(Party.id).where(Party.owner_team_id == t).limit(1))]  # fmt: skip
    return [(Party.owner_user_id == viewer.id,)] + [(Party.owner_team_id == t,) for t in queues]


def _stream_after(stream: Stream, cursor: tuple[str, int], descending: bool) -> ColumnElement[bool] | bool:
    """Rows of ``stream`` past ``cursor`` in (key, id) order, written so the index range starts at the
    cursor; for a constant key, True (all of them) or False (none: the key is passed)."""
    value, row_id = cursor
    if stream.const is not None:
        if stream.const == value:
            return stream.tie < row_id if descending else stream.tie > row_id
        return bool(stream.const < value) if descending else bool(stream.const > value)
    if descending:
        return and_(stream.key <= value, or_(stream.key < value, stream.tie < row_id))
    return and_(stream.key >= value, or_(stream.key > value, stream.tie > row_id))


class _Reader:
    """One stream of one kind list, read in batches as the merge consumes it."""

    def __init__(self, session: Session, stmt: Select[Any], stream: Stream, index: int, batch: int,
                 descending: bool) -> None:  # fmt: skip
        self.session, self.stmt, self.stream, self.index = session, stmt, stream, index
        self.batch, self.descending = batch, descending
        self.rows: list[Row[Any]] = []
        self.done = False

    def fetch(self, cursor: tuple[str, int] | None) -> None:
        stmt = self.stmt
        if cursor is not None:
            after = _stream_after(self.stream, cursor, self.descending)
            if after is False:
                self.rows, self.done = [], True
                return
            if after is not True:
                stmt = stmt.where(after)
        key = self.stream.key if self.stream.const is None else None
        order = [k for k in (key, self.stream.tie) if k is not None]
        stmt = stmt.order_by(*(o.desc() for o in order) if self.descending else order).limit(self.batch)
        self.rows = list(self.session.execute(stmt))
        self.done = len(self.rows) < self.batch
        self.batch = min(self.batch * 4, 2000)


def search_page(
    session: Session,
    kinds: list[Any],
    viewer: Any,
    params: ListParams,
    region: str,
    limit: int,
    cursor: tuple[Any, int] | None,
    *,
    where: Any = (),
) -> tuple[list[Row[Any]], bool]:
    """A page of the search in match order: rows by (key that matched, id), a row found by several
    matchers at its smallest key, exactly once across pages. Each stream reads its own index range after
    the cursor (``LIMIT`` a page and one), under visibility and the filters, and the streams are merged
    here; so a common prefix ("olek", a big city) costs a page of rows, not all of its matches."""
    matchers = search_matchers(session, kinds, params.q, region)
    if not matchers:
        return [], False
    row_keys = [m.row_key.label(f"mk{j}") for j, m in enumerate(matchers)]
    descending = params.descending
    owners = owner_ranges(session, viewer)
    scoped = {k.name: [Party.kind == k.name, k.visible_to(viewer), *filter_clauses(session, [k], params, viewer),
                       *where] for k in kinds}  # fmt: skip
    readers: list[_Reader] = []
    for j, matcher in enumerate(matchers):
        for stream in matcher.streams:
            for kind in kinds:  # a kind's visibility names its model: one kind a query
                stmt = select(*COLUMNS, *row_keys, stream.key.label("match_key"))
                if stream.join is not None:
                    stmt = stmt.select_from(stream.join[0]).join(Party, stream.join[1])
                stmt = stmt.where(*scoped[kind.name], *stream.where)
                for owner in owners:
                    readers.append(_Reader(session, stmt.where(*owner), stream, j, limit + 1, descending))
    heap: list[tuple[Any, ...]] = []

    def push(r: int, after: tuple[str, int] | None) -> None:
        reader = readers[r]
        reader.fetch(after)
        for pos, row in enumerate(reader.rows):
            order = (row.match_key, row.id)
            heap.append(((_Desc(order) if descending else order), r, pos))
        heapq.heapify(heap)

    for r in range(len(readers)):
        push(r, cursor)
    found: list[Row[Any]] = []
    seen: set[int] = set()
    while heap and len(found) <= limit:
        _order, r, pos = heapq.heappop(heap)
        reader = readers[r]
        row = reader.rows[pos]
        keys = [(getattr(row, f"mk{j}"), j) for j in range(len(matchers)) if getattr(row, f"mk{j}") is not None]
        # a row found again by a matcher that is not its smallest key is listed there, not here
        if row.id not in seen and (not keys or min(keys) == (row.match_key, reader.index)):
            seen.add(row.id)
            found.append(row)
        if pos == len(reader.rows) - 1 and not reader.done and len(found) <= limit:
            push(r, (row.match_key, row.id))
    return found[:limit], len(found) > limit


class _Desc:
    """A heap entry ordered backwards (the merge of descending streams)."""

    __slots__ = ("value",)

    def __init__(self, value: tuple[Any, ...]) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value
