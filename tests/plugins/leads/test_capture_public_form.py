"""The public web-to-lead form: rendering, submitting, and junk that must never give a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.models import SettingValue
from voronka.plugins.leads.models import Lead
from voronka.web.testkit.client import VoronkaClient

SITE = "https://www.example.com"
GOOD = {"first_name": "Olena", "last_name": "Koval", "email": "olena@example.org", "message": "40 seats",
        "consent": "1", "utm_source": "google"}  # fmt: skip


@pytest.fixture
def anon(app: Any) -> Any:
    with VoronkaClient(app, follow_redirects=False) as client:
        yield client


def count(app: Any) -> int:
    with app.state.voronka.sessions() as session:
        return session.scalar(select(func.count()).select_from(Lead))


def post(anon: Any, code: str = "spring", data: Any = None, origin: str | None = SITE, **kw: Any) -> Any:
    headers = dict(kw.pop("headers", {}))
    if origin is not None:
        headers["Origin"] = origin
    return anon.post(f"/leads/form/{code}", data=GOOD if data is None else data, headers=headers, csrf=False, **kw)


@pytest.fixture
def spring(leads: Any) -> int:
    return leads.campaign(code="spring", channel="leads.web_form", form_title="Ask for a quote",
                          allowed_origins=SITE)  # fmt: skip


def test_the_form_page_is_standalone_public_and_sets_no_cookie(anon, spring):
    page = anon.get("/leads/form/spring?utm_source=news&utm_campaign=spring")
    assert page.status_code == 200
    assert "Ask for a quote" in page.text and 'name="homepage"' in page.text
    assert 'value="news"' in page.text and "sidebar" not in page.text
    assert "set-cookie" not in page.headers
    assert "form-action 'self'" in page.headers["content-security-policy"]


def test_a_submission_from_an_allowed_site_makes_a_lead_and_redirects(app, anon, spring, leads):
    answer = post(anon)
    assert answer.status_code == 303 and answer.headers["location"] == "/leads/form/spring/thanks"
    with app.state.voronka.sessions() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.channel, lead.campaign_id) == ("Olena Koval", "leads.web_form", spring)
        assert lead.utm_source == "google" and lead.marketing_consent and lead.consent_text
        assert lead.payload["fields"]["email"] == "olena@example.org" and lead.payload["origin"] == SITE
    assert anon.get("/leads/form/spring/thanks").status_code == 200


def test_own_origin_multipart_and_the_thank_you_url(app, anon, leads):
    leads.campaign(code="autumn", thank_you_url="https://www.example.com/thanks")
    files = {k: (None, v) for k, v in GOOD.items()}
    answer = post(anon, "autumn", origin=None, files=files, headers={"Referer": "http://testserver/leads/form/autumn"})
    assert answer.status_code == 303 and answer.headers["location"] == "https://www.example.com/thanks"
    assert count(app) == 1


def test_a_visitor_cannot_set_the_consent_record_or_an_external_reference(app, anon, spring, leads):
    form = {"first_name": "Ira", "email": "ira@example.org", "consent": "1", "Consent-Text": "I agreed to nothing",
            "consent_at": "2001-01-01T00:00:00+00:00", "external_id": "crm-1"}  # fmt: skip
    answer = post(anon, data=form)
    assert answer.status_code == 303, answer.text
    with app.state.voronka.sessions() as session:
        lead = session.scalar(select(Lead).where(Lead.email == "ira@example.org"))
    assert lead.marketing_consent and lead.consent_at.year > 2001
    assert "nothing" not in lead.consent_text and lead.external_ref == ""


def test_a_filled_honeypot_is_thanked_and_dropped(app, anon, spring):
    answer = post(anon, data={**GOOD, "homepage": "http://spam.example"})
    assert answer.status_code == 303 and count(app) == 0


@pytest.mark.parametrize("origin", ["https://evil.example", None, "null", "https://www.example.com.evil.example"])
def test_a_wrong_or_missing_origin_is_403(app, anon, spring, origin):
    answer = post(anon, origin=origin)
    assert answer.status_code == 403 and "web site it belongs to" in answer.text
    assert count(app) == 0


def test_missing_data_is_a_400_page_that_keeps_the_input(app, anon, spring):
    answer = post(anon, data={"first_name": "Olena", "message": "call me <b>now</b>"})
    assert answer.status_code == 400
    assert "e-mail address or a phone number" in answer.text
    assert 'value="Olena"' in answer.text and "call me &lt;b&gt;now&lt;/b&gt;" in answer.text
    bad = post(anon, data={"first_name": "Olena", "email": "nope"})
    assert bad.status_code == 400 and 'value="nope"' in bad.text and count(app) == 0


def test_unknown_codes_and_closed_campaigns(app, anon, leads, spring):
    assert anon.get("/leads/form/nope").status_code == 404
    assert post(anon, "nope").status_code == 404
    leads.campaign(code="off", active=False, allowed_origins=SITE)
    leads.campaign(code="over", ends_on=dt.date.today() - dt.timedelta(days=1), allowed_origins=SITE)
    leads.campaign(code="later", starts_on=dt.date.today() + dt.timedelta(days=3), allowed_origins=SITE)
    for code in ("off", "over", "later"):
        assert anon.get(f"/leads/form/{code}").status_code == 410
        assert post(anon, code).status_code == 410
    assert count(app) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"first_name": "x"}', "application/json", 415),
        (b"first_name=x", "text/plain", 415),
        (b"", "", 415),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400),
        (
            b'--x\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhi\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
            400,
        ),
        (b"first_name=%ff%fe&email=%00%00", "application/x-www-form-urlencoded", 400),
        (b"a=" + b"x" * 200_000, "application/x-www-form-urlencoded", 413),
        (b"&".join(b"f%d=1" % i for i in range(500)), "application/x-www-form-urlencoded", 400),
        (b"first_name=" + b"A" * 60_000 + b"&email=a@example.com", "application/x-www-form-urlencoded", 400),
    ],
)
def test_junk_never_gives_a_500(app, anon, spring, body, content_type, status):
    headers = {"Origin": SITE}
    if content_type:
        headers["Content-Type"] = content_type
    answer = anon.post("/leads/form/spring", content=body, headers=headers, csrf=False)
    assert answer.status_code == status, answer.text[:300]
    assert count(app) == 0


def test_the_form_rate_setting_limits_one_address(app, anon, spring):
    with write_transaction(app.state.voronka.sessions) as session:
        session.add(SettingValue(plugin="leads", key="form_rate", value=2, changed_at=dt.datetime.now(dt.UTC)))
    app.state.voronka.settings_store.invalidate()
    assert [post(anon).status_code for _ in range(3)] == [303, 303, 429]
    assert post(anon, data={**GOOD, "homepage": "x"}).status_code == 429  # a spam burst is refused too
    assert post(anon, data={"first_name": "x"}).status_code == 429
    assert count(app) == 2
    other = VoronkaClient(app, follow_redirects=False, client=("127.0.3.4", 5000))
    assert post(other).status_code == 303  # another address has its own count


def test_the_embed_snippet_is_a_plain_form_with_the_honeypot(app, spring):
    from voronka.plugins.leads import public_form
    from voronka.plugins.leads.models import Campaign

    with app.state.voronka.sessions() as session:
        snippet = public_form.embed_snippet("https://crm.example.com/leads/form/spring", session.get(Campaign, spring))
    assert snippet.startswith('<form action="https://crm.example.com/leads/form/spring" method="post"')
    assert 'name="homepage"' in snippet and "<script" not in snippet and 'name="email"' in snippet
