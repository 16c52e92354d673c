"""The JSON capture endpoint: API keys and scopes, field errors, idempotency, status follow-up."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.security.api_keys import create_api_key, revoke_api_key
from voronka.plugins.leads.models import Lead
from voronka.web.testkit.client import VoronkaClient

URL = "/leads/api/leads"


@pytest.fixture
def api(app: Any) -> Any:
    with VoronkaClient(app, follow_redirects=False) as client:
        yield client


def make_key(app: Any, scopes: list[str], user: str | None = "admin") -> tuple[int, str]:
    with write_transaction(app.state.voronka.sessions) as session:
        from voronka.core.models import User

        uid = session.scalar(select(User.id).where(User.username == user)) if user else None
        key, secret = create_api_key(session, "Site", scopes, uid, known_scopes={"leads.capture", "other.scope"})
        return key.id, secret


def send(api: Any, secret: str | None, body: Any = None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    headers.update(kw.pop("headers", {}))
    return api.post(URL, json=body, headers=headers, csrf=False, **kw)


def count(app: Any) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(func.count()).select_from(Lead))


def test_a_lead_is_captured_and_followed_up(app, api, leads):
    _key, secret = make_key(app, ["leads.capture"])
    answer = send(api, secret, {"name": "Olena Koval", "email": "olena@example.org", "utm_source": "partner"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["created"] and body["status"] == "new" and body["channel"] == "leads.api"
    assert body["url"].endswith(f"/leads/{body['id']}")
    lead = leads.get(Lead, body["id"])
    assert lead.name == "Olena Koval" and lead.payload["utm_source"] == "partner"
    status = api.get(answer.headers["location"], headers={"Authorization": f"Bearer {secret}"})
    assert status.status_code == 200 and status.json()["status"] == "new"
    missing = api.get(f"{URL}/999999", headers={"Authorization": f"Bearer {secret}"})
    assert missing.status_code == 404 and missing.json()["error"]


def test_a_known_channel_and_a_campaign_code_are_applied(app, api, leads):
    campaign = leads.campaign(code="spring", channel="leads.campaign")
    _key, secret = make_key(app, ["leads.capture"])
    body = send(api, secret, {"name": "Ann", "channel": "leads.referral", "campaign": "spring"}).json()
    lead = leads.get(Lead, body["id"])
    assert (lead.channel, lead.campaign_id) == ("leads.referral", campaign)
    plain = leads.get(Lead, send(api, secret, {"name": "Bo", "campaign": "spring"}).json()["id"])
    assert plain.channel == "leads.campaign"
    bad = send(api, secret, {"name": "Cy", "channel": "nope.channel", "campaign": "winter"})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"channel", "campaign"}


def test_the_same_external_ref_returns_the_existing_lead(app, api):
    _key, secret = make_key(app, ["leads.capture"])
    first = send(api, secret, {"name": "Ann", "external_ref": "crm-17"})
    again = send(api, secret, {"name": "Ann again", "external_ref": "crm-17"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    other = send(api, secret, {"name": "Ann", "external_ref": "crm-17", "channel": "leads.referral"})
    assert other.status_code == 201 and count(app) == 2


def test_a_resend_with_a_campaign_and_a_numeric_reference_finds_the_first_lead(app, api, leads):
    leads.campaign(code="spring", channel="leads.campaign")
    _key, secret = make_key(app, ["leads.capture"])
    first = send(api, secret, {"name": "Ann", "external_ref": 17.5, "campaign": "spring"})
    again = send(api, secret, {"name": "Ann", "external_ref": 17.5, "campaign": "spring"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and count(app) == 1


def test_a_key_reads_back_only_the_leads_it_sent(app, api, leads):
    _key, secret = make_key(app, ["leads.capture"])
    _other, other_secret = make_key(app, ["leads.capture"])
    sent = send(api, secret, {"name": "Ann"}).json()["id"]
    typed = leads.lead()
    mine = api.get(f"{URL}/{sent}", headers={"Authorization": f"Bearer {secret}"})
    assert mine.status_code == 200
    for lead_id, key in ((sent, other_secret), (typed, secret)):
        assert api.get(f"{URL}/{lead_id}", headers={"Authorization": f"Bearer {key}"}).status_code == 404


def test_field_errors_are_json_400s(app, api):
    _key, secret = make_key(app, ["leads.capture"])
    bad = send(api, secret, {"first_name": "Ann", "email": "not-an-address"})
    assert bad.status_code == 400 and "email" in bad.json()["errors"]
    nothing = send(api, secret, {"message": "hi"})
    assert nothing.status_code == 400 and "name" in nothing.json()["error"]
    assert count(app) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"name=x", "application/x-www-form-urlencoded", 415),
        (b'{"name": "' + b"x" * 200_000 + b'"}', "application/json", 413),
        (b'{"name": "Ann", "blob": "' + b"x" * 70_000 + b'"}', "application/json", 400),
        (b'{"name": 5, "email": ["a"]}', "application/json", 400),
        (b"[" * 100_000, "application/json", 413),
        (b"[" * 50_000, "application/json", 400),
    ],
)
def test_junk_bodies_never_give_a_500(app, api, content, content_type, status):
    _key, secret = make_key(app, ["leads.capture"])
    answer = api.post(URL, content=content, csrf=False,
                      headers={"Authorization": f"Bearer {secret}", "Content-Type": content_type})  # fmt: skip
    assert answer.status_code == status, answer.text[:200]
    assert count(app) == 0


def test_missing_revoked_and_unscoped_keys(app, api):
    assert send(api, None, {"name": "Ann"}).status_code == 401
    assert send(api, "vk_nothing_here", {"name": "Ann"}).status_code == 401
    _other, unscoped = make_key(app, ["other.scope"])
    assert send(api, unscoped, {"name": "Ann"}).status_code == 403
    key_id, secret = make_key(app, ["leads.capture"])
    with write_transaction(app.state.voronka.sessions) as session:
        revoke_api_key(session, key_id)
    assert send(api, secret, {"name": "Ann"}).status_code == 401
    assert api.get(f"{URL}/1", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert count(app) == 0


def test_the_same_external_ref_sent_at_once_makes_one_lead(app):
    from concurrent.futures import ThreadPoolExecutor

    _key, secret = make_key(app, ["leads.capture"])

    def one(n: int) -> int:
        client = VoronkaClient(app, follow_redirects=False)  # no lifespan: no job runner per thread
        return send(client, secret, {"name": f"Ann {n}", "external_ref": "crm-99"}).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(one, range(4)))
    assert statuses == [200, 200, 200, 201] and count(app) == 1
