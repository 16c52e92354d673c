"""Sessions and requests: CSRF, cookies that are malformed or stale, password changes and deactivation,
security headers and body limits. Bad input gets a clear message and the right status, never a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from starlette.routing import Route
from voronka_test_security.helpers import attempt_login, is_logged_in, read, sign_session, write

from voronka.core.models import User
from voronka.core.security.passwords import hash_password, session_auth_hash
from voronka.core.state import bump
from voronka.web.testkit import VoronkaClient

pytestmark = pytest.mark.voronka(plugins=["voronka_test_security"])

CSRF_MESSAGE = "The form has expired or did not come from this site"
UPLOAD = "/voronka_test_security/upload"
WEBHOOK = "/voronka_test_security/webhook"


def user_id(app: Any, username: str) -> int:
    with read(app) as session:
        return session.scalar(select(User.id).where(User.username == username))


def assert_logged_out(client: Any) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# -- CSRF -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "form field", "empty header", "other session's token"])
def test_a_forged_csrf_token_gets_a_friendly_403(app, client, how):
    client.login("sales")
    if how == "header":
        response = client.post("/me", data={"language": "uk", "timezone": "UTC"}, headers={"X-CSRF-Token": "x" * 32})
    elif how == "form field":
        response = client.post("/me", data={"language": "uk", "timezone": "UTC", "csrf_token": "forged"}, csrf=False)
    elif how == "empty header":
        response = client.post("/me", data={"language": "uk", "timezone": "UTC"}, headers={"X-CSRF-Token": ""})
    else:
        with VoronkaClient(app) as other:
            other.login("sales2")
            stolen = other.refresh_csrf()
        response = client.post("/me", data={"language": "uk", "timezone": "UTC"}, headers={"X-CSRF-Token": stolen})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert CSRF_MESSAGE in response.text and "Traceback" not in response.text
    assert 'href="/"' in response.text  # a way on from the error page
    with read(app) as session:
        assert session.scalar(select(User.language).where(User.username == "sales")) == "en", "nothing was saved"


def test_a_forged_csrf_token_answers_json_and_htmx_in_kind(client):
    client.login("sales")
    api = client.post("/me", headers={"X-CSRF-Token": "forged", "Accept": "application/json"})
    assert api.status_code == 403 and CSRF_MESSAGE in api.json()["error"]
    htmx = client.hx_post("/me", headers={"X-CSRF-Token": "forged"})
    assert htmx.status_code == 403 and CSRF_MESSAGE in htmx.text


def test_the_right_token_is_accepted(app, client):
    client.login("sales")
    response = client.post("/me", data={"language": "uk", "timezone": "UTC"})
    assert response.status_code == 200
    with read(app) as session:
        assert session.scalar(select(User.language).where(User.username == "sales")) == "uk"


# -- cookies --------------------------------------------------------------------------------------------


def bad_cookies(app: Any, good: str) -> dict[str, str]:
    admin = user_id(app, "admin")
    payload, _, signature = good.rpartition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return {
        "garbage": "not-a-session",
        "empty": "",
        "null": "null",
        "only dots": "...",
        "huge": "a" * 3800,
        "bad signature": f"{payload}.{flipped}",
        "payload swapped": sign_session({"uid": admin, "auth": "x"}).split(".")[0] + good[good.index(".") :],
        "other deployment's key": sign_session({"uid": admin, "auth": "x"}, secret="another-secret"),
        "expired": sign_session(
            {"uid": admin, "auth": session_auth_hash(_hash_of(app, "admin"))}, age_seconds=15 * 86400
        ),
        "wrong auth hash": sign_session({"uid": admin, "auth": "0" * 16}),
        "no auth hash": sign_session({"uid": admin}),
        "unknown user": sign_session({"uid": 987654, "auth": "0" * 16}),
        "uid as text": sign_session({"uid": str(admin), "auth": session_auth_hash(_hash_of(app, "admin"))}),
    }


def _hash_of(app: Any, username: str) -> str:
    with read(app) as session:
        return session.scalar(select(User.password_hash).where(User.username == username))


def _sign_raw(payload: bytes) -> str:
    from itsdangerous import TimestampSigner
    from voronka_test_security.helpers import TEST_SECRET

    return TimestampSigner(TEST_SECRET).sign(payload).decode()


def test_malformed_and_tampered_session_cookies_mean_logged_out(app, client):
    client.login("admin")
    good = client.cookies.get("voronka_session")
    assert good and is_logged_in(client)
    cases = bad_cookies(app, good)
    with VoronkaClient(app) as browser:
        for label, value in cases.items():
            browser.cookies.clear()
            browser.cookies.set("voronka_session", value)
            home = browser.get("/", follow_redirects=False)
            assert home.status_code == 303 and home.headers["location"].startswith("/login"), label
            login_page = browser.get("/login")
            assert login_page.status_code == 200, label
            if label in {"garbage", "bad signature", "expired", "wrong auth hash"}:
                assert attempt_login(browser, "sales").status_code == 303, f"{label}: cannot log in afresh"


def test_a_raw_malformed_cookie_header_is_not_a_500(app, client):
    for header in ['voronka_session="unterminated', "voronka_session", "=;=;;", "voronka_session=a=b=c; x=\x7f"]:
        response = client.get("/", headers={"Cookie": header}, follow_redirects=False)
        assert response.status_code == 303, header
    # bytes no HTTP client library would send: UTF-8 and invalid UTF-8 in the cookie header
    for raw in ["voronka_session=Олександр".encode(), b"voronka_session=\xff\xfe\x00; a=\xc3"]:
        status, _ = asyncio.run(_stream(app, "GET", "/", [], [(b"cookie", raw)]))
        assert status == 303, raw


def test_a_validly_signed_but_unreadable_session_is_not_a_500(app, client):
    """Only the server's key can sign it (a key shared with an older deployment, say): still no 500."""
    for payload in (b"!!not base64!!", b"bm90IGpzb24=", b"WzEsIDJd", b"ImEgc3RyaW5nIg=="):
        client.cookies.set("voronka_session", _sign_raw(payload))
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 303, payload
    for data in ({"uid": 10**30, "auth": "x"}, {"uid": True, "auth": "x"}, {"uid": -1}, {"uid": None}):
        client.cookies.set("voronka_session", sign_session(data))
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 303, data


