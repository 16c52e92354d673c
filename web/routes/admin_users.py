"""Admin: users — the directory with filters, creating and editing people, passwords, manager links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime, user
from voronka.core.i18n import LANGUAGES
from voronka.core.i18n import gettext as _
from voronka.core.models import ManagerLink, Role, Team, TeamMember, User, UserRole
from voronka.core.search_keys import search_key
from voronka.core.security.hierarchy import add_manager_link, delete_manager_link, end_manager_link
from voronka.core.security.markers import requires
from voronka.core.security.passwords import hash_password, password_problem
from voronka.core.security.permissions import ADMIN
from voronka.core.security.throttle import clear_login_failures
from voronka.core.security.users import create_user
from voronka.core.security.visibility import link_valid_on
from voronka.core.state import bump
from voronka.core.templating import is_htmx

from .admin_base import (
    check_admins_remain,
    done,
    email_problem,
    get_or_404,
    ids,
    int_param,
    page,
    parse_date,
    read_form,
    text,
    today_for,
)
from .shell import time_zones

PAGE_SIZE = 50
STATUSES = ("all", "active", "inactive")


class RoleChoice(NamedTuple):
    """A role in the forms' checkboxes and the filter, its label in the admin's language."""

    id: int
    key: str
    label: str


@dataclass(frozen=True)
class UserFilters:
    q: str = ""
    status: str = "all"
    role: int | None = None
    team: int | None = None
    manager: int | None = None
    page: int = 1

    @classmethod
    def from_request(cls, request: Request) -> UserFilters:
        params = request.query_params
        status = params.get("status", "all")
        return cls(
            q=params.get("q", "").strip()[:100],
            status=status if status in STATUSES else "all",
            role=int_param(params.get("role")),
            team=int_param(params.get("team")),
            manager=int_param(params.get("manager")),
            page=min(max(int_param(params.get("page")) or 1, 1), 100_000),
        )

    def query(self, **changes: Any) -> str:
        values = {"q": self.q, "status": self.status, "role": self.role, "team": self.team,
                  "manager": self.manager, "page": self.page, **changes}  # fmt: skip
        kept = {k: v for k, v in values.items() if v not in (None, "", "all") and not (k == "page" and v == 1)}
        return urlencode(kept)


def _filter_clauses(filters: UserFilters, today: dt.date) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.q:
        key = search_key(filters.q)
        clauses.append(
            or_(User.name_key.contains(key, autoescape=True), User.username.contains(filters.q, autoescape=True))
        )
    if filters.status != "all":
        clauses.append(User.active.is_(filters.status == "active"))
    if filters.role is not None:
        clauses.append(User.id.in_(select(UserRole.user_id).where(UserRole.role_id == filters.role)))
    if filters.team is not None:
        clauses.append(User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id == filters.team)))
    if filters.manager is not None:
        clauses.append(
            User.id.in_(
                select(ManagerLink.user_id).where(ManagerLink.manager_id == filters.manager, link_valid_on(today))
            )
        )
    return clauses


def _directory(session: Session, filters: UserFilters, today: dt.date) -> dict[str, Any]:
    """One page of users with their roles, teams and today's manager, in four queries whatever the size."""
    clauses = _filter_clauses(filters, today)
    total = session.scalar(select(func.count()).select_from(User).where(*clauses)) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    current = min(filters.page, pages)
    rows = session.execute(
        select(User.id, User.username, User.display_name, User.email, User.active, User.last_login_at)
        .where(*clauses)
        .order_by(User.name_key, User.id)
        .limit(PAGE_SIZE)
        .offset((current - 1) * PAGE_SIZE)
    ).all()
    user_ids = [r.id for r in rows]
    roles: dict[int, list[str]] = {i: [] for i in user_ids}
    teams: dict[int, list[str]] = {i: [] for i in user_ids}
    managers: dict[int, str] = {}
    if user_ids:
        for uid, label in session.execute(
            select(UserRole.user_id, Role.label).join(Role, Role.id == UserRole.role_id)
            .where(UserRole.user_id.in_(user_ids)).order_by(Role.label)
        ):  # fmt: skip
            roles[uid].append(_(label))  # a built-in role's label, still the default, is translated
        for uid, name in session.execute(
            select(TeamMember.user_id, Team.name).join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.user_id.in_(user_ids)).order_by(Team.name)
        ):  # fmt: skip
            teams[uid].append(name)
        for uid, name in session.execute(
            select(ManagerLink.user_id, User.display_name).join(User, User.id == ManagerLink.manager_id)
            .where(ManagerLink.user_id.in_(user_ids), link_valid_on(today))
        ):  # fmt: skip
            managers[uid] = name
    first = (current - 1) * PAGE_SIZE + 1 if total else 0
    return {
        "users": rows, "roles_of": roles, "teams_of": teams, "manager_of": managers, "total": total,
        "first": first, "last": first + len(rows) - 1 if rows else 0,
        "prev_query": filters.query(page=current - 1) if current > 1 else None,
        "next_query": filters.query(page=current + 1) if current < pages else None,
    }  # fmt: skip


