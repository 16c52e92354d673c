"""Where the time of a page goes: pyinstrument in-process and inside the uvicorn worker, summarised by
package (ours, Starlette, Jinja2, SQLAlchemy, …) and by function. py-spy would be nicer for the server but
cannot attach in some sandboxes, so the server samples itself (``BENCH_PROFILE``, see bench/asgi.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sysconfig
import time
from collections import Counter
from pathlib import Path
from typing import Any

from voronka.web.app import create_app

from .databases import settings_for
from .harness import REPO, call, lifespan, new_loop, run_load, uvicorn_server

RESULTS = REPO / "bench" / "results"
STDLIB = sysconfig.get_paths()["stdlib"]


def profile_shell(args: argparse.Namespace, url: str, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    from pyinstrument import Profiler

    from .shell import login_session

    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = settings_for(url, workdir, args.plugins)
    out: dict[str, Any] = {}

    async def in_process() -> Any:
        app = create_app(settings)
        async with lifespan(app):
            _, _, cookies = await login_session(app)
            for _ in range(200):
                await call(app, "GET", "/", cookies=cookies)
            profiler = Profiler(interval=0.0001, async_mode="disabled")
            profiler.start()
            for _ in range(max(args.requests, 2000)):
                await call(app, "GET", "/", cookies=cookies)
            session = profiler.stop()
        app.state.voronka.engine.dispose()
        return session

    loop = new_loop()
    asyncio.set_event_loop(loop)
    try:
        session = loop.run_until_complete(in_process())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    target = RESULTS / "shell-in-process.html"
    target.write_text(_html(session), encoding="utf-8")
    out["in_process"] = report("GET / in-process (pyinstrument, 0.1 ms samples)", session, target)

    server_file = RESULTS / "shell-uvicorn.pyisession"
    server_file.unlink(missing_ok=True)
    with uvicorn_server({**env, "BENCH_PROFILE": str(server_file)}) as server:
        from .shell import http_login

        _, _, cookie = http_login(server.base)
        run_load(
            server,
            "/",
            seconds=min(args.seconds, 5),
            connections=args.connections,
            headers={"Cookie": f"voronka_session={cookie}"},
        )
    for _ in range(100):
        if server_file.exists():
            break
        time.sleep(0.05)
    if server_file.exists():
        from pyinstrument.session import Session

        session = Session.load(str(server_file))
        target = RESULTS / "shell-uvicorn.html"
        target.write_text(_html(session), encoding="utf-8")
        out["uvicorn"] = report("GET / in one uvicorn worker under wrk (pyinstrument, 1 ms samples)", session, target)
    else:
        print("\n(the uvicorn worker did not save its profile)")
    return out


def _html(session: Any) -> str:
    from pyinstrument.renderers import HTMLRenderer

    return HTMLRenderer().render(session)


def report(title: str, session: Any, saved: Path) -> dict[str, Any]:
    """Print self time by package and the busiest functions; return them for the JSON report."""
    groups: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    root = session.root_frame()
    total = root.time if root is not None else 0.0
    if root is not None:
        _walk(root, ("", "", 0), groups, functions)
    print(f"\nprofile: {title}  ({total:.2f} s sampled; tree in {saved.relative_to(REPO)})")
    print("  self time by package:")
    for name, seconds in groups.most_common(14):
        print(f"    {100 * seconds / total:5.1f}%  {name}")
    print("  busiest functions (self time):")
    for name, seconds in functions.most_common(16):
        print(f"    {100 * seconds / total:5.1f}%  {name}")
    return {
        "sampled_s": total,
        "by_package": {k: round(100 * v / total, 2) for k, v in groups.most_common()},
        "functions": {k: round(100 * v / total, 2) for k, v in functions.most_common(30)},
    }


def _walk(frame: Any, parent: tuple[str, str, int], groups: Counter[str], functions: Counter[str]) -> None:
    """Self time goes to the frame's package and function; pyinstrument's synthetic frames ("[self]",
    C calls) have no file, so their time counts for the Python function that made them."""
    path = getattr(frame, "file_path", None) or ""
    here = (frame.function, path, frame.line_no) if path else parent
    own = frame.time - sum(child.time for child in frame.children)
    if own > 0:
        function, where, line = here
        groups[_group(where) if where else "other"] += own
        label = f"{function}  {_short(where)}:{line}" if where else function
        if not path and frame.function not in ("[self]", function):
            label += f" → {frame.function}"
        functions[label] += own
    for child in frame.children:
        _walk(child, here, groups, functions)


def _group(path: str) -> str:
    if path.endswith(".html"):
        return "voronka templates (compiled Jinja2)"
    if "site-packages" in path:
        return path.split("site-packages" + os.sep, 1)[1].split(os.sep, 1)[0].removesuffix(".py")
    if path.startswith(str(REPO)):
        rel = Path(path).relative_to(REPO).parts
        if rel[0] == "plugins" and len(rel) > 2:
            return f"voronka plugins/{rel[1]}"
        return f"voronka {rel[0]}/" if len(rel) > 1 else f"voronka {rel[0]}"
    if path.startswith(STDLIB):
        return "stdlib " + Path(path).relative_to(STDLIB).parts[0].removesuffix(".py")
    return "other"


def _short(path: str) -> str:
    for marker in ("site-packages" + os.sep, str(REPO) + os.sep, STDLIB + os.sep):
        if marker in path:
            return path.split(marker, 1)[1]
    return path