def test_a_valid_cookie_still_works(client):
    client.login("manager")
    assert is_logged_in(client)


# -- sessions end when the account changes --------------------------------------------------------------


def test_a_password_change_logs_out_other_sessions_in_every_process(make_app):
    app1, app2 = make_app(), make_app()
    with VoronkaClient(app1) as first, VoronkaClient(app2) as second, VoronkaClient(app1) as bystander:
        first.login("sales")
        second.login("sales")
        bystander.login("sales2")
        with write(app1) as session:
            session.execute(
                update(User).where(User.username == "sales").values(password_hash=hash_password("a-new-password"))
            )
            bump(session, "security")
        assert_logged_out(first)
        assert_logged_out(second)
        assert is_logged_in(bystander)
        assert attempt_login(first, "sales").status_code == 400
        assert attempt_login(first, "sales", "a-new-password").status_code == 303
        assert is_logged_in(first)


def test_a_deactivated_user_is_logged_out(make_app):
    app1, app2 = make_app(), make_app()
    with VoronkaClient(app1) as first, VoronkaClient(app2) as second:
        first.login("operator")
        second.login("operator")
        with write(app2) as session:
            session.execute(update(User).where(User.username == "operator").values(active=False))
            bump(session, "security")
        assert_logged_out(first)
        assert_logged_out(second)
        assert attempt_login(first, "operator").status_code == 403


def test_a_deleted_user_is_logged_out(app, client):
    client.login("sales2")
    with write(app) as session:
        session.execute(delete(User).where(User.username == "sales2"))
        bump(session, "security")
    assert_logged_out(client)


# -- headers --------------------------------------------------------------------------------------------


def assert_security_headers(response: Any, where: str) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") in {"same-origin", "strict-origin-when-cross-origin", "no-referrer"}, where


