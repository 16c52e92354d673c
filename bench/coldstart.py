"""One cold process: import, ``create_app``, start-up and the first requests, timed; prints JSON.

Run by ``bench/shell.py`` in a fresh interpreter per sample, with ``VORONKA_*`` set to the bench database.
"""

from __future__ import annotations

import json
import re
import sys
import time

started = time.perf_counter()


def main() -> None:
    from bench.harness import call, form_body, lifespan, new_loop
    from voronka.web.app import create_app
    from voronka.web.testkit.users import TEST_PASSWORD

    imported = time.perf_counter()
    app = create_app()
    created = time.perf_counter()
    figures = {"import_s": imported - started, "create_app_s": created - imported}

    async def first_requests() -> None:
        async with lifespan(app):
            figures["startup_s"] = time.perf_counter() - created
            t = time.perf_counter()
            page = await call(app, "GET", "/login")
            figures["first_login_page_ms"] = (time.perf_counter() - t) * 1000
            token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body).group(1).decode()  # type: ignore[union-attr]
            body = form_body({"username": "admin", "password": TEST_PASSWORD, "csrf_token": token, "next": "/"})
            t = time.perf_counter()
            done = await call(
                app,
                "POST",
                "/login",
                cookies=page.cookies(),
                body=body,
                headers=[("content-type", "application/x-www-form-urlencoded")],
            )
            figures["first_login_post_ms"] = (time.perf_counter() - t) * 1000
            assert done.status == 303, done.status
            cookies = done.cookies()
            t = time.perf_counter()
            home = await call(app, "GET", "/", cookies=cookies)
            figures["first_home_ms"] = (time.perf_counter() - t) * 1000
            assert home.status == 200, home.status
            t = time.perf_counter()
            await call(app, "GET", "/", cookies=cookies)
            figures["second_home_ms"] = (time.perf_counter() - t) * 1000

    new_loop().run_until_complete(first_requests())
    figures["process_s"] = time.perf_counter() - started
    json.dump(figures, sys.stdout)


if __name__ == "__main__":
    main()