def _choices(session: Session) -> dict[str, Any]:
    """Roles, teams and people for the selects and checkbox groups of the user forms and filters."""
    return {
        "all_roles": sorted(
            (RoleChoice(r.id, r.key, _(r.label)) for r in session.execute(select(Role.id, Role.key, Role.label))),
            key=lambda r: r.label.casefold(),
        ),
        "all_teams": session.execute(select(Team.id, Team.name, Team.is_queue).order_by(Team.name)).all(),
        "people": session.execute(
            select(User.id, User.display_name, User.username, User.active).order_by(User.name_key, User.id)
        ).all(),
    }


@requires(ADMIN)
async def users(request: Request) -> Response:
    filters = UserFilters.from_request(request)
    session = db(request)
    context = {"filters": filters, **_choices(session), **_directory(session, filters, _today(request))}
    return page(request, "admin/users.html", context, tab="users", block="user_list")


def _today(request: Request) -> dt.date:
    return today_for(user(request))


# -- create --------------------------------------------------------------------------------------------


def _profile_errors(form_values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(form_values["display_name"]) > 200:
        errors["display_name"] = _("Keep the name under 200 characters.")
    if problem := email_problem(form_values["email"]):
        errors["email"] = problem
    if form_values["language"] not in LANGUAGES:
        errors["language"] = _("Choose one of the listed languages.")
    if form_values["timezone"] not in time_zones() and form_values["timezone"] != "UTC":
        errors["timezone"] = _("Choose a time zone from the list, such as Europe/Kyiv.")
    return errors


def _checked(session: Session, form: Any, errors: dict[str, str]) -> tuple[list[Role], list[int]]:
    """The roles and team ids ticked in ``form``; a forged or vanished id is an error in place."""
    role_ids, team_ids = ids(form, "roles"), ids(form, "teams")
    roles: list[Role] = []
    if role_ids is None:
        errors["roles"] = _("Choose roles from the list.")
    else:
        roles = list(session.scalars(select(Role).where(Role.id.in_(role_ids)))) if role_ids else []
        if len(roles) != len(role_ids):
            errors["roles"] = _("Choose roles from the list.")
        elif not roles:
            errors["roles"] = _("Give the user at least one role.")
    if team_ids is None:
        errors["teams"] = _("Choose teams from the list.")
        team_ids = []
    elif team_ids and len(session.scalars(select(Team.id).where(Team.id.in_(team_ids))).all()) != len(team_ids):
        errors["teams"] = _("Choose teams from the list.")
    return roles, team_ids


def _form_values(form: Any) -> dict[str, Any]:
    return {
        "username": text(form, "username", 1000),  # create_user says what is too long; never cut silently
        "display_name": text(form, "display_name", 300),
        "email": text(form, "email", 300),
        "language": text(form, "language", 10),
        "timezone": text(form, "timezone", 64),
        "active": form.get("active") is not None,
        "roles": set(ids(form, "roles") or []),
        "teams": set(ids(form, "teams") or []),
    }


def _new_form(request: Request, values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    return page(request, "admin/user_new.html", {
        "values": values, "errors": errors, "zones": time_zones(), **_choices(db(request)),
    }, tab="users", status_code=status_code)  # fmt: skip


@requires(ADMIN)
async def user_new(request: Request) -> Response:
    sales = db(request).scalar(select(Role.id).where(Role.key == "sales"))
    rt = runtime(request)
    values = {"username": "", "display_name": "", "email": "", "language": rt.settings.default_language,
              "timezone": rt.settings.default_timezone, "active": True,
              "roles": {sales} if sales else set(), "teams": set()}  # fmt: skip
    return _new_form(request, values, {})


@requires(ADMIN)
async def user_create(request: Request) -> Response:
    form = await read_form(request)
    values = _form_values(form)
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    errors = _profile_errors(values)
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            roles, team_ids = _checked(session, form, errors)
            try:
                created = create_user(
                    session, values["username"], password, display_name=values["display_name"],
                    email=values["email"], roles=tuple(r.key for r in roles), language=values["language"],
                    timezone=values["timezone"],
                )  # fmt: skip
            except ValidationError as exc:
                errors.update({k: v for k, v in exc.errors.items() if k != "roles" or "roles" not in errors})
            if errors:
                raise ValidationError(errors)
            session.add_all([TeamMember(team_id=t, user_id=created.id) for t in team_ids])
            session.flush()
            new_id = created.id
    except ValidationError as exc:
        return _new_form(request, values, exc.errors, 400)
    except IntegrityError:  # another admin took the username between the check and the insert
        return _new_form(request, values, {"username": _("That username is taken.")}, 400)
    rt.sync(force=True)
    return done(request, f"/admin/users/{new_id}", created="1")


# -- edit ----------------------------------------------------------------------------------------------


def _links(session: Session, user_id: int) -> list[Any]:
    return session.execute(
        select(ManagerLink.id, ManagerLink.manager_id, ManagerLink.valid_from, ManagerLink.valid_to,
               User.display_name.label("manager_name"))
        .join(User, User.id == ManagerLink.manager_id)
        .where(ManagerLink.user_id == user_id)
        .order_by(ManagerLink.valid_from.desc())
    ).all()  # fmt: skip


def _reports(session: Session, user_id: int, today: dt.date) -> list[Any]:
    return session.execute(
        select(User.id, User.display_name)
        .join(ManagerLink, ManagerLink.user_id == User.id)
        .where(ManagerLink.manager_id == user_id, link_valid_on(today))
        .order_by(User.name_key)
    ).all()


def _edit_context(request: Request, target: User, **extra: Any) -> dict[str, Any]:
    session = db(request)
    today = _today(request)
    values = extra.pop("values", None)
    if values is None:
        values = {
            "display_name": target.display_name, "email": target.email, "language": target.language,
            "timezone": target.timezone, "active": target.active,
            "roles": set(session.scalars(select(UserRole.role_id).where(UserRole.user_id == target.id))),
            "teams": set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == target.id))),
        }  # fmt: skip
    context = {
        "target": target, "values": values, "errors": {}, "password_error": None, "link_errors": {}, "end_error": None,
        "link_values": {"manager_id": "", "valid_from": today.isoformat(), "valid_to": ""},
        "links": _links(session, target.id), "reports": _reports(session, target.id, today), "today": today,
        "zones": time_zones(), "message": _message(request), **_choices(session),
    }  # fmt: skip
    context.update(extra)
    return context


