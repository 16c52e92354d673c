"""Setting targets: ``/planning/targets`` (a manager's own target and its split among the people who reported
to them in a period, with a live "adds up to" line) and ``/planning/plans/{id}`` (one plan: edit, its
children, its history, delete).

Every page needs ``planning.manage``. The root of the targets page is the viewer, or someone under them
during the period ("Distribute further"); an administrator may pick any manager and starts at the top of
the hierarchy. Saving a distribution is one transaction through :mod:`.plans`; bad input comes back next to
its field (400), a form opened before someone else saved comes back with the user's input and a message
(409), junk in the URL is a 400 and a plan the viewer may not see a 404.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.audit import history as audit_history
from voronka.core.company import CompanySettings, company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_version
from voronka.core.imports_targets import parse_decimal
from voronka.core.models import User
from voronka.core.security.markers import requires
from voronka.core.templating import format_money, is_htmx, render
from voronka.core.types import Money, currency_exponent

from . import catalogue, periods, plans, rules
from .catalogue import MetricInfo
from .kinds import MANAGE
from .models import BY_HAND, BY_SHARE, EVENLY, METHODS, PERIOD_KINDS, QUARTER, Plan
from .periods import Period

NOTE_MAX = 2000
HISTORY_LIMIT = 200
TEXT_MAX = 40
"""Longer than this is not a number anyone typed."""
CSS = ["targets.css"]


def _go(request: Request, url: str, target: str) -> Response:
    """After a save: a plain form is redirected (303); HTMX loads ``url`` into ``target`` and records it in
    the browser's history (core's ``go_to`` would load the page's block into the whole body)."""
    if is_htmx(request):
        spec = {"path": url, "target": target, "swap": "outerHTML"}
        return Response(status_code=204, headers={"HX-Location": json.dumps(spec)})
    return go_to(request, url)


def method_labels() -> dict[str, str]:
    return {EVENLY: _("Evenly"), BY_SHARE: _("By last period's share"), BY_HAND: _("By hand")}


# -- numbers as people type and read them ----------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """How a metric's figures are typed and shown: money in major units of the base currency, or a count."""

    money: bool
    currency: str

    def text(self, value: int | None) -> str:
        """A stored figure as an input shows it ("125000.50"; counts as integers), so it parses back."""
        if value is None:
            return ""
        if not self.money:
            return str(value)
        exp = currency_exponent(self.currency)
        return f"{Decimal(value).scaleb(-exp):.{exp}f}"

    def show(self, value: int | float | None) -> str:
        """A figure as people read it: money with the currency, counts with grouping."""
        if value is None:
            return "—"
        if self.money:
            return format_money(round(value), self.currency)
        return f"{round(value):,}".replace(",", "\u00a0")

    def parse(self, raw: str | None, *, required: bool = True) -> int | None:
        """A typed figure in the stored unit (minor units for money); :class:`ValidationError` (key "")
        with a message for anything that is not one."""
        text = (raw or "").strip()
        if not text:
            if required:
                raise ValidationError(_("Enter a number (zero if none)."))
            return None
        example = "125000.50" if self.money else "12"
        if len(text) > TEXT_MAX:
            raise ValidationError(_("“%(text)s…” is not a number such as %(example)s.")
                                  % {"text": text[:20], "example": example})  # fmt: skip
        if _too_many_digits(text):  # before any int(): "1e99999999" would take hours
            raise ValidationError(_("The number is too large; check the number of digits."))
        try:
            if self.money:
                value = Money.parse(text, self.currency).minor
            else:
                number = parse_decimal(text)
                if number != number.to_integral_value():
                    raise ValidationError(_("Enter a whole number such as 12."))
                value = int(number)
        except (ValueError, ArithmeticError):
            raise ValidationError(
                _("“%(text)s” is not an amount such as %(example)s (at most %(n)s decimal places).")
                % {"text": text, "example": example, "n": currency_exponent(self.currency)}
            ) from None
        except ValidationError:
            raise ValidationError(_("“%(text)s” is not a number such as %(example)s.")
                                  % {"text": text, "example": example}) from None  # fmt: skip
        if value < 0:
            raise ValidationError(_("A target cannot be negative; enter zero or more."))
        if value > rules.MAX_TARGET:
            raise ValidationError(_("The number is too large; check the number of digits."))
        return value


