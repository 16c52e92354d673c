"""The "My plan" page (/planning/) and the drill-down behind a figure (/planning/records): a person's plans in
a period with pace, projection and what could still close, and the records that make up a figure.

Also the helpers the team page and the panels share: reading ``period``/``user`` from the query (junk is a
400 with a message, someone the viewer may not see is a 404), the period picker, and numbers as people read
them (money with the base currency, counts as integers, percentages in the viewer's locale).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.company import CompanySettings, company_settings
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, user
from voronka.core.i18n import current_language
from voronka.core.i18n import gettext as _
from voronka.core.metrics import MetricRecord
from voronka.core.models import ManagerLink, User
from voronka.core.security.markers import requires
from voronka.core.security.visibility import link_valid_on, manager_of
from voronka.core.templating import format_money, render
from voronka.core.types import currency_exponent

from . import catalogue, charts, periods, progress
from .catalogue import MetricInfo
from .figures import STATUSES, Figures, Span, status_label
from .kinds import MANAGE, VIEW
from .models import PERIOD_KINDS, QUARTER, Plan
from .periods import Period

WHICH = ("actual", "in_progress")
UPCOMING_LIMIT = 10
RECORDS_LIMIT = 200
MAX_ID = 2**63 - 1


# --- reading the query -------------------------------------------------------------------------------------


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def query_id(request: Request, name: str) -> int | None:
    """A record id from the query (``?user=12``), None when absent; anything else is a 400."""
    text = (request.query_params.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise bad_request(_("“%(name)s” must be a person's number, not “%(text)s”.") % {"name": name,
                                                                                        "text": text[:40]})  # fmt: skip
    return int(text)


def default_kind(request: Request, session: Session) -> str:
    """The ``default_period`` setting: which kind of period the pages open on."""
    try:
        kind = request.app.state.voronka.settings_store.get(session, "planning", "default_period")
    except KeyError:
        kind = QUARTER
    return kind if kind in PERIOD_KINDS else QUARTER


def query_period(request: Request, session: Session, settings: CompanySettings) -> Period:
    try:
        return periods.parse(settings, request.query_params.get("period"), default_kind(request, session))
    except ValidationError as error:
        raise bad_request(" ".join(error.errors.values())) from None


def query_metric(request: Request, required: bool = True) -> str | None:
    key = (request.query_params.get("metric") or "").strip()
    if not key:
        if required:
            raise bad_request(_("Say which metric to show (“metric=pipeline.revenue_won”)."))
        return None
    if len(key) > 80 or "." not in key or not all(c.isalnum() or c in "._-" for c in key):
        raise bad_request(_("“%(key)s” is not a metric's name.") % {"key": key[:40]})
    return key


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    is_viewer: bool


def query_person(request: Request, session: Session, name: str, period: Period) -> Person:
    """The person ``?<name>=`` names (default the viewer). Someone the viewer may not see in ``period`` is a
    404, the same as someone who does not exist, so the page does not tell which people exist."""
    viewer = user(request)
    person_id = query_id(request, name)
    if person_id is None or person_id == viewer.id:
        return Person(viewer.id, viewer.display_name or viewer.username, True)
    found = session.execute(select(User.display_name, User.username).where(User.id == person_id)).first()
    if found is None or not progress.may_view(session, viewer, person_id, period):
        raise HTTPException(404)
    return Person(person_id, found.display_name or found.username, False)


# --- numbers as people read them ----------------------------------------------------------------------------


class Numbers:
    """Figures in the metric's unit as text: money in the base currency (whole units unless ``exact``), counts
    as whole numbers, percentages, all in the viewer's locale. A team tree prints a thousand of them, so whole
    numbers go through a shape read once per locale off Babel's own output (:func:`_shape`)."""

    def __init__(self, base: str):
        self.base = base
        self.locale = current_language.get()
        self.exponent = currency_exponent(base)
        self.shapes = {kind: _shape(kind, self.locale, base) for kind in ("money", "count", "percent")}

    def value(self, value: float | None, unit: str, *, exact: bool = False) -> str:
        if value is None:
            return "—"
        minor = round(value)
        if unit == "money":
            shape = self.shapes["money"]
            if exact or shape is None or minor < 0:
                return format_money(minor, self.base, whole=not exact)
            units, rest = divmod(minor, 10**self.exponent)
            half = 10**self.exponent  # rounds half to even, as format_money does
            units += 1 if rest * 2 > half or (rest * 2 == half and units % 2) else 0
            return _apply(shape, units)
        shape = self.shapes["count"]
        if shape is None or minor < 0:
            return format_decimal(minor, format="#,##0", locale=self.locale)
        return _apply(shape, minor)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        shape, whole = self.shapes["percent"], round(value)
        if shape is None or whole < 0:
            return format_percent(value / 100, format="#,##0%", locale=self.locale)
        return _apply(shape, whole)

    def signed(self, value: float, unit: str) -> str:
        text = self.value(abs(value), unit)
        return ("+" if value > 0 else "−") + text if value else text