def test_security_headers_on_every_kind_of_response(make_app):
    app = make_app(max_body_bytes=1024)
    with VoronkaClient(app) as client:

        def get(url: str, **kwargs: Any) -> Any:
            return client.get(url, follow_redirects=False, **kwargs)

        assert_security_headers(get("/login"), "login page")
        assert_security_headers(get("/"), "redirect to login")
        assert_security_headers(get("/health"), "health")
        assert_security_headers(get("/static/voronka.css"), "static file")
        assert_security_headers(get("/no-such-page"), "404")
        assert_security_headers(get("/", headers={"Accept": "application/json"}), "401 JSON")
        assert_security_headers(client.post("/login", data={"x": "y"}, csrf=False), "403")
        assert_security_headers(client.post("/login", content=b"x" * 4096), "413")
        client.login("sales")
        assert_security_headers(get("/"), "home")
        assert_security_headers(client.hx_get("/search?q=a"), "htmx fragment")
        assert_security_headers(get("/voronka_test_security/secret"), "403 permission")


async def _crash(request: Any) -> Any:
    raise RuntimeError("internal detail that must not reach the user")


def test_a_500_is_friendly_and_has_the_security_headers_too(app):
    """A crashing endpoint (appended for this test only: the route walk proves real routes never do this)."""
    app.router.routes.append(Route("/crash-for-test", _crash))
    with VoronkaClient(app) as client:
        client.login("sales")
        for headers in ({}, {"Accept": "application/json"}):
            response = client.get("/crash-for-test", headers=headers)
            assert response.status_code == 500
            assert "internal detail" not in response.text and "Traceback" not in response.text
            assert "Something went wrong on our side" in response.text
            assert_security_headers(response, f"500 {headers}")


def test_the_session_cookie_is_http_only_and_same_site(client):
    attempt = attempt_login(client, "sales")
    cookie = attempt.headers["set-cookie"].lower()
    assert "voronka_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_secure_cookies_and_hsts_when_configured(make_app):
    app = make_app(secure_cookies=True)
    with VoronkaClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert page.headers["strict-transport-security"].startswith("max-age=")


# -- body size ------------------------------------------------------------------------------------------

LIMIT = 2048


@pytest.fixture
def small_app(make_app):
    return make_app(max_body_bytes=LIMIT)


def test_an_oversized_body_by_content_length_is_413(small_app):
    with VoronkaClient(small_app) as client:
        response = client.post("/login", data={"username": "a", "password": "b" * (LIMIT * 2)})
        assert response.status_code == 413
        assert "larger than 2 KB" in response.text
        under = client.post("/login", data={"username": "a", "password": "b" * 100})
        assert under.status_code == 400  # a wrong password, read and answered


def test_an_oversized_chunked_body_without_content_length_is_413(small_app):
    with VoronkaClient(small_app) as client:

        def chunks(total: int):
            for _ in range(total // 256):
                yield b"z" * 256

        over = client.post(WEBHOOK, content=chunks(LIMIT * 4), csrf=False)
        assert "content-length" not in {k.lower() for k in over.request.headers}
        assert over.status_code == 413 and "larger than" in over.text
        under = client.post(WEBHOOK, content=chunks(LIMIT // 2), csrf=False)
        assert under.status_code == 200 and under.text == "webhook received"
        client.login("sales")
        logged_in = client.put(UPLOAD, content=chunks(LIMIT * 4))
        assert logged_in.status_code == 413


def test_an_oversized_body_streamed_in_many_messages_is_413(small_app):
    status, body = asyncio.run(_stream(small_app, "POST", WEBHOOK, [b"q" * 500] * 10))
    assert status == 413 and b"larger than" in body
    status, body = asyncio.run(_stream(small_app, "POST", WEBHOOK, [b"q" * 500] * 3))
    assert status == 200 and body == b"webhook received"


def test_a_content_length_that_is_not_a_number_is_400(small_app):
    status, body = asyncio.run(_stream(small_app, "POST", WEBHOOK, [b"abc"], [(b"content-length", b"lots")]))
    assert status == 400 and b"Content-Length" in body


async def _stream(app: Any, method: str, path: str, chunks: list[bytes], headers: list | None = None):
    """Drive the ASGI app directly: the body arrives in several messages, as from a real server."""
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [(b"transfer-encoding", b"chunked")])],
        "client": ("127.0.0.1", 5555), "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body
