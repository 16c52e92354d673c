"""Campaign pages: list, create, edit, archive, the page's figures, link and embeddable snippet."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from voronka.plugins.leads.models import Campaign

NEW = {"name": "Spring webinar", "channel": "leads.campaign", "tracking_code": "spring-2026", "starts_on": "2026-03-01",
       "ends_on": "2026-05-31", "cost": "12 500,50", "cost_currency": "uah", "active": "1",
       "form_title": "Join the webinar", "allowed_origins": "https://www.example.com/landing\nhttps://www.example.com",
       "thank_you_url": "", "description": "Two sessions"}  # fmt: skip


def campaign(app: Any, code: str) -> Campaign:
    with app.state.voronka.sessions() as session:
        found = session.scalar(select(Campaign).where(Campaign.tracking_code == code))
        session.expunge(found)
        return found


def test_a_manager_creates_a_campaign_and_sees_its_page(app, client):
    client.login("admin")
    form = client.get("/leads/campaigns/new")
    assert form.status_code == 200 and 'name="tracking_code"' in form.text
    created = client.post("/leads/campaigns/new", data=NEW)
    assert created.status_code == 200, created.text[:500]
    saved = campaign(app, "spring-2026")
    assert (saved.cost_minor, saved.cost_currency, saved.active) == (1_250_050, "UAH", True)
    assert saved.allowed_origins == "https://www.example.com"  # normalised, once
    page = client.get(f"/leads/campaigns/{saved.id}")
    assert "http://testserver/leads/form/spring-2026" in page.text
    assert "&lt;form action=&#34;http://testserver/leads/form/spring-2026&#34;" in page.text
    assert 'data-copy="#campaign-snippet"' in page.text
    listed = client.get("/leads/campaigns?show=all")
    assert "Spring webinar" in listed.text and "spring-2026" in listed.text


def test_bad_input_comes_back_next_to_its_field(app, client, leads):
    leads.campaign(code="taken")
    client.login("admin")
    bad = {**NEW, "name": "", "tracking_code": "taken", "ends_on": "2026-01-01", "cost": "-5", "channel": "x.y",
           "allowed_origins": "not a site", "thank_you_url": "javascript:alert(1)"}  # fmt: skip
    answer = client.post("/leads/campaigns/new", data=bad)
    assert answer.status_code == 400
    for message in ("Give the campaign a name", "Another campaign", "cannot end before", "positive amount",
                    "Choose a channel", "is not a web site address", "starting with https://"):  # fmt: skip
        assert message in answer.text, message
    assert 'value="taken"' in answer.text
    with app.state.voronka.sessions() as session:
        assert session.scalar(select(Campaign.id).where(Campaign.name == "")) is None


def test_editing_takes_effect_on_the_public_form_at_once_and_a_stale_form_is_409(app, client, leads):
    campaign_id = leads.campaign(code="spring", allowed_origins="https://www.example.com", form_title="Old")
    client.login("admin")
    assert client.get("/leads/form/spring").status_code == 200
    edit = client.get(f"/leads/campaigns/{campaign_id}/edit")
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    changed = {**NEW, "tracking_code": "spring", "form_title": "New title", "active": "", "version": version}
    assert client.post(f"/leads/campaigns/{campaign_id}/edit", data=changed).status_code == 200
    assert campaign(app, "spring").form_title == "New title"
    assert client.get("/leads/form/spring").status_code == 410  # inactive now
    stale = client.post(f"/leads/campaigns/{campaign_id}/edit", data={**changed, "form_title": "Again"})
    assert stale.status_code == 409 and campaign(app, "spring").form_title == "New title"


def test_archive_moves_it_to_the_recycle_bin_and_its_form_is_gone(app, client, leads):
    campaign_id = leads.campaign(code="spring")
    client.login("admin")
    answer = client.post(f"/leads/campaigns/{campaign_id}/archive")
    assert answer.status_code == 200 and "recycle bin" in answer.text
    assert campaign(app, "spring").deleted_at is not None
    assert client.get(f"/leads/campaigns/{campaign_id}").status_code == 404
    assert client.get("/leads/form/spring").status_code == 404


def test_figures_count_the_campaigns_leads_by_status(app, client, leads):
    campaign_id = leads.campaign(code="spring")
    for first in ("Ann", "Bo", "Cy"):
        leads.lead(first, campaign_id=campaign_id)
    leads.lead("Dee")  # no campaign
    client.login("sales")
    page = client.get(f"/leads/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert re.search(r'campaign-stat-n">3<', page.text)


def test_viewers_see_but_only_managers_change(app, client, leads):
    campaign_id = leads.campaign(code="spring")
    client.login("sales")
    assert client.get("/leads/campaigns").status_code == 200
    assert "/edit" not in client.get(f"/leads/campaigns/{campaign_id}").text
    assert client.get("/leads/campaigns/new").status_code == 403
    assert client.post("/leads/campaigns/new", data=NEW).status_code == 403
    assert client.post(f"/leads/campaigns/{campaign_id}/archive").status_code == 403
    assert client.get("/leads/campaigns/999999").status_code == 404
    assert client.get("/leads/campaigns/nope").status_code == 404