def _message(request: Request) -> str | None:
    params = request.query_params
    if params.get("created"):
        return _("The user is created.")
    if params.get("saved"):
        return _("Saved.")
    if params.get("password"):
        return _("The password is changed; the user's other sessions are logged out.")
    return None


def _target(request: Request) -> User:
    return get_or_404(db(request), User, request.path_params["user_id"])


@requires(ADMIN)
async def user_edit(request: Request) -> Response:
    target = _target(request)
    return page(request, "admin/user_edit.html", _edit_context(request, target), tab="users")


@requires(ADMIN)
async def user_save(request: Request) -> Response:
    target = _target(request)
    form = await read_form(request)
    values = _form_values(form)
    errors = _profile_errors(values)
    if not values["display_name"]:
        errors["display_name"] = _("Enter the name people see.")
    if not values["active"] and target.id == user(request).id:
        errors["active"] = _("You cannot deactivate your own account.")
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            bump(session, "security")  # first: its row lock serialises admin changes (the last-admin rule)
            roles, team_ids = _checked(session, form, errors)
            if errors:
                raise ValidationError(errors)
            row = get_or_404(session, User, target.id)
            row.display_name, row.name_key = values["display_name"], search_key(values["display_name"])
            row.email, row.language, row.timezone = values["email"], values["language"], values["timezone"]
            row.active = values["active"]
            session.execute(delete(UserRole).where(UserRole.user_id == row.id))
            session.execute(delete(TeamMember).where(TeamMember.user_id == row.id))
            session.add_all([UserRole(user_id=row.id, role_id=r.id) for r in roles])
            session.add_all([TeamMember(user_id=row.id, team_id=t) for t in team_ids])
            check_admins_remain(session)
    except ValidationError as exc:
        context = _edit_context(request, target, values=values, errors=exc.errors)
        return page(request, "admin/user_edit.html", context, tab="users", status_code=400)
    rt.sync(force=True)
    return done(request, f"/admin/users/{target.id}", saved="1")


