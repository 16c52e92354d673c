"""The app uvicorn serves in the HTTP benchmarks: ``create_app()`` from the environment (``VORONKA_*``).

``BENCH_GC_FREEZE=1`` moves everything alive after start-up out of the garbage collector's reach
(``gc.freeze()``), to measure its effect on p99 without changing the application.
``BENCH_PROFILE=<file>`` samples the server's main thread with pyinstrument from start to exit and saves
the session there (``bench/profiling.py`` summarises it).
"""

from __future__ import annotations

import gc
import os
from typing import Any

from voronka.web.app import create_app


def app() -> Any:
    application = create_app()
    if os.environ.get("BENCH_GC_FREEZE") == "1":
        gc.collect()
        gc.freeze()
    target = os.environ.get("BENCH_PROFILE")
    if target:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        return SaveProfileOnShutdown(application, profiler, target)
    return application


class SaveProfileOnShutdown:
    """uvicorn re-raises SIGTERM after shutting down (no atexit), so save when the lifespan ends."""

    def __init__(self, app: Any, profiler: Any, target: str):
        self.app, self.profiler, self.target = app, profiler, target
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_and_save(message: Any) -> None:
            if message["type"] == "lifespan.shutdown.complete" and self.profiler.is_running:
                self.profiler.stop().save(self.target)
            await send(message)

        await self.app(scope, receive, send_and_save)
