"""Passwords and logging in: argon2 hashes, messages, throttling across processes and per address,
safe redirects after login, and logout behind CSRF."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urljoin, urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from voronka_test_security.helpers import attempt_login, is_logged_in, read, sign_session, write

from voronka.core.models import LoginAttempt, User
from voronka.core.security.passwords import needs_rehash, session_auth_hash, verify_password
from voronka.core.security.sessions import start_session
from voronka.core.security.throttle import LOGIN_LIMIT, LOGIN_WINDOW, login_keys
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.web.testkit import TEST_PASSWORD, VoronkaClient

WRONG = "The username or password is wrong."
LOCKED = "Too many failed attempts"


def user_row(app, username):
    with read(app) as session:
        return session.execute(select(User).where(User.username == username)).scalar_one()


# -- argon2 ---------------------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(app):
    stored = user_row(app, "sales").password_hash
    assert stored.startswith("$argon2id$")
    assert TEST_PASSWORD not in stored
    assert verify_password(stored, TEST_PASSWORD)
    assert not verify_password(stored, TEST_PASSWORD + "x")
    assert not needs_rehash(stored)
    # two users with the same password get different hashes (salted)
    assert stored != user_row(app, "sales2").password_hash


def test_verify_password_never_raises_on_bad_input():
    assert not verify_password("", "anything")  # unknown user: checked against a dummy hash
    assert not verify_password("not-a-hash", "anything")
    assert not verify_password("$argon2id$v=19$m=broken", "anything")
    assert needs_rehash("not-a-hash")


def test_a_weak_hash_is_upgraded_at_the_next_login(app, client):
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(TEST_PASSWORD)
    assert needs_rehash(weak)
    with write(app) as session:
        session.execute(update(User).where(User.username == "sales").values(password_hash=weak))
    response = attempt_login(client, "sales")
    assert response.status_code == 303
    stored = user_row(app, "sales").password_hash
    assert stored != weak and stored.startswith("$argon2id$") and not needs_rehash(stored)
    assert verify_password(stored, TEST_PASSWORD)
    assert is_logged_in(client)


def test_a_rehash_in_one_process_does_not_log_out_a_new_session_in_another(make_app):
    """Process 1 cached the user with the old hash; the login that rehashes runs in process 2."""
    app1, app2 = make_app(), make_app()
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(TEST_PASSWORD)
    with write(app1) as session:
        session.execute(update(User).where(User.username == "sales").values(password_hash=weak))
        bump(session, "security")
    uid = user_row(app1, "sales").id
    with VoronkaClient(app1) as old, VoronkaClient(app2) as other, VoronkaClient(app1) as fresh:
        # a session made before the upgrade: process 1 caches the user with the weak hash
        with write(app1) as session:
            sid = start_session(session, uid, 3600)
        cookie = {"uid": uid, "sid": sid, "auth": session_auth_hash(weak), "csrf": "t"}
        old.cookies.set("voronka_session", sign_session(cookie))
        assert is_logged_in(old)
        assert attempt_login(other, "sales").status_code == 303  # rehashes
        assert attempt_login(fresh, "sales").status_code == 303
        assert is_logged_in(fresh), "a new session in process 1 was refused because of a stale cached hash"


# -- logging in -----------------------------------------------------------------------------------------


def test_login_success_goes_to_next_and_sets_a_fresh_session(client):
    page = client.get("/login")
    before = client.cookies.get("voronka_session")
    token_before = client.refresh_csrf()
    response = attempt_login(client, "manager", next="/me")
    assert response.status_code == 303 and response.headers["location"] == "/me"
    assert client.cookies.get("voronka_session") != before
    assert client.refresh_csrf() != token_before, "the CSRF token must change at login"
    home = client.get("/")
    assert home.status_code == 200 and "Maksym Manager" in home.text
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("sales", "wrong-password"), ("nobody-here", TEST_PASSWORD), ("", ""), ("sales", ""), ("SALES", "wrong")],
)
def test_login_failure_says_the_same_for_every_cause(client, username, password):
    response = attempt_login(client, username, password)
    assert response.status_code == 400
    assert WRONG in response.text
    assert "Traceback" not in response.text
    assert not is_logged_in(client)


def test_an_inactive_user_cannot_log_in_and_learns_why_only_with_the_right_password(app, client):
    with write(app) as session:
        session.execute(update(User).where(User.username == "sales2").values(active=False))
        bump(session, "security")
    guess = attempt_login(client, "sales2", "not-the-password")
    assert guess.status_code == 400 and WRONG in guess.text  # a guesser learns nothing
    response = attempt_login(client, "sales2")
    assert response.status_code == 403 and "This account is deactivated" in response.text
    assert not is_logged_in(client)


def test_a_huge_username_or_password_is_a_plain_failure(client):
    response = attempt_login(client, "x" * 5000, "y" * 100_000)
    assert response.status_code == 400 and WRONG in response.text


def test_login_without_a_csrf_token_is_refused(client):
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": TEST_PASSWORD}, csrf=False)
    assert response.status_code == 403
    assert not is_logged_in(client)


# -- throttling -----------------------------------------------------------------------------------------


def test_failures_in_one_process_lock_the_account_in_another(make_app):
    app1, app2 = make_app(), make_app()
    with VoronkaClient(app1) as first, VoronkaClient(app2) as second:
        for _ in range(LOGIN_LIMIT):
            assert attempt_login(first, "sales", "wrong-password").status_code == 400
        locked = attempt_login(second, "sales")  # the right password, another process
        assert locked.status_code == 429
        assert LOCKED in locked.text and "15 minutes" in locked.text
        assert not is_logged_in(second)
        # another account from the same address is not locked by five failures
        assert attempt_login(second, "sales2").status_code == 303


def test_an_account_is_locked_from_every_address(app):
    with (
        VoronkaClient(app, client=("198.51.100.1", 4000)) as here,
        VoronkaClient(app, client=("198.51.100.2", 4000)) as there,
    ):
        for _ in range(LOGIN_LIMIT):
            attempt_login(here, "manager", "wrong-password")
        assert attempt_login(there, "manager").status_code == 429


def test_many_accounts_guessed_from_one_address_lock_that_address(app):
    with (
        VoronkaClient(app, client=("203.0.113.9", 5000)) as attacker,
        VoronkaClient(app, client=("203.0.113.10", 5000)) as colleague,
    ):
        ip_key = login_keys("", "203.0.113.9")[1]
        seeded = LOGIN_LIMIT * 3  # earlier failures from this address, each for another account
        with write(app) as session:
            for i in range(seeded):
                session.add_all([LoginAttempt(key=f"user:seeded{i}"), LoginAttempt(key=ip_key)])
        guesses = 0
        while True:
            response = attempt_login(attacker, f"guess{guesses}", "wrong-password")
            if response.status_code == 429:
                break
            assert response.status_code == 400
            guesses += 1
            assert guesses < 100, "the address was never locked"
        assert guesses >= 1, "one failure per account must not lock the address that fast"
        with read(app) as session:
            assert session.scalar(select(func.count()).where(LoginAttempt.key == ip_key)) == seeded + guesses
        blocked = attempt_login(attacker, "sales")  # right password, locked address
        assert blocked.status_code == 429 and LOCKED in blocked.text
        assert attempt_login(colleague, "sales").status_code == 303  # another address is fine


def test_old_failures_fall_out_of_the_window(app, client):
    old = utcnow() - LOGIN_WINDOW - dt.timedelta(minutes=1)
    with write(app) as session:
        for key in login_keys("sales", "testclient"):
            session.add_all([LoginAttempt(key=key, at=old) for _ in range(LOGIN_LIMIT * 5)])
    assert attempt_login(client, "sales").status_code == 303


def test_a_successful_login_clears_the_account_failures(client):
    for _ in range(LOGIN_LIMIT - 1):
        attempt_login(client, "sales", "wrong-password")
    assert attempt_login(client, "sales").status_code == 303
    client.post("/logout")
    for _ in range(LOGIN_LIMIT - 1):
        attempt_login(client, "sales", "wrong-password")
    assert attempt_login(client, "sales").status_code == 303


# -- redirects after login ------------------------------------------------------------------------------

EVIL_TARGETS = [
    "//evil.example",
    "//evil.example/login",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
]


def lands_on_this_site(location: str) -> bool:
    # browsers drop tabs and newlines and treat backslashes as slashes before resolving a Location
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/").strip()
    target = urlsplit(urljoin("http://testserver/login", cleaned))
    return target.scheme == "http" and target.netloc == "testserver"


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_next_never_leaves_the_site(client, target):
    response = attempt_login(client, "sales", next=target)
    assert response.status_code == 303
    assert lands_on_this_site(response.headers["location"]), response.headers["location"]
    # and when already logged in, GET /login?next=... is just as careful
    again = client.get("/login", params={"next": target}, follow_redirects=False)
    assert again.status_code == 303 and lands_on_this_site(again.headers["location"])


def test_the_login_redirect_keeps_a_same_site_next(client):
    first = client.get("/me?tab=prefs", follow_redirects=False)
    assert first.status_code == 303
    assert urlsplit(first.headers["location"]).path == "/login"
    response = attempt_login(client, "sales", next="/me?tab=prefs")
    assert response.headers["location"] == "/me?tab=prefs"


# -- logout ---------------------------------------------------------------------------------------------


def test_logout_needs_a_post_with_a_csrf_token(client):
    client.login("sales")
    assert client.get("/logout", follow_redirects=False).status_code == 405
    refused = client.post("/logout", csrf=False, follow_redirects=False)
    assert refused.status_code == 403
    assert is_logged_in(client)
    forged = client.post("/logout", headers={"X-CSRF-Token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and is_logged_in(client)
    done = client.post("/logout", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert not is_logged_in(client)


def test_logout_revokes_the_session_even_for_a_copied_cookie(make_app):
    """The cookie alone is not the session: after logout a copy of it logs nobody in, in any process."""
    app1, app2 = make_app(), make_app(state_poll_seconds=1.0)
    with VoronkaClient(app1) as browser, VoronkaClient(app2) as thief:
        browser.login("sales")
        copied = browser.cookies.get("voronka_session")
        thief.cookies.set("voronka_session", copied)
        assert is_logged_in(thief), "a copy of a live session cookie works (as any bearer token does)"
        assert browser.post("/logout", follow_redirects=False).status_code == 303
        deadline = time.monotonic() + 1.5
        while is_logged_in(thief) and time.monotonic() < deadline:
            time.sleep(0.1)
            thief.cookies.set("voronka_session", copied)
        thief.cookies.set("voronka_session", copied)
        assert not is_logged_in(thief), "the logged-out session still works in another process"
        with VoronkaClient(app1) as again:
            again.cookies.set("voronka_session", copied)
            assert not is_logged_in(again)
