"""The people directory: a colleague's page (teams, manager, reports) with the ``user.page`` slot.

Managers open their reports' pages to see what plugins put there (plans, activity); everyone with
``core.users.view`` finds colleagues through the global search.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.handlers import db, user
from voronka.core.models import ManagerLink, Team, TeamMember, User
from voronka.core.security.markers import requires
from voronka.core.security.visibility import link_valid_on
from voronka.core.templating import render, render_panels

USERS_VIEW = "core.users.view"


@requires(USERS_VIEW)
async def person(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    if user_id == user(request).id:
        return RedirectResponse("/me", 303)
    session = db(request)
    if not 0 < user_id < 2**63 or (found := session.get(User, user_id)) is None:
        raise HTTPException(404)
    today = dt.date.today()
    teams = session.scalars(
        select(Team.name).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.user_id == user_id)
        .order_by(Team.name)
    ).all()  # fmt: skip
    manager = session.execute(
        select(User.id, User.display_name).join(ManagerLink, ManagerLink.manager_id == User.id)
        .where(ManagerLink.user_id == user_id, link_valid_on(today))
    ).first()  # fmt: skip
    reports = session.execute(
        select(User.id, User.display_name).join(ManagerLink, ManagerLink.user_id == User.id)
        .where(ManagerLink.manager_id == user_id, link_valid_on(today)).order_by(User.display_name)
    ).all()  # fmt: skip
    return render(request, "person.html", {
        "person": found, "teams": teams, "manager": manager, "reports": reports,
        "panels": render_panels(request, "user.page", found),
    })  # fmt: skip


routes = [Route("/users/{user_id:int}", person, name="person")]
