"""``voronka jobs``: what background work is doing, from a shell (the admin jobs page, for operators).

``list`` shows standing jobs and recent queued work with status, progress and the last error's first line;
``show`` prints one job in full (payload, state, the whole error); ``retry`` queues a failed job again.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.jobs import retry
from voronka.core.models_jobs import JOB_STATUSES, Job


def register(app: typer.Typer, deployment: Any, settings: Any, table: Any, ok: Any, fail: Any) -> None:
    """Add the ``jobs`` group to the CLI (the helpers come from web.cli, which owns the shared plumbing)."""
    jobs_app = typer.Typer(help="Background jobs: list, show, retry.", no_args_is_help=True)
    app.add_typer(jobs_app, name="jobs")

    @jobs_app.command("list")
    def list_jobs(
        ctx: typer.Context,
        status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(JOB_STATUSES)}.")] = None,
        key: Annotated[str | None, typer.Option(help="Only jobs with this key (e.g. core.imports).")] = None,
        limit: Annotated[int, typer.Option(help="At most this many queued jobs.", min=1)] = 50,
    ) -> None:
        """Standing jobs, then the most recent queued work (newest first)."""
        if status is not None and status not in JOB_STATUSES:
            raise fail(f"--status must be one of {', '.join(JOB_STATUSES)}, not {status!r}")
        with deployment(settings(ctx)) as d, d.sessions() as session:
            query = select(Job)
            if status is not None:
                query = query.where(Job.status == status)
            if key is not None:
                query = query.where(Job.key == key)
            standing = session.scalars(query.where(Job.singleton.is_not(None)).order_by(Job.key)).all()
            queued = session.scalars(query.where(Job.singleton.is_(None)).order_by(Job.id.desc()).limit(limit)).all()
            rows = [_row(job) for job in (*standing, *queued)]
        if not rows:
            typer.echo("No jobs match.")
            return
        table(("ID", "KEY", "KIND", "STATUS", "PROGRESS", "ATTEMPTS", "NEXT RUN", "LAST ERROR"), rows)

    @jobs_app.command("show")
    def show(ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="The job's id (jobs list).")]) -> None:
        """Everything about one job: payload, saved state, progress and the full last error."""
        with deployment(settings(ctx)) as d, d.sessions() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise fail(f"there is no job {job_id}")
            for label, value in (
                ("id", job.id), ("key", job.key), ("kind", job.kind), ("status", job.status),
                ("progress", _progress(job)), ("attempts", f"{job.attempts} of {job.max_attempts}"),
                ("created", job.created_at), ("started", job.started_at), ("finished", job.finished_at),
                ("next run", job.next_run_at), ("lease", f"{job.lease_owner} until {job.lease_expires_at}"
                                                if job.lease_owner else "free"),
                ("payload", json.dumps(job.payload, ensure_ascii=False)),
                ("state", json.dumps(job.state, ensure_ascii=False)),
            ):  # fmt: skip
                typer.echo(f"{label:>9}: {value}")
            if job.last_error:
                typer.echo(f"last error:\n{job.last_error}")

    @jobs_app.command("retry")
    def retry_command(ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
        """Run a failed (or finished) job again as soon as a runner is free."""
        with deployment(settings(ctx)) as d, write_transaction(d.sessions) as session:
            if session.get(Job, job_id) is None:
                raise fail(f"there is no job {job_id}")
            if not retry(session, job_id):
                raise fail(f"job {job_id} is running; it cannot be retried until it stops")
        ok(f"job {job_id} will run again shortly (a worker or the server's runner picks it up)")


def _progress(job: Job) -> str:
    if job.progress_total:
        return f"{job.progress_done:,}/{job.progress_total:,} ({100 * job.progress_done // job.progress_total}%)"
    return f"{job.progress_done:,}" if job.progress_done else ""


def _row(job: Job) -> tuple[Any, ...]:
    error = (job.last_error or "").strip().splitlines()
    return (
        job.id, job.key, job.kind, job.status, _progress(job), job.attempts,
        job.next_run_at.strftime("%Y-%m-%d %H:%M:%S") if job.status == "pending" else "",
        error[-1][:80] if error else "",
    )  # fmt: skip
