"""'My open tasks': the page, the home panel, and marking a task done (or open again) in place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, User
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render
from voronka.core.types import utcnow
from voronka.core.ui import Panel
from voronka.core.writes import save

from . import activity_queries as queries
from .activity_routes import kind, visible_activity
from .kinds import EDIT, VIEW
from .models import Activity

PAGE_LIMIT = 200
PANEL_LIMIT = 5


def rows(request: Request, tasks: list[Activity]) -> list[dict[str, Any]]:
    """Tasks with what a row shows: the record each is attached to, its owner, whether it is overdue."""
    session, viewer = db(request), user(request)
    registry = runtime(request).record_kinds
    labels = queries.ref_labels(session, registry, viewer, [(t.ref_kind, t.ref_id) for t in tasks])
    user_ids = {t.owner_user_id for t in tasks if t.owner_user_id}
    team_ids = {t.owner_team_id for t in tasks if t.owner_team_id}
    users = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    now = utcnow()
    found = []
    for task in tasks:
        ref = (task.ref_kind, task.ref_id)
        label = labels.get(ref)
        found.append({
            "task": task,
            "ref_label": label,
            "ref_url": registry[task.ref_kind].url_for(task.ref_id) if label is not None else "",
            "owner": users.get(task.owner_user_id) or teams.get(task.owner_team_id) or "",
            "overdue": not task.done and task.due_at is not None and task.due_at < now,
        })  # fmt: skip
    return found


@requires(VIEW)
async def tasks_page(request: Request) -> Response:
    """Open tasks of the user and their teams' queues, overdue first; a plain page and its HTMX list."""
    session, viewer = db(request), user(request)
    tasks = queries.open_tasks(session, viewer, PAGE_LIMIT + 1)
    ctx = {"rows": rows(request, tasks[:PAGE_LIMIT]), "more": len(tasks) > PAGE_LIMIT, "can_edit": viewer.can(EDIT)}
    return render(request, "contacts/tasks.html", ctx, block="tasks")


def panel_context(request: Request) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    open_count, overdue = queries.count_open_tasks(session, viewer)
    tasks = queries.open_tasks(session, viewer, PANEL_LIMIT)
    return {"rows": rows(request, tasks), "open_count": open_count, "overdue": overdue, "can_edit": viewer.can(EDIT)}


@requires(VIEW)
async def tasks_panel(request: Request) -> Response:
    """The home page's lazy panel; opened as a plain link it is a page of its own."""
    return render(request, "contacts/panel_tasks.html", panel_context(request), block="panel")


@requires(EDIT)
async def task_done(request: Request) -> Response:
    """Mark a task done (``done=1``) or open again (``done=0``) through the write path. HTMX gets the task's
    row (or the home panel) back in place; a plain form goes back to ``next``."""
    task = visible_activity(request)
    form = await form_dict(request)
    done = form.get("done", "1") == "1"
    problem = None if task.type == "task" else _("Only a task can be marked done.")
    if problem is None:
        try:
            with write_transaction(runtime(request).sessions) as session:
                save(session, kind(request), task.id, {"done": done}, actor=user(request))
        except ValidationError as exc:
            problem = "; ".join(exc.errors.values())
    if problem is not None:
        return Response(problem, status_code=400, media_type="text/plain")
    if is_htmx(request):
        db(request).rollback()  # a fresh read: the write was another session's
        if form.get("view") == "panel":
            return render(request, "contacts/panel_tasks.html", panel_context(request), block="panel")
        row = rows(request, [visible_activity(request)])[0]
        return render(request, "contacts/tasks.html", {"row": row, "can_edit": True}, block="row")
    target = form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = f"/contacts/activities/{task.id}"
    return RedirectResponse(target, status_code=303)


def panels(name: str, request: Any, obj: Any) -> list[Panel]:
    if name == "home":
        return [Panel("contacts.tasks", _("My open tasks"), lazy_url="/contacts/tasks/panel", order=20)]
    return []


routes = [
    Route("/tasks", tasks_page, methods=["GET"], name="tasks"),
    Route("/tasks/panel", tasks_panel, methods=["GET"], name="tasks_panel"),
    Route("/activities/{activity_id:int}/done", task_done, methods=["POST"], name="task_done"),
]