@requires(ADMIN)
async def user_password(request: Request) -> Response:
    target = _target(request)
    form = await read_form(request)
    password = form.get("password")
    password = password[:1024] if isinstance(password, str) else ""
    problem = password_problem(password)
    if problem:
        context = _edit_context(request, target, password_error=problem)
        return page(request, "admin/user_edit.html", context, tab="users", status_code=400)
    rt = runtime(request)
    with write_transaction(rt.sessions) as session:
        row = get_or_404(session, User, target.id)
        row.password_hash = hash_password(password)
        clear_login_failures(session, row.username)
        bump(session, "security")
    rt.sync(force=True)
    return done(request, f"/admin/users/{target.id}", password="1")


# -- manager links -------------------------------------------------------------------------------------


def _links_response(request: Request, target: User, status_code: int = 200, **extra: Any) -> Response:
    """The manager-links section alone for HTMX, or the whole edit page."""
    if status_code == 200 and not is_htmx(request):
        return done(request, f"/admin/users/{target.id}")
    db(request).rollback()  # end the request's read snapshot so the change just committed shows
    context = _edit_context(request, target, **extra)
    return page(request, "admin/user_edit.html", context, tab="users", block="managers", status_code=status_code)


@requires(ADMIN)
async def manager_add(request: Request) -> Response:
    target = _target(request)
    form = await read_form(request)
    raw = {k: text(form, k, 40) for k in ("manager_id", "valid_from", "valid_to")}
    errors: dict[str, str] = {}
    manager_id = int_param(raw["manager_id"])
    if manager_id is None:
        errors["manager_id"] = _("Choose a manager from the list.")
    valid_from = parse_date(raw["valid_from"], "valid_from", errors, required=True)
    valid_to = parse_date(raw["valid_to"], "valid_to", errors, required=False)
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            if errors:
                raise ValidationError(errors)
            assert manager_id is not None and valid_from is not None
            add_manager_link(session, target.id, manager_id, valid_from, valid_to)
    except ValidationError as exc:
        return _links_response(request, target, 400, link_errors=exc.errors, link_values=raw)
    rt.sync(force=True)
    return _links_response(request, target)


def _link(session: Session, request: Request, target: User) -> ManagerLink:
    link = get_or_404(session, ManagerLink, request.path_params["link_id"])
    if link.user_id != target.id:
        raise HTTPException(404)
    return link


@requires(ADMIN)
async def manager_end(request: Request) -> Response:
    target = _target(request)
    _link(db(request), request, target)
    form = await read_form(request)
    errors: dict[str, str] = {}
    valid_to = parse_date(text(form, "valid_to", 40), "valid_to", errors, required=True)
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            if errors:
                raise ValidationError(errors)
            assert valid_to is not None
            end_manager_link(session, _link(session, request, target), valid_to)
    except ValidationError as exc:
        message = next(iter(exc.errors.values()))
        return _links_response(request, target, 400, end_error=(request.path_params["link_id"], message))
    rt.sync(force=True)
    return _links_response(request, target)


@requires(ADMIN)
async def manager_delete(request: Request) -> Response:
    target = _target(request)
    _link(db(request), request, target)
    rt = runtime(request)
    with write_transaction(rt.sessions) as session:
        delete_manager_link(session, _link(session, request, target))
    rt.sync(force=True)
    return _links_response(request, target)


routes = [
    Route("/admin/users", users, methods=["GET"], name="admin_users"),
    Route("/admin/users/new", user_new, methods=["GET"], name="admin_user_new"),
    Route("/admin/users/new", user_create, methods=["POST"], name="admin_user_create"),
    Route("/admin/users/{user_id:int}", user_edit, methods=["GET"], name="admin_user"),
    Route("/admin/users/{user_id:int}", user_save, methods=["POST"], name="admin_user_save"),
    Route("/admin/users/{user_id:int}/password", user_password, methods=["POST"], name="admin_user_password"),
    Route("/admin/users/{user_id:int}/managers", manager_add, methods=["POST"], name="admin_manager_add"),
    Route("/admin/users/{user_id:int}/managers/{link_id:int}/end", manager_end, methods=["POST"],
          name="admin_manager_end"),
    Route("/admin/users/{user_id:int}/managers/{link_id:int}/delete", manager_delete, methods=["POST"],
          name="admin_manager_delete"),
]  # fmt: skip
