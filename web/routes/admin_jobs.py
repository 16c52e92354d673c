"""Admin: jobs — every job's status, progress, last run and error with a retry button, and the outbox:
how many events wait for delivery and which deliveries failed (with retry).

The page refreshes its list every few seconds through HTMX (the ``jobs`` block), so a running import's
progress bar moves without a reload.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.handlers import db, runtime
from voronka.core.i18n import gettext as _
from voronka.core.jobs import collect_definitions
from voronka.core.jobs import retry as retry_job
from voronka.core.jobs_outbox import backlog, retry_delivery
from voronka.core.models_jobs import EventFailure, Job, OutboxEvent
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN

from ..worker import builtin_jobs
from .admin_base import done, int_param, page, read_form, text

RECENT_QUEUED = 50
FAILED_DELIVERIES = 100


def _context(request: Request) -> dict[str, Any]:
    session = db(request)
    rt = runtime(request)
    defs = collect_definitions(rt.host, builtin_jobs(rt))
    order = case({"failed": 0, "running": 1, "pending": 2}, value=Job.status, else_=3)
    standing = session.scalars(select(Job).where(Job.singleton.is_not(None)).order_by(Job.key)).all()
    queued = session.scalars(
        select(Job).where(Job.singleton.is_(None)).order_by(order, Job.id.desc()).limit(RECENT_QUEUED)
    ).all()
    failures = session.execute(
        select(EventFailure, OutboxEvent.name)
        .join(OutboxEvent, OutboxEvent.id == EventFailure.event_id)
        .order_by(EventFailure.gave_up.desc(), EventFailure.event_id.desc())
        .limit(FAILED_DELIVERIES)
    ).all()
    return {
        "standing": standing,
        "queued": queued,
        "labels": {k: d.label for k, d in defs.items() if d.label},
        "known": set(defs),
        "outbox": backlog(session),
        "failures": failures,
        "message": {
            "job": _("The job will run again shortly."),
            "delivery": _("The delivery will be tried again shortly."),
        }.get(request.query_params.get("retried", "")),
    }


@requires(ADMIN)
async def jobs(request: Request) -> Response:
    block = "jobs" if _wants_block(request) else None
    return page(request, "admin/jobs.html", _context(request), tab="jobs", block=block)


def _wants_block(request: Request) -> bool:
    return request.headers.get("HX-Target") == "jobs"


@requires(ADMIN)
async def job_retry(request: Request) -> Response:
    form = await read_form(request)
    job_id = int_param(text(form, "job"))
    if job_id is None:
        raise HTTPException(400, _("Choose a job to retry."))
    with write_transaction(runtime(request).sessions) as session:
        if session.get(Job, job_id) is None:
            raise HTTPException(404)
        if not retry_job(session, job_id):
            raise HTTPException(409, _("The job is running now; retry it when it has finished."))
    return done(request, "/admin/jobs", retried="job")


@requires(ADMIN)
async def delivery_retry(request: Request) -> Response:
    form = await read_form(request)
    event_id = int_param(text(form, "event"))
    handler = text(form, "handler", 120)
    if event_id is None or not handler:
        raise HTTPException(400, _("Choose a failed delivery to retry."))
    with write_transaction(runtime(request).sessions) as session:
        if not retry_delivery(session, event_id, handler):
            raise HTTPException(404)
    return done(request, "/admin/jobs", retried="delivery")


routes = [
    Route("/admin/jobs", jobs, methods=["GET"], name="admin-jobs"),
    Route("/admin/jobs/retry", job_retry, methods=["POST"], name="admin-jobs-retry"),
    Route("/admin/jobs/deliveries/retry", delivery_retry, methods=["POST"], name="admin-jobs-delivery-retry"),
]
