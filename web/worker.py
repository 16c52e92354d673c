"""Where jobs run: inside the web server (embedded setup) or in ``voronka worker`` processes.

Both use the same :class:`voronka.core.jobs.JobRunner` over the app's runtime, so plugin toggles, settings
and the database are seen the same way; only who starts and stops the loop differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from voronka.core.imports import import_jobs
from voronka.core.jobs import JobDefinition, JobRunner, collect_definitions
from voronka.core.jobs_outbox import core_jobs

from .runtime import Runtime
from .tuning import tune_gc

log = logging.getLogger("voronka.worker")


def builtin_jobs(runtime: Runtime) -> list[JobDefinition]:
    """Core's own jobs: event delivery and clean-ups (outbox, finished jobs, recycle bin), and imports."""
    settings = runtime.settings
    return [
        *core_jobs(poll=settings.job_poll_seconds, refresh=runtime.sync),
        *import_jobs(lambda: runtime.record_kinds),
    ]


def make_runner(runtime: Runtime, *, concurrency: int = 4, owner: str | None = None) -> JobRunner:
    settings = runtime.settings
    builtin = builtin_jobs(runtime)

    def definitions() -> dict[str, JobDefinition]:
        return collect_definitions(runtime.host, builtin)

    return JobRunner(
        runtime.sessions,
        runtime.host,
        definitions,
        owner=owner,
        poll=settings.job_poll_seconds,
        concurrency=concurrency,
        refresh=runtime.sync,
    )


class InServer:
    """The runner as an asyncio task of the server, started and stopped by the app's lifespan."""

    def __init__(self, runtime: Runtime):
        self.runner = make_runner(runtime)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> InServer:
        self.task = asyncio.create_task(self.runner.run(), name="voronka jobs")
        return self

    async def stop(self) -> None:
        self.runner.stop()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 15)
            except Exception:
                log.exception("the job runner did not stop cleanly")


async def start_in_server(app: Any) -> InServer | None:
    runtime: Runtime = app.state.voronka
    if not runtime.settings.run_jobs_in_server:
        return None
    return await InServer(runtime).start()


def run_worker(runtime: Runtime, *, once: bool = False, concurrency: int = 4) -> int:
    """``voronka worker``: run jobs until SIGINT/SIGTERM (or one round with ``once``)."""
    runner = make_runner(runtime, concurrency=concurrency)
    if once:
        from voronka.core.jobs_outbox import Dispatcher

        Dispatcher(runtime.sessions, runtime.host, refresh=runtime.sync).drain()
        return len(runner.run_due_once())
    tune_gc(runtime.settings)  # a long-running process from here on

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, runner.stop)
        await runner.run()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("voronka worker %s: polling every %.2fs", runner.owner, runner.poll)
    asyncio.run(main())
    return 0