def here_text(partial: bool, spans: Sequence[Span]) -> str:
    """The days, "here 1 Jan – 14 Feb", of someone who reported to this manager only part of the period, else ""."""
    if not partial or not spans:
        return ""
    locale = current_language.get()
    days = ", ".join(f"{format_date(s.start, 'd MMM', locale=locale)} – "
                     f"{format_date(s.end - dt.timedelta(days=1), 'd MMM', locale=locale)}" for s in spans)  # fmt: skip
    return _("here %(days)s") % {"days": days}


Shape = tuple[str, str, str]
"""(prefix, group separator, suffix) around a whole number."""


def _render(kind: str, language: str, base: str, number: int) -> str:
    if kind == "money":
        return format_money(number * 10 ** currency_exponent(base), base, whole=True)
    if kind == "percent":
        return format_percent(number / 100, format="#,##0%", locale=language)
    return format_decimal(number, format="#,##0", locale=language)


def _apply(shape: Shape, number: int) -> str:
    prefix, group, suffix = shape
    digits = str(number)
    head = len(digits) % 3 or 3
    return prefix + group.join([digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))]) + suffix


@functools.lru_cache(maxsize=128)
def _shape(kind: str, language: str, base: str) -> Shape | None:
    """How ``language`` writes a whole ``kind`` number, read off Babel's output for a probe; None (Babel it is)
    when the shape does not reproduce Babel exactly for a few checks (another grouping, other digits)."""
    probe = _render(kind, language, base, 1234567)
    start, end = probe.find("1"), probe.find("567")
    middle = probe.find("234", start)
    if min(start, end, middle) < 0:
        return None
    shape = (probe[:start], probe[start + 1 : middle], probe[end + 3 :])
    for check in (0, 7, 42, 999, 1000, 65432, 123456789):
        if _apply(shape, check) != _render(kind, language, base, check):
            return None
    return shape


# --- the period picker --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodNav:
    period: Period
    label: str
    start: dt.date
    last: dt.date
    previous_url: str
    next_url: str
    current_url: str | None
    """None when the period shown is the current one."""
    kinds: list[tuple[str, str, bool]]
    """(label, url, active) per kind of period."""


def period_nav(settings: CompanySettings, period: Period, today: dt.date, url: Callable[[Period], str]) -> PeriodNav:
    here = today if period.contains(today) else period.start
    kinds = [(periods.kind_label(kind).capitalize(), url(periods.containing(settings, kind, here)), kind == period.kind)
             for kind in PERIOD_KINDS]  # fmt: skip
    now = periods.containing(settings, period.kind, today)
    return PeriodNav(period, period.label(settings), period.start, period.last, url(periods.shift(period, -1)),
                     url(periods.shift(period, 1)), None if now == period else url(now), kinds)  # fmt: skip


def link(path: str, **params: Any) -> str:
    shown = {k: v for k, v in params.items() if v not in (None, "")}
    return path + ("?" + urlencode(shown, safe=":") if shown else "")


# --- one plan as the page shows it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordLine:
    title: str
    url: str
    value: str
    day: dt.date | None


