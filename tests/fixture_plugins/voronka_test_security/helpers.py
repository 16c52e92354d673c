"""Helpers the security and storage tests share (tests/core/test_security_*.py, test_storage_*.py)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from itsdangerous import TimestampSigner

from voronka.core.db import write_transaction
from voronka.web.testkit import TEST_PASSWORD

TEST_SECRET = "test-secret-key-test-secret-key!"
"""The secret key of test apps (``PluginSet.settings``): the tests sign cookies like the server does."""


def attempt_login(client: Any, username: str, password: str = TEST_PASSWORD, next: str | None = None) -> Any:
    """POST the login form as a browser would (token from the login page); redirects are not followed."""
    page = client.get("/login", follow_redirects=False)
    token = client.refresh_csrf() if page.status_code != 200 else _form_token(page.text)
    data = {"username": username, "password": password, "csrf_token": token}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, csrf=False, follow_redirects=False)


def _form_token(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def is_logged_in(client: Any) -> bool:
    return client.get("/me", follow_redirects=False).status_code == 200


def sign_session(data: Any, secret: str = TEST_SECRET, age_seconds: float = 0) -> str:
    """A session cookie value as Starlette's SessionMiddleware writes it, optionally ``age_seconds`` old."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age_seconds)

    payload = base64.b64encode(json.dumps(data).encode())
    return Signer(secret).sign(payload).decode()


def write(app: Any) -> Any:
    """A write transaction on the app's database (commits on success)."""
    return write_transaction(app.state.voronka.sessions)


def read(app: Any) -> Any:
    return app.state.voronka.sessions()
