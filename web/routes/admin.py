"""Administration: the overview page, and the routes of every admin section (each in its own module).

Every admin route requires the ``core.admin`` permission; the guard answers 403 to anyone else.
"""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.handlers import db, runtime
from voronka.core.models import Role, Team, User
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN

from . import admin_api_keys, admin_company, admin_jobs, admin_plugins, admin_roles, admin_teams, admin_users
from .admin_base import page


@requires(ADMIN)
async def index(request: Request) -> Response:
    """The admin overview: one card per section with the figures an admin checks first."""
    session = db(request)
    host = runtime(request).host
    active = dict(session.execute(select(User.active, func.count()).group_by(User.active)).all())
    queues = dict(session.execute(select(Team.is_queue, func.count()).group_by(Team.is_queue)).all())
    schemas = runtime(request).settings_store.schemas
    counts = {
        "plugins": len(host.plugins),
        "enabled": len(host.enabled),
        "failed": len(host.failed),
        "blocked": len([n for n in host.blocked if n in host.plugins]),
        "users_active": active.get(True, 0),
        "users_inactive": active.get(False, 0),
        "roles": session.scalar(select(func.count()).select_from(Role)) or 0,
        "teams": queues.get(False, 0),
        "queues": queues.get(True, 0),
        "settings": len([n for n, fields in schemas.items() if fields and n in host.plugins]),
    }
    return page(request, "admin/index.html", {"counts": counts, "warnings": host.config_warnings}, tab="overview")


routes = [
    Route("/admin", index, methods=["GET"], name="admin"),
    *admin_plugins.routes,
    *admin_users.routes,
    *admin_roles.routes,
    *admin_teams.routes,
    *admin_api_keys.routes,
    *admin_company.routes,
    *admin_jobs.routes,
]