@dataclass(frozen=True)
class PlanLine:
    """A plan's figures as text, with its bar, its drill-down links and what could still close."""

    metric: MetricInfo
    figures: Figures
    status: str
    status_label: str
    target: str
    stretch: str
    actual: str
    in_progress: str
    projection: str
    should_be: str
    percent: str
    projected_percent: str
    pace: str
    bar: Markup
    actual_url: str
    progress_url: str
    upcoming: list[RecordLine]


def record_lines(rows: list[MetricRecord], unit: str, numbers: Numbers, settings: CompanySettings) -> list[RecordLine]:
    return [RecordLine(r.title, r.url, numbers.value(r.value, unit, exact=True),
                       settings.local_date(r.at) if r.at is not None else None) for r in rows]  # fmt: skip


def plan_line(metric: MetricInfo, figures: Figures, numbers: Numbers, records_url: Callable[[str], str],
              upcoming: list[RecordLine] | None = None) -> PlanLine:  # fmt: skip
    """A plan as text. A metric whose plugin is off keeps its target; every other figure is a dash."""
    unit, live = metric.unit, metric.available

    def value(figure: float | None) -> str:
        return numbers.value(figure, unit) if live else "—"

    def percent(figure: float | None) -> str:
        return numbers.percent(figure) if live else "—"

    pace = numbers.percent(figures.pace_percent)
    label = _("%(metric)s: %(percent)s of the target; by today it should be %(pace)s") % {
        "metric": metric.label,
        "percent": percent(figures.percent),
        "pace": pace,
    }
    bar = charts.progress_bar(figures.percent if live else None, figures.projected_percent if live else None,
                              figures.pace_percent if live else 0.0, figures.status, label)  # fmt: skip
    return PlanLine(
        metric=metric, figures=figures, status=figures.status if figures.status in STATUSES else "no_target",
        status_label=status_label(figures.status), target=numbers.value(figures.target, unit),
        stretch=numbers.value(figures.stretch, unit), actual=value(figures.actual),
        in_progress=value(figures.in_progress), projection=value(figures.projection),
        should_be=value(figures.should_be), percent=percent(figures.percent),
        projected_percent=percent(figures.projected_percent), pace=pace, bar=bar,
        actual_url=records_url("actual"), progress_url=records_url("in_progress"), upcoming=upcoming or [],
    )  # fmt: skip


def by_availability(found: list[progress.PlanProgress]) -> list[progress.PlanProgress]:
    """Plans with figures first, in the engine's order; a switched-off metric's plan after them."""
    return sorted(found, key=lambda item: not item.metric.available)


# --- My plan ----------------------------------------------------------------------------------------------------


def _other_periods(session: Session, settings: CompanySettings, person_id: int, shown: Period) -> list[Period]:
    """The periods in which the person has plans (newest first), for the empty state."""
    rows = session.execute(
        select(Plan.period_kind, Plan.period_start, Plan.period_end).where(Plan.owner_user_id == person_id)
        .group_by(Plan.period_kind, Plan.period_start, Plan.period_end).order_by(Plan.period_start.desc()).limit(12)
    ).all()  # fmt: skip
    return [Period(r.period_start, r.period_end, r.period_kind) for r in rows
            if (r.period_start, r.period_kind) != (shown.start, shown.kind)]  # fmt: skip


def _manager_name(session: Session, person_id: int, today: dt.date) -> str | None:
    manager_id = manager_of(session, person_id, today)
    if manager_id is None:
        return None
    row = session.execute(select(User.display_name, User.username).where(User.id == manager_id)).first()
    return (row.display_name or row.username) if row else None


def reports_today(session: Session, person_id: int, today: dt.date) -> int:
    """How many people report to ``person_id`` today (one indexed count)."""
    query = select(func.count()).select_from(ManagerLink).where(ManagerLink.manager_id == person_id,
                                                                link_valid_on(today))  # fmt: skip
    return session.scalar(query) or 0


