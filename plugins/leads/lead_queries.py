"""The lead list's filters and queries: whose leads (mine, a team queue, everyone under me, all I may see),
status, channel, campaign, created period and a search box; sorting and keyset pages.

A filter is read from the query string by :func:`parse`, which never fails: a junk value falls back to the
default and is reported in ``problems``, so every filtered view is a link that can be shared.
:meth:`LeadFilter.clauses` always includes the viewer's visibility (``visible`` on the lead), so the list,
its export, bulk actions and search agree. Pages are keyset pages on ``(sort key, id)`` (the indexes
``(owner…, status, created_at)``, ``(status, created_at)``, ``(name_key, id)``, ``(company_key, id)``): a
later page costs what the first does. The search box looks at the query's shape as contacts' list does: an
e-mail (has @) by ``email_key`` prefix, a phone number by ``phone_key`` prefix, else a name or company by
their search keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select, union
from sqlalchemy.orm import Session

from voronka.core.company import company_settings
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.models import ManagerLink, Team
from voronka.core.search_keys import prefix_bounds, prefix_filter
from voronka.core.security.visibility import link_valid_on, visible
from voronka.plugins.contacts.api import normalise_email, phone_region

from .models import CONTACTED, DISQUALIFIED, NEW, OPEN_STATUSES, QUALIFIED, Lead

QUERY_MAX = 100
STATUSES = {
    "open": N_("Open"),
    NEW: N_("New"),
    CONTACTED: N_("Contacted"),
    QUALIFIED: N_("Qualified"),
    DISQUALIFIED: N_("Disqualified"),
    "all": N_("All"),
}
STATUS_LABELS = {NEW: N_("New"), CONTACTED: N_("Contacted"), QUALIFIED: N_("Qualified"),
                 DISQUALIFIED: N_("Disqualified")}  # fmt: skip
REASON_LABELS = {
    "lost": N_("Lost"),
    "cannot_contact": N_("Cannot contact"),
    "not_interested": N_("No longer interested"),
    "canceled": N_("Canceled"),
}
PERIODS = {
    "": N_("Any time"),
    "today": N_("Today"),
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "this_month": N_("This month"),
    "custom": N_("Between dates"),
}
SORTS = {"created": N_("Created"), "name": N_("Name"), "company": N_("Company")}
DEFAULT_SORT = "-created"
MATCH = "match"
"""A search's default order: by the key that matched (name, company, e-mail or phone), each an index range
read in order, so a common prefix ("olen") costs a page of rows, not every match sorted."""
STATUS_ORDER = (NEW, CONTACTED, QUALIFIED, DISQUALIFIED)


@dataclass(frozen=True)
class LeadFilter:
    view: str = "mine"
    """``mine``, ``under``, ``all`` or a team queue ``t:<id>``."""
    status: str = "open"
    channel: str = ""
    campaign_id: int | None = None
    period: str = ""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    query: str = ""
    sort: str = DEFAULT_SORT
    problems: tuple[str, ...] = field(default=(), compare=False)
    raw_from: str = ""
    raw_to: str = ""

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def team_id(self) -> int | None:
        return int(self.view[2:]) if self.view.startswith("t:") else None

    def clauses(
        self, session: Session, viewer: Any, *, status: bool = True, search: bool = True
    ) -> list[ColumnElement[bool]]:
        """WHERE clauses on :class:`Lead`: live, visible to ``viewer``, and as filtered (without the status
        or the search box when the page reads them as streams of their own)."""
        found: list[ColumnElement[bool]] = [Lead.deleted_at.is_(None), visible(Lead, viewer)]
        if self.view == "mine":
            found.append(Lead.owner_user_id == viewer.id)
        elif self.view == "under":
            found.append(Lead.owner_user_id.in_(_under(viewer.id, dt.date.today())))
        elif self.team_id is not None:
            found += [Lead.owner_team_id == self.team_id, Lead.owner_user_id.is_(None)]
        if status and self.status == "open":
            found.append(Lead.status.in_(OPEN_STATUSES))
        elif status and self.status != "all":
            found.append(Lead.status == self.status)
        if self.channel:
            found.append(Lead.channel == self.channel)
        if self.campaign_id is not None:
            found.append(Lead.campaign_id == self.campaign_id)
        if self.start is not None:
            found.append(Lead.created_at >= self.start)
        if self.end is not None:
            found.append(Lead.created_at < self.end)
        if search and self.query:
            found.append(search_clause(session, self.query))
        return found

    @property
    def statuses(self) -> tuple[str, ...]:
        if self.status == "open":
            return OPEN_STATUSES
        return STATUS_ORDER if self.status == "all" else (self.status,)

    def params(self, **changes: Any) -> dict[str, str]:
        """The query-string values of this filter (with ``changes``), defaults left out."""
        picked = replace(self, **changes) if changes else self
        values = {"view": picked.view, "status": picked.status, "channel": picked.channel,
                  "campaign": str(picked.campaign_id or ""), "period": picked.period, "q": picked.query,
                  "sort": picked.sort}  # fmt: skip
        if picked.period == "custom":
            values["from"], values["to"] = picked.raw_from, picked.raw_to
        defaults = {"view": "mine", "status": "open", "sort": MATCH if picked.query else DEFAULT_SORT}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))

    @property
    def filtered(self) -> bool:
        return bool(self.channel or self.campaign_id or self.period or self.query or self.status != "open")


@functools.lru_cache(maxsize=1024)
def _under(manager_id: int, on: dt.date) -> Select[Any]:
    """Ids of the manager and everyone under them on ``on``, in a CTE of its own name (a manager's
    visibility filter already holds core's ``under_tree``; one statement cannot hold two of one name)."""
    base = select(ManagerLink.user_id.label("user_id")).where(ManagerLink.manager_id == manager_id,
                                                              link_valid_on(on))  # fmt: skip
    tree = base.cte("lead_under_tree", recursive=True)
    step = select(ManagerLink.user_id).join(tree, ManagerLink.manager_id == tree.c.user_id).where(link_valid_on(on))
    tree = tree.union(step)
    return select(union(select(tree.c.user_id), select(literal(manager_id))).subquery().c[0])


def query_shape(text: str) -> str:
    if "@" in text:
        return "email"
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 3 and all(ch.isdigit() or ch in " +()-./" for ch in text):
        return "phone"
    return "text"


def phone_prefixes(text: str, region: str) -> list[str]:
    """E.164 prefixes a typed (maybe partial) number may start with: "+380 67", "067 12" (UA), "6712"."""
    digits = "".join(ch for ch in text if ch.isdigit())
    stripped = text.strip()
    codes = {"UA": "380", "PL": "48", "DE": "49", "GB": "44", "US": "1"}
    code = codes.get((region or "UA").upper(), "")
    found: list[str] = []
    if stripped.startswith("+"):
        found.append("+" + digits)
    elif digits.startswith("00"):
        found.append("+" + digits[2:])
    elif code and digits.startswith(code):
        found.append("+" + digits)
    elif digits.startswith("0") and code:
        found.append("+" + code + digits[1:])
    else:
        if code:
            found.append("+" + code + digits)
        found.append("+" + digits)
    return [p for p in dict.fromkeys(found) if len(p) > 3]


def _range(column: Any, prefix: str) -> ColumnElement[bool] | None:
    bounds = prefix_bounds(prefix)
    return and_(column >= bounds[0], column < bounds[1]) if bounds else None


def search_parts(session: Session, text: str) -> list[tuple[Any, ColumnElement[bool]]]:
    """The search box as ``(key column, prefix range)`` pairs, each an indexed range of that column."""
    text = text.strip()[:QUERY_MAX]
    shape = query_shape(text)
    found: list[tuple[Any, ColumnElement[bool] | None]] = []
    if shape == "email":
        found.append((Lead.email_key, _range(Lead.email_key, normalise_email(text))))
    elif shape == "phone":
        found += [(Lead.phone_key, _range(Lead.phone_key, p)) for p in phone_prefixes(text, phone_region(session))]
    else:
        found += [
            (Lead.name_key, prefix_filter(Lead.name_key, text)),
            (Lead.company_key, prefix_filter(Lead.company_key, text)),
        ]
    return [(column, where) for column, where in found if where is not None]


def search_clause(session: Session, text: str) -> ColumnElement[bool]:
    """The search box as one clause, each branch an indexed prefix range (name, company, e-mail, phone)."""
    text = text.strip()[:QUERY_MAX]
    shape = query_shape(text)
    parts: list[ColumnElement[bool]] = []
    if shape == "email":
        found = _range(Lead.email_key, normalise_email(text))
        parts += [found] if found is not None else []
    elif shape == "phone":
        parts += [
            p for p in (_range(Lead.phone_key, x) for x in phone_prefixes(text, phone_region(session))) if p is not None
        ]
    else:
        parts += [
            p for p in (prefix_filter(Lead.name_key, text), prefix_filter(Lead.company_key, text)) if p is not None
        ]
    return or_(*parts) if parts else Lead.id.is_(None)


# -- sorting and keyset pages ---------------------------------------------------------------------------


def sort_column(sort_key: str) -> Any:
    return {"name": Lead.name_key, "company": Lead.company_key}.get(sort_key, Lead.created_at)


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
        if sort_key == "created":
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                return None
        return value, row_id
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def _after(column: Any, cursor: tuple[Any, int], descending: bool) -> ColumnElement[bool]:
    """Rows after the cursor in (column, id) order, written so the index range starts at the cursor."""
    value, row_id = cursor
    if descending:
        return and_(column <= value, or_(column < value, Lead.id < row_id))
    return and_(column >= value, or_(column > value, Lead.id > row_id))


def streams(session: Session, viewer: Any, flt: LeadFilter) -> list[tuple[Any, list[ColumnElement[bool]]]]:
    """The page's queries as ``(key column, WHERE clauses)``, each read in (key, id) order from an index and
    merged: a search in match order is one stream per way it matches (name, company, e-mail, phone prefix);
    a list by date is one stream per status, so "open" (new + contacted) walks the (owner, status,
    created) index twice rather than sorting every open lead; any other order is one stream."""
    if flt.sort == MATCH:
        base = flt.clauses(session, viewer, search=False)
        return [(column, [*base, where]) for column, where in search_parts(session, flt.query)]
    column = sort_column(flt.sort_key)
    if flt.sort_key == "created" and len(flt.statuses) > 1:
        base = flt.clauses(session, viewer, status=False)
        return [(column, [*base, Lead.status == status]) for status in flt.statuses]
    return [(column, flt.clauses(session, viewer))]


def page(
    session: Session, viewer: Any, flt: LeadFilter, columns: Any, cursor: tuple[Any, int] | None, limit: int
) -> tuple[list[Any], bool]:
    """Up to ``limit`` rows after ``cursor`` in the list's order, and whether there are more: each stream
    reads ``limit + 1`` rows from its index, the streams are merged here (a row found twice once)."""
    descending = flt.descending
    found: list[Any] = []
    for column, where in streams(session, viewer, flt):
        query = select(*columns, column.label("sort_value")).where(*where)
        if cursor is not None:
            query = query.where(_after(column, cursor, descending))
        order = (column.desc(), Lead.id.desc()) if descending else (column.asc(), Lead.id.asc())
        found += session.execute(query.order_by(*order).limit(limit + 1)).all()
    found.sort(key=lambda r: (r.sort_value, r.id), reverse=descending)
    seen: set[int] = set()
    unique = [row for row in found if not (row.id in seen or seen.add(row.id))]  # type: ignore[func-returns-value]
    return unique[:limit], len(unique) > limit


def search_rows(session: Session, text: str, columns: Any, where: list[Any], limit: int) -> list[Any]:
    """Up to ``limit`` rows matching the search box in match order (each way it matches read from its own
    index in key order and merged): what the global search and the call screen show."""
    found: list[Any] = []
    for column, match in search_parts(session, text):
        query = select(*columns, column.label("sort_value")).where(*where, match)
        found += session.execute(query.order_by(column, Lead.id).limit(limit)).all()
    found.sort(key=lambda r: (r.sort_value, r.id))
    seen: set[int] = set()
    return [row for row in found if not (row.id in seen or seen.add(row.id))][:limit]  # type: ignore[func-returns-value]


def cursor_of(row: Any) -> str:
    return encode_cursor(row.sort_value, row.id)


# -- reading a filter ------------------------------------------------------------------------------------


def _date(raw: str | None) -> dt.date | None:
    """A date typed in a filter, None when it is not one; years outside 1900–2100 count as not one (the
    day after 9999-12-31 does not exist, and nobody means them)."""
    try:
        day = dt.date.fromisoformat(raw.strip()) if raw and raw.strip() else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 2100 else None


def _period_bounds(session: Session, period: str) -> tuple[dt.date | None, dt.date | None]:
    today = company_settings(session).today()
    if period == "today":
        return today, today + dt.timedelta(days=1)
    if period == "7d":
        return today - dt.timedelta(days=6), None
    if period == "30d":
        return today - dt.timedelta(days=29), None
    if period == "this_month":
        return today.replace(day=1), None
    return None, None


def _instant(session: Session, day: dt.date | None) -> dt.datetime | None:
    """The start of a company-local day as an aware UTC instant."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=company_settings(session).zone).astimezone(dt.UTC)


def user_queues(session: Session, viewer: Any) -> list[tuple[int, str]]:
    """The team queues the viewer is a member of, by name."""
    teams = sorted(getattr(viewer, "team_ids", ()) or ())
    if not teams:
        return []
    return [
        (r[0], r[1]) for r in session.execute(select(Team.id, Team.name).where(Team.id.in_(teams)).order_by(Team.name))
    ]


def parse(session: Session, viewer: Any, params: Mapping[str, str], channel_keys: set[str] | None = None) -> LeadFilter:
    """The filter a query string asks for; a junk value falls back to the default, with a message."""
    problems: list[str] = []
    view = (params.get("view") or "mine").strip()
    if view not in ("mine", "under", "all"):
        team = parse_id(view[2:]) if view.startswith("t:") else None
        if team is None or team not in (getattr(viewer, "team_ids", ()) or ()):
            problems.append(_("That queue is not one of yours; showing your leads."))
            view = "mine"
        else:
            view = f"t:{team}"
    status = (params.get("status") or "open").strip()
    if status not in STATUSES:
        problems.append(_("Unknown status; showing open leads."))
        status = "open"
    channel = (params.get("channel") or "").strip()[:60]
    if channel and channel_keys is not None and channel not in channel_keys and "." not in channel:
        problems.append(_("Unknown channel; showing every channel."))
        channel = ""
    campaign_id = parse_id(params.get("campaign")) if params.get("campaign") else None
    if params.get("campaign") and campaign_id is None:
        problems.append(_("Unknown campaign; showing every campaign."))
    period = (params.get("period") or "").strip()
    raw_from, raw_to = (params.get("from") or "").strip()[:10], (params.get("to") or "").strip()[:10]
    start_day = end_day = None
    if period == "custom":
        start_day, last = _date(raw_from), _date(raw_to)
        if (raw_from and start_day is None) or (raw_to and last is None):
            problems.append(_("Write dates as YYYY-MM-DD."))
        end_day = last + dt.timedelta(days=1) if last else None
        if start_day and end_day and end_day <= start_day:
            problems.append(_("The period ends before it starts; showing any time."))
            start_day = end_day = None
    elif period in PERIODS:
        start_day, end_day = _period_bounds(session, period)
    else:
        problems.append(_("Unknown period; showing any time."))
        period = ""
    query = " ".join((params.get("q") or "").split())[:QUERY_MAX]
    sort = (params.get("sort") or (MATCH if query else DEFAULT_SORT)).strip()
    if sort.lstrip("-") not in SORTS and not (sort == MATCH and query):
        problems.append(_("Unknown sort; newest first."))
        sort = DEFAULT_SORT
    return LeadFilter(view, status, channel, campaign_id, period, _instant(session, start_day),
                      _instant(session, end_day), query, sort, tuple(problems), raw_from, raw_to)  # fmt: skip
