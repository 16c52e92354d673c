"""Admin: teams and queues (a queue is a team that owns records until someone takes them) and members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, TeamMember, User
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN
from voronka.core.state import bump
from voronka.core.templating import is_htmx

from .admin_base import done, get_or_404, int_param, page, read_form, text


def _name_problem(session: Session, name: str, team_id: int | None) -> str | None:
    if not name:
        return _("Enter a name for the team.")
    if len(name) > 120:
        return _("Keep the name under 120 characters.")
    folded = name.casefold()
    for other_id, other in session.execute(select(Team.id, Team.name)):
        if other.casefold() == folded and other_id != team_id:
            return _("There is already a team called %(name)s.") % {"name": other}
    return None


def _list_page(request: Request, values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Response:
    session = db(request)
    counts = dict(
        session.execute(
            select(TeamMember.team_id, func.count())
            .join(User, User.id == TeamMember.user_id)
            .where(User.active.is_(True))
            .group_by(TeamMember.team_id)
        ).all()
    )
    teams = session.execute(select(Team.id, Team.name, Team.is_queue).order_by(Team.is_queue, Team.name)).all()
    return page(request, "admin/teams.html", {
        "teams": teams, "counts": counts, "values": values, "errors": errors,
    }, tab="teams", block="team_list", status_code=status_code)  # fmt: skip


@requires(ADMIN)
async def teams(request: Request) -> Response:
    return _list_page(request, {"name": "", "is_queue": False}, {})


@requires(ADMIN)
async def team_create(request: Request) -> Response:
    form = await read_form(request)
    values = {"name": text(form, "name", 200), "is_queue": form.get("is_queue") is not None}
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            problem = _name_problem(session, values["name"], None)
            if problem:
                raise ValidationError({"name": problem})
            team = Team(name=values["name"], is_queue=values["is_queue"])
            session.add(team)
            session.flush()
            new_id = team.id
    except (ValidationError, IntegrityError) as exc:
        errors = exc.errors if isinstance(exc, ValidationError) else {"name": _("That name is taken.")}
        return _list_page(request, values, errors, 400)
    return done(request, f"/admin/teams/{new_id}", created="1")


def _team_page(
    request: Request, team: Team, status_code: int = 200, block: str | None = None, **extra: Any
) -> Response:
    session = db(request)
    members = session.execute(
        select(User.id, User.display_name, User.username, User.active)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
        .order_by(User.name_key)
    ).all()
    member_ids = {m.id for m in members}
    candidates = [
        row for row in session.execute(
            select(User.id, User.display_name, User.username).where(User.active.is_(True)).order_by(User.name_key)
        ) if row.id not in member_ids
    ]  # fmt: skip
    context = {
        "team": team, "members": members, "candidates": candidates, "errors": {}, "member_error": None,
        "values": {"name": team.name, "is_queue": team.is_queue}, "message": _message(request),
    }  # fmt: skip
    context.update(extra)
    return page(request, "admin/team_edit.html", context, tab="teams", block=block, status_code=status_code)


def _message(request: Request) -> str | None:
    if request.query_params.get("created"):
        return _("The team is created. Add its members below.")
    if request.query_params.get("saved"):
        return _("Saved.")
    return None


def _team(request: Request) -> Team:
    return get_or_404(db(request), Team, request.path_params["team_id"])


@requires(ADMIN)
async def team_edit(request: Request) -> Response:
    return _team_page(request, _team(request))


@requires(ADMIN)
async def team_save(request: Request) -> Response:
    team = _team(request)
    form = await read_form(request)
    values = {"name": text(form, "name", 200), "is_queue": form.get("is_queue") is not None}
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            problem = _name_problem(session, values["name"], team.id)
            if problem:
                raise ValidationError({"name": problem})
            row = get_or_404(session, Team, team.id)
            row.name, row.is_queue = values["name"], values["is_queue"]
            bump(session, "security")
    except (ValidationError, IntegrityError) as exc:
        errors = exc.errors if isinstance(exc, ValidationError) else {"name": _("That name is taken.")}
        return _team_page(request, team, 400, values=values, errors=errors)
    rt.sync(force=True)
    return done(request, f"/admin/teams/{team.id}", saved="1")


def _members_response(request: Request, team: Team, status_code: int = 200, **extra: Any) -> Response:
    if status_code == 200 and not is_htmx(request):
        return done(request, f"/admin/teams/{team.id}")
    db(request).rollback()  # end the request's read snapshot so the change just committed shows
    return _team_page(request, team, status_code, block="members", **extra)


@requires(ADMIN)
async def member_add(request: Request) -> Response:
    team = _team(request)
    form = await read_form(request)
    user_id = int_param(text(form, "user_id", 20))
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            member = session.get(User, user_id) if user_id is not None else None
            if member is None:
                raise ValidationError(_("Choose a person from the list."))
            if session.get(TeamMember, (team.id, member.id)) is not None:
                raise ValidationError(_("%(name)s is already a member.") % {"name": member.display_name})
            session.add(TeamMember(team_id=team.id, user_id=member.id))
            bump(session, "security")
    except ValidationError as exc:
        return _members_response(request, team, 400, member_error=next(iter(exc.errors.values())))
    except IntegrityError:  # added by someone else a moment ago
        return _members_response(request, team, 400, member_error=_("That person is already a member."))
    rt.sync(force=True)
    return _members_response(request, team)


@requires(ADMIN)
async def member_remove(request: Request) -> Response:
    team = _team(request)
    rt = runtime(request)
    with write_transaction(rt.sessions) as session:
        link = get_or_404(session, TeamMember, (team.id, request.path_params["user_id"]))
        session.delete(link)
        bump(session, "security")
    rt.sync(force=True)
    return _members_response(request, team)


routes = [
    Route("/admin/teams", teams, methods=["GET"], name="admin_teams"),
    Route("/admin/teams", team_create, methods=["POST"], name="admin_team_create"),
    Route("/admin/teams/{team_id:int}", team_edit, methods=["GET"], name="admin_team"),
    Route("/admin/teams/{team_id:int}", team_save, methods=["POST"], name="admin_team_save"),
    Route("/admin/teams/{team_id:int}/members", member_add, methods=["POST"], name="admin_team_member_add"),
    Route("/admin/teams/{team_id:int}/members/{user_id:int}/remove", member_remove, methods=["POST"],
          name="admin_team_member_remove"),
]  # fmt: skip