def _too_many_digits(text: str) -> bool:
    try:
        number = Decimal(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except ArithmeticError:
        return False  # not a number at all: the parse below says so
    return number.is_finite() and bool(number) and number.adjusted() > len(str(rules.MAX_TARGET))


def unit_of(session: Session, info: MetricInfo) -> Unit:
    return Unit(info.is_money, company_settings(session).base_currency)


# -- reading the URL -------------------------------------------------------------------------------------------


def _bad(message: str) -> HTTPException:
    return HTTPException(400, message)


def _default_kind(request: Request, session: Session) -> str:
    try:
        kind = runtime(request).settings_store.get(session, "planning", "default_period")
    except (KeyError, LookupError):
        kind = QUARTER
    return kind if kind in PERIOD_KINDS else QUARTER


def _period(request: Request, raw: str | None, settings: CompanySettings) -> Period:
    try:
        return periods.parse(settings, raw, _default_kind(request, db(request)))
    except ValidationError as exc:
        raise _bad(str(exc.errors.get("period", exc))) from None


def _metric(request: Request, raw: str | None, root_id: int, period: Period) -> MetricInfo:
    """The metric asked for; by default the first one the root has a plan for, else the first money one."""
    available = catalogue.available(runtime(request).host)
    if not available:
        raise _bad(_("No enabled plugin offers a metric to plan; an administrator can switch one on."))
    key = (raw or "").strip()
    if not key:
        planned = set(
            db(request).scalars(
                select(Plan.metric_key).where(
                    Plan.owner_user_id == root_id, Plan.period_start == period.start, Plan.period_end == period.end
                )
            )
        )
        return next((i for i in available if i.key in planned), None) or next(
            (i for i in available if i.is_money), available[0])  # fmt: skip
    for info in available:
        if info.key == key:
            return info
    raise _bad(_("“%(key)s” is not a metric you can plan now; choose one from the list.") % {"key": key[:80]})


def _is_admin(viewer: Any) -> bool:
    """An administrator (``core.admin``) plans for anyone; seeing everything is a visibility scope, not a right."""
    return bool(getattr(viewer, "is_admin", False))


def _sees(session: Session, viewer: Any, owner_id: int, period: Period) -> bool:
    """Whether a manager sees ``owner_id``'s plans on these pages: their own, and of those under them during
    the period; an administrator everyone's."""
    if _is_admin(viewer) or owner_id == viewer.id:
        return True
    return owner_id in rules.under_during(session, viewer.id, period.start, period.end)


def _default_root(session: Session, viewer: Any, period: Period) -> int:
    """Where the targets page starts: the viewer, or for an administrator the top of the hierarchy."""
    return (plans.top_of_tree(session, period) if _is_admin(viewer) else None) or viewer.id


def _root(request: Request, raw: str | None, period: Period) -> tuple[int, str]:
    session, viewer = db(request), user(request)
    text = (raw or "").strip()
    if not text:
        root_id = _default_root(session, viewer, period)
    else:
        root_id = parse_id(text)
        if root_id is None:
            raise _bad(_("“%(text)s” is not a person's number.") % {"text": text[:40]})
    name = session.scalar(select(User.display_name).where(User.id == root_id))
    if name is None or not _sees(session, viewer, root_id, period):
        raise HTTPException(404, _("There is no such person under you in this period."))
    return root_id, name


# -- the targets page --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One direct report on the targets page."""

    report: plans.Report
    plan: Plan | None
    leads: bool = False
    """Someone reported to them during the period: their part can be distributed further."""

    @property
    def key(self) -> str:
        return f"amount_{self.report.user_id}"


@dataclass
class Screen:
    """Everything the targets page shows for one root, metric and period."""

    period: Period
    info: MetricInfo
    unit: Unit
    root_id: int
    root_name: str
    root_plan: Plan | None
    rows: list[Row]
    can_set_root: bool
    root_problem: str

    def url(self, **changes: Any) -> str:
        query = {"period": self.period.key, "metric": self.info.key, "root": self.root_id, **changes}
        return "/planning/targets?" + urlencode(query)


def _screen(request: Request, source: Mapping[str, str]) -> Screen:
    session, viewer = db(request), user(request)
    settings = company_settings(session)
    period = _period(request, source.get("period"), settings)
    root_id, root_name = _root(request, source.get("root"), period)
    info = _metric(request, source.get("metric"), root_id, period)
    reports = plans.direct_reports(session, root_id, period)
    leads = {boss for _user, boss, _a, _b in rules.links_during(session, period.start, period.end)}
    owned = {
        p.owner_user_id: p
        for p in session.scalars(select(Plan).where(
            Plan.metric_key == info.key, Plan.period_start == period.start, Plan.period_end == period.end,
            Plan.owner_user_id.in_([root_id, *(r.user_id for r in reports)])))
    }  # fmt: skip
    problem = rules.plan_refusal(session, viewer.id, root_id, period, root_name)
    rows = [Row(r, owned.get(r.user_id), r.user_id in leads) for r in reports]
    return Screen(period, info, unit_of(session, info), root_id, root_name, owned.get(root_id), rows, not problem,
                  problem)  # fmt: skip


def _form_of(screen: Screen) -> dict[str, str]:
    """The distribution form as the stored plans are now."""
    methods = {row.plan.method for row in screen.rows if row.plan is not None}
    form = {
        "root_target": screen.unit.text(screen.root_plan.target if screen.root_plan else None),
        "root_stretch": screen.unit.text(screen.root_plan.stretch if screen.root_plan else None),
        "root_version": str(screen.root_plan.version if screen.root_plan else plans.NO_PLAN),
        "method": methods.pop() if len(methods) == 1 else (BY_HAND if methods else EVENLY),
    }
    for row in screen.rows:
        form[row.key] = screen.unit.text(row.plan.target if row.plan else None)
        form[f"version_{row.report.user_id}"] = str(row.plan.version if row.plan else plans.NO_PLAN)
    return form


@dataclass
class Sum:
    """The "adds up to" line: the children's total against the parent's target."""

    total: int | None
    parent: int | None
    unit: Unit
    problem: str = ""

    @property
    def gap(self) -> int | None:
        return None if self.total is None or self.parent is None else self.parent - self.total

    def text(self) -> str:
        if self.problem:
            return self.problem
        if self.parent is None:
            return _("Set the team's target first; then the team's parts add up to it.")
        values = {"total": self.unit.show(self.total or 0), "target": self.unit.show(self.parent)}
        gap = self.gap or 0
        if gap == 0:
            return _("The team adds up to %(total)s of %(target)s: all of it is distributed.") % values
        values["gap"] = self.unit.show(abs(gap))
        if gap > 0:
            return _("The team adds up to %(total)s of %(target)s — %(gap)s not distributed.") % values
        return _("The team adds up to %(total)s of %(target)s — %(gap)s too much.") % values

    @property
    def state(self) -> str:
        if self.problem:
            return "error"
        if self.parent is None:
            return "info"
        return "ok" if self.gap == 0 else "warn"


def _planned(request: Request, screen: Screen, form: Mapping[str, str]) -> tuple[dict[int, int], Sum, dict[str, str]]:
    """What the form would give each person ({user id: amount}), the sum line and messages by input; nothing
    is written. Even and share are worked out here from the parent's target as typed."""
    errors: dict[str, str] = {}
    unit = screen.unit
    parent: int | None
    try:
        typed = unit.parse(form.get("root_target"), required=False) if screen.can_set_root else None
        parent = typed if screen.can_set_root else (screen.root_plan.target if screen.root_plan else None)
    except ValidationError as exc:
        errors["root_target"] = str(exc.errors.get("", exc))
        parent = screen.root_plan.target if screen.root_plan else None
    method = form.get("method") or EVENLY
    amounts: dict[int, int] = {}
    reports = [row.report for row in screen.rows]
    problem = ""
    if method not in METHODS:
        errors["method"] = _("Choose evenly, by last period's share or by hand.")
    elif method == BY_HAND:
        for row in screen.rows:
            try:
                value = unit.parse(form.get(row.key))
            except ValidationError as exc:
                errors[row.key] = str(exc.errors.get("", exc))
            else:
                assert value is not None
                amounts[row.report.user_id] = value
    elif parent is not None and reports:
        try:
            parts = plans.split(db(request), runtime(request).host, user(request), screen.root_id, screen.info.key,
                                screen.period, method, parent, reports)  # fmt: skip
        except ValidationError as exc:
            problem = str(exc.errors.get("method", exc))
            errors["method"] = problem
        else:
            amounts = {r.user_id: part for r, part in zip(reports, parts, strict=True)}
    total = sum(amounts.values()) if amounts or method == BY_HAND else None
    return amounts, Sum(total, parent, unit, problem), errors


def _targets_context(request: Request, screen: Screen, form: dict[str, str], errors: dict[str, str] | None = None,
                     stale: str = "", notice: str = "", stored: bool = False) -> dict[str, Any]:  # fmt: skip
    session, viewer = db(request), user(request)
    settings = company_settings(session)
    if stored:  # as saved: each person's plan, whatever a split would give today
        amounts = {row.report.user_id: row.plan.target for row in screen.rows if row.plan is not None}
        parent = screen.root_plan.target if screen.root_plan else None
        total, preview_errors = Sum(sum(amounts.values()) if amounts else None, parent, screen.unit), {}
    else:
        amounts, total, preview_errors = _planned(request, screen, form)
    period = screen.period
    return {
        "title": _("Targets"),
        "extra_css": CSS,
        "s": screen,
        "form": form,
        "errors": errors or {},
        "sum": total,
        "computed": amounts,
        "stale": stale,
        "notice": notice,
        "methods": method_labels(),
        "period_label": period.label(settings),
        "kinds": [
            (kind, periods.kind_label(kind), periods.containing(settings, kind, period.start).key)
            for kind in PERIOD_KINDS
        ],
        "previous_url": screen.url(period=periods.previous(period).key),
        "next_url": screen.url(period=periods.shift(period, 1).key),
        "metrics": catalogue.available(runtime(request).host),
        "managers": plans.managers_during(session, period) if _is_admin(viewer) else [],
        "is_admin": _is_admin(viewer),
        "back_url": screen.url(root="") if screen.root_id != _default_root(session, viewer, period) else "",
        "preview_problem": preview_errors.get("method", ""),
        "one_day": dt.timedelta(days=1),
    }


@requires(MANAGE)
async def targets_page(request: Request) -> Response:
    screen = _screen(request, request.query_params)
    notice = _("Targets saved.") if request.query_params.get("saved") == "1" else ""
    if request.query_params.get("deleted") == "1":
        notice = _("The plan was deleted.")
    ctx = _targets_context(request, screen, _form_of(screen), notice=notice, stored=True)
    return render(request, "planning/targets_page.html", ctx, block="main")


@requires(MANAGE)
async def targets_preview(request: Request) -> Response:
    """The live "adds up to" line (and, for an even or share split, each person's part) for the form as typed;
    writes nothing."""
    raw = await form_dict(request)
    screen = _screen(request, raw)
    ctx = _targets_context(request, screen, raw)
    method = raw.get("method") or EVENLY
    ctx["swap_inputs"] = method != BY_HAND or request.headers.get("hx-trigger-name") == "method"
    return render(request, "planning/targets_preview.html", ctx)


@requires(MANAGE)
async def targets_save(request: Request) -> Response:
    raw = await form_dict(request)
    screen = _screen(request, raw)
    errors = _save_distribution(request, screen, raw)
    if not errors:
        return _go(request, screen.url(saved="1"), "#targets-main")
    db(request).rollback()
    stale = errors.pop("__stale__", "")
    screen = _screen(request, raw)
    ctx = _targets_context(request, screen, raw, errors, stale=stale)
    return render(request, "planning/targets_page.html", ctx, block="main", status_code=409 if stale else 400)


def _save_distribution(request: Request, screen: Screen, raw: Mapping[str, str]) -> dict[str, str]:
    """Save the root's target (when the viewer may set it) and the split, in one transaction; {} when saved,
    else messages by input (``__stale__`` for a form someone else's save made stale)."""
    errors: dict[str, str] = {}
    unit = screen.unit
    method = raw.get("method") or ""
    if method not in METHODS:
        errors["method"] = _("Choose evenly, by last period's share or by hand.")
    target = stretch = None
    if screen.can_set_root:
        for key in ("root_target", "root_stretch"):
            try:
                value = unit.parse(raw.get(key), required=key == "root_target")
            except ValidationError as exc:
                errors[key] = str(exc.errors.get("", exc))
            else:
                target, stretch = (value, stretch) if key == "root_target" else (target, value)
    elif screen.root_plan is None:
        errors[""] = screen.root_problem
    amounts: dict[int, Any] = {}
    if method == BY_HAND:
        for row in screen.rows:
            try:
                amounts[row.report.user_id] = unit.parse(raw.get(row.key))
            except ValidationError as exc:
                errors[row.key] = str(exc.errors.get("", exc))
    if errors:
        return errors
    versions = {row.report.user_id: parse_version(raw.get(f"version_{row.report.user_id}")) for row in screen.rows}
    root_version = parse_version(raw.get("root_version"))
    if None in versions.values() or (screen.can_set_root and root_version is None):
        return {"": _("The form is incomplete; reload the page and try again.")}
    actor = user(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            if screen.can_set_root:
                assert target is not None
                kept = screen.root_plan is not None and screen.root_plan.target == target
                root = plans.set_target(
                    session,
                    actor,
                    screen.root_id,
                    screen.info.key,
                    screen.period,
                    target,
                    stretch=stretch,
                    method=screen.root_plan.method if kept else BY_HAND,
                    expected_version=root_version,
                )
            else:
                root = plans.find_plan(session, screen.root_id, screen.info.key, screen.period)
                if root is None:
                    raise ValidationError(screen.root_problem)
            if screen.rows:
                plans.distribute(session, runtime(request).host, actor, root.id, method, amounts, versions)
    except StaleRecord as exc:
        return {"__stale__": str(exc)}
    except ValidationError as exc:
        return _placed(screen, exc.errors)
    return {}


def _placed(screen: Screen, errors: dict[str, str]) -> dict[str, str]:
    """Messages by the input the page shows them at; one about anything else (the period, the person, the
    metric) goes to the message at the top, so nothing is said only to be lost."""
    renames = {"target": "root_target", "stretch": "root_stretch"}
    shown = {"root_target", "root_stretch", "method", *(row.key for row in screen.rows)}
    placed: dict[str, str] = {}
    for key, message in errors.items():
        name = renames.get(str(key), str(key))
        if name in shown:
            placed[name] = str(message)
        else:
            placed[""] = f"{placed['']} {message}".strip() if "" in placed else str(message)
    return placed


# -- one plan -----------------------------------------------------------------------------------------------------


def _plan(request: Request) -> Plan:
    session = db(request)
    plan_id = parse_id(request.path_params.get("plan_id"))
    plan = session.get(Plan, plan_id) if plan_id is not None else None
    if plan is None or plan.owner_user_id is None or not _sees(session, user(request), plan.owner_user_id,
                                                                  plans.period_of(plan)):  # fmt: skip
        raise HTTPException(404, _("There is no such plan, or it is not one of your team's."))
    return plan


def _plan_form(unit: Unit, plan: Plan) -> dict[str, str]:
    return {"target": unit.text(plan.target), "stretch": unit.text(plan.stretch), "note": plan.note,
            "version": str(plan.version)}  # fmt: skip


def _plan_context(request: Request, plan: Plan, form: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    session, viewer = db(request), user(request)
    settings = company_settings(session)
    info = catalogue.describe(runtime(request).host, plan.metric_key, db(request))
    unit = unit_of(session, info)
    period = plans.period_of(plan)
    owner = session.scalar(select(User.display_name).where(User.id == plan.owner_user_id)) or "?"
    reports = plans.direct_reports(session, plan.owner_user_id, period)
    children = {
        p.owner_user_id: p
        for p in session.scalars(select(Plan).where(
            Plan.metric_key == plan.metric_key, Plan.period_start == plan.period_start,
            Plan.period_end == plan.period_end, Plan.owner_user_id.in_([r.user_id for r in reports])))
    } if reports else {}  # fmt: skip
    children_total = sum(p.target for p in children.values()) if children else None
    problem = rules.plan_refusal(session, viewer.id, plan.owner_user_id, period, owner)
    return {
        "title": _("Plan of %(person)s") % {"person": owner},
        "extra_css": CSS,
        "plan": plan,
        "owner": owner,
        "info": info,
        "unit": unit,
        "period_label": period.label(settings),
        "period": period,
        "method_label": method_labels().get(plan.method, plan.method),
        "reports": reports,
        "children": children,
        "sum": Sum(children_total, plan.target, unit) if children_total is not None else None,
        "can_edit": not problem,
        "edit_problem": problem,
        "form": form
        if form is not None
        else {
            "target": unit.text(plan.target),
            "stretch": unit.text(plan.stretch),
            "note": plan.note,
            "version": str(plan.version),
        },
        "errors": errors or {},
        "targets_url": "/planning/targets?"
        + urlencode({"period": period.key, "metric": plan.metric_key, "root": plan.owner_user_id}),
        "distributable": info.available,
        **extra,
    }


@requires(MANAGE)
async def plan_page(request: Request) -> Response:
    plan = _plan(request)
    notice = _("Saved.") if request.query_params.get("saved") == "1" else ""
    return render(request, "planning/plan_page.html", _plan_context(request, plan, notice=notice), block="main")


@requires(MANAGE)
async def plan_save(request: Request) -> Response:
    plan = _plan(request)
    raw = await form_dict(request)
    unit = unit_of(db(request), catalogue.describe(runtime(request).host, plan.metric_key, db(request)))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in ("target", "stretch"):
        try:
            values[key] = unit.parse(raw.get(key), required=key == "target")
        except ValidationError as exc:
            errors[key] = str(exc.errors.get("", exc))
    note = (raw.get("note") or "").replace("\r\n", "\n").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = _("Keep the note under %(n)s characters.") % {"n": NOTE_MAX}
    values["note"] = note
    version = parse_version(raw.get("version"))
    if version is None:
        errors[""] = _("The form is incomplete; reload the page and try again.")
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                plans.save_plan(session, user(request), plan.id, values, expected_version=version)
        except StaleRecord as exc:
            db(request).rollback()
            ctx = _plan_context(request, _plan(request), raw, stale=str(exc))
            return render(request, "planning/plan_page.html", ctx, block="main", status_code=409)
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.errors.items()}
        else:
            return _go(request, f"/planning/plans/{plan.id}?saved=1", "#plan-main")
    db(request).rollback()
    ctx = _plan_context(request, _plan(request), raw, errors)
    return render(request, "planning/plan_page.html", ctx, block="main", status_code=400)


@requires(MANAGE)
async def plan_delete(request: Request) -> Response:
    plan = _plan(request)
    back = "/planning/targets?" + urlencode({"period": plans.period_of(plan).key, "metric": plan.metric_key,
                                             "deleted": "1"})  # fmt: skip
    try:
        with write_transaction(runtime(request).sessions) as session:
            plans.delete_plan(session, user(request), plan.id)
    except ValidationError as exc:
        db(request).rollback()
        ctx = _plan_context(request, _plan(request), problem=" ".join(exc.errors.values()))
        return render(request, "planning/plan_page.html", ctx, block="main", status_code=400)
    return go_to(request, back)


def _history_value(unit: Unit, field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field in ("target", "stretch") and isinstance(value, int):
        return unit.show(value)
    if field == "method":
        return method_labels().get(str(value), str(value))
    return str(value)


@requires(MANAGE)
async def plan_history(request: Request) -> Response:
    """Every change to the plan: when, who, which field, old → new (core's audit log)."""
    plan = _plan(request)
    session = db(request)
    kind = runtime(request).record_kinds["plan"]
    unit = unit_of(session, catalogue.describe(runtime(request).host, plan.metric_key, db(request)))
    labels = {"target": _("Target"), "stretch": _("Stretch target"), "note": _("Note"), "method": _("Set"),
              "metric_key": _("Metric"), "period_kind": _("Period"), "period_start": _("Starts"),
              "period_end": _("Ends"), "owner_user_id": _("Person"), "owner_team_id": _("Team")}  # fmt: skip
    shown = ("target", "stretch", "note", "method")
    rows = [
        (e, labels.get(e.field, e.field), _history_value(unit, e.field, e.old), _history_value(unit, e.field, e.new))
        for e in audit_history(session, kind, plan.id, limit=HISTORY_LIMIT)
        if e.field in shown or e.action != "create"
    ]
    ctx = {**_plan_context(request, plan), "rows": rows, "title": _("History of the plan")}
    return render(request, "planning/plan_history.html", ctx)


routes = [
    Route("/targets", targets_page, methods=["GET"], name="planning.targets"),
    Route("/targets", targets_save, methods=["POST"], name="planning.targets.save"),
    Route("/targets/preview", targets_preview, methods=["POST"], name="planning.targets.preview"),
    Route("/plans/{plan_id}", plan_page, methods=["GET"], name="planning.plan"),
    Route("/plans/{plan_id}", plan_save, methods=["POST"], name="planning.plan.save"),
    Route("/plans/{plan_id}/delete", plan_delete, methods=["POST"], name="planning.plan.delete"),
    Route("/plans/{plan_id}/history", plan_history, methods=["GET"], name="planning.plan.history"),
]
