"""An HTMX-aware test client: CSRF tokens handled, one-call login, ``hx_get``/``hx_post``."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from .users import TEST_PASSWORD

_CSRF = re.compile(r'name="csrf-token" content="([^"]*)"|name="csrf_token" value="([^"]*)"')


class VoronkaClient(TestClient):
    """``TestClient`` that sends the page's CSRF token with unsafe requests unless ``csrf=False``."""

    def __init__(self, app: Any, **kwargs: Any):
        kwargs.setdefault("raise_server_exceptions", False)
        kwargs.setdefault("follow_redirects", True)
        super().__init__(app, **kwargs)
        self.csrf_token: str | None = None

    def refresh_csrf(self) -> str:
        response = self.get("/login" if self.csrf_token is None else "/me")
        match = _CSRF.search(response.text)
        if match is None:
            response = self.get("/login")
            match = _CSRF.search(response.text)
        assert match is not None, "no CSRF token on the page"
        self.csrf_token = match.group(1) or match.group(2)
        return self.csrf_token

    def login(self, username: str = "admin", password: str = TEST_PASSWORD) -> Any:
        self.cookies.clear()
        self.csrf_token = None
        token = self.refresh_csrf()
        response = self.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}, csrf=False
        )
        assert response.status_code == 200 and "/login" not in str(response.url), (
            f"login as {username} failed: {response.status_code}"
        )
        self.csrf_token = None
        self.refresh_csrf()
        return response

    def post(self, url: Any, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._unsafe("POST", url, csrf, *args, **kwargs)

    def put(self, url: Any, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._unsafe("PUT", url, csrf, *args, **kwargs)

    def patch(self, url: Any, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._unsafe("PATCH", url, csrf, *args, **kwargs)

    def delete(self, url: Any, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._unsafe("DELETE", url, csrf, *args, **kwargs)

    def _unsafe(self, method: str, url: Any, csrf: bool, *args: Any, **kwargs: Any) -> Any:
        if csrf:
            headers = dict(kwargs.pop("headers", None) or {})
            if "X-CSRF-Token" not in headers and "x-csrf-token" not in headers:
                headers["X-CSRF-Token"] = self.csrf_token or self.refresh_csrf()
            kwargs["headers"] = headers
        return self.request(method, url, *args, **kwargs)

    def hx_get(self, url: str, **kwargs: Any) -> Any:
        headers = {"HX-Request": "true", **(kwargs.pop("headers", None) or {})}
        return self.get(url, headers=headers, **kwargs)

    def hx_post(self, url: str, **kwargs: Any) -> Any:
        headers = {"HX-Request": "true", **(kwargs.pop("headers", None) or {})}
        return self.post(url, headers=headers, **kwargs)