def my_plan_context(request: Request) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    host = request.app.state.voronka.host
    settings = company_settings(session)
    today = settings.today()
    period = query_period(request, session, settings)
    person = query_person(request, session, "user", period)
    numbers = Numbers(settings.base_currency)
    shown_user = None if person.is_viewer else person.id
    lines = []
    for found in by_availability(progress.my_plan(session, host, viewer, person.id, period, today=today)):
        metric = found.metric

        def records_url(which: str, key: str = metric.key) -> str:
            return link("/planning/records", user=shown_user, metric=key, period=period.key, which=which)

        upcoming: list[RecordLine] = []
        if metric.available and period.end > today and found.figures.in_progress:
            rows = progress.records(session, host, viewer, person.id, metric.key, period, "in_progress", UPCOMING_LIMIT)
            upcoming = record_lines(rows, metric.unit, numbers, settings)
        lines.append(plan_line(metric, found.figures, numbers, records_url, upcoming))
    context: dict[str, Any] = {
        "person": person,
        "period": period,
        "manages": reports_today(session, person.id, today),
        "picker": period_nav(settings, period, today, lambda p: link("/planning/", user=shown_user, period=p.key)),
        "lines": lines,
        "past": period.end <= today,
        "future": period.start > today,
        "settings": settings,
        "can_manage": viewer.can(MANAGE),
        "team_url": link("/planning/team", root=shown_user, period=period.key),
        "extra_css": ["planning.css"],
    }
    if not lines:
        context["other_periods"] = [(p, p.label(settings), link("/planning/", user=shown_user, period=p.key))
                                    for p in _other_periods(session, settings, person.id, period)]  # fmt: skip
        context["manager_name"] = _manager_name(session, person.id, today)
    return context


@requires(VIEW)
async def my_plan_page(request: Request) -> Response:
    return render(request, "planning/my_plan.html", my_plan_context(request), block="plan")


# --- the drill-down -------------------------------------------------------------------------------------------


def records_context(request: Request) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    host = request.app.state.voronka.host
    settings = company_settings(session)
    today = settings.today()
    period = query_period(request, session, settings)
    key = query_metric(request)
    which = request.query_params.get("which") or "actual"
    if which not in WHICH:
        raise bad_request(_("Show “actual” or “in_progress” records, not “%(which)s”.") % {"which": which[:40]})
    person = query_person(request, session, "user", period)
    metric = catalogue.describe(host, key, session)
    numbers = Numbers(settings.base_currency)
    shown_user = None if person.is_viewer else person.id
    rows: list[RecordLine] = []
    total = 0.0
    reports: list[dict[str, Any]] = []
    if metric.available:
        found = progress.records(session, host, viewer, person.id, key, period, which, RECORDS_LIMIT)
        rows = record_lines(found, metric.unit, numbers, settings)
        total = sum(r.value for r in found)
        tree = progress.team_view(session, host, viewer, person.id, key, period, today=today)
        for child in tree.root.children:
            figure = child.figures.actual if which == "actual" else child.figures.in_progress
            reports.append({
                "name": child.name, "value": numbers.value(figure, metric.unit),
                "target": numbers.value(child.figures.target, metric.unit),
                "percent": numbers.percent(child.figures.percent), "here": here_text(child.partial, child.spans),
                "url": link("/planning/records", user=child.user_id, metric=key, period=period.key, which=which),
            })  # fmt: skip
    return {
        "person": person,
        "period": period,
        "metric": metric,
        "which": which,
        "rows": rows,
        "limited": len(rows) >= RECORDS_LIMIT,
        "total": numbers.value(total, metric.unit, exact=True),
        "reports": reports,
        "picker": period_nav(settings, period, today,
                          lambda p: link("/planning/records", user=shown_user, metric=key, period=p.key, which=which)),
        "which_urls": {w: link("/planning/records", user=shown_user, metric=key, period=period.key, which=w)
                       for w in WHICH},
        "plan_url": link("/planning/", user=shown_user, period=period.key),
        "extra_css": ["planning.css"],
    }  # fmt: skip


@requires(VIEW)
async def records_page(request: Request) -> Response:
    return render(request, "planning/records_page.html", records_context(request), block="records")


routes: list[Any] = [
    Route("/", my_plan_page, methods=["GET"], name="planning_my_plan"),
    Route("/records", records_page, methods=["GET"], name="planning_records"),
]
