"""The lead list (plugins/leads/lead_list.py, lead_queries.py): tabs and team queues under visibility,
filters and search by name/company/e-mail/phone prefix, keyset pages, bulk assign / disqualify / qualify,
CSV export, the home panel and the global search hook."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models import SettingValue
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.plugins.leads import lead_list
from voronka.plugins.leads.models import Lead, LeadOutcome

ROW = re.compile(r'<td class="lead-name"><a href="/leads/(\d+)">')


def shown(response: Any) -> list[int]:
    assert response.status_code == 200, response.text[:800]
    return [int(i) for i in ROW.findall(response.text)]


def set_setting(app: Any, key: str, value: Any) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        session.merge(SettingValue(plugin="leads", key=key, value=value, changed_at=utcnow()))
        bump(session, "settings")
    app.state.voronka.settings_store.invalidate()


@pytest.fixture
def some(leads: Any) -> dict[str, int]:
    queue = leads.team_id("Inbound sales")
    return {
        "olena": leads.lead("Olena", "Koval", company="Sonyakh", email="olena@example.com", phone="067 123 45 67"),
        "ivan": leads.lead("Ivan", "Petrenko", company="Acme", channel="leads.referral"),
        "closed": leads.lead("Closed", "Lead", status="disqualified", disqualify_reason="lost"),
        "theirs": leads.lead("Olga", "Other", owner="sales2"),
        "queued": leads.lead("Queued", "Caller", owner=None, owner_team_id=queue, phone="+380 44 111 2233"),
    }


def test_my_leads_open_by_default_newest_first(client: Any, some: dict[str, int]) -> None:
    client.login("sales")
    page = client.get("/leads/")
    assert shown(page) == [some["ivan"], some["olena"]]
    assert "2 leads" in page.text and "/leads/export.csv" in page.text and 'data-status="new"' in page.text
    assert shown(client.get("/leads/?status=disqualified")) == [some["closed"]]
    assert set(shown(client.get("/leads/?status=all"))) == {some["olena"], some["ivan"], some["closed"]}
    assert shown(client.get("/leads/?view=all")) == [some["ivan"], some["olena"]]  # sales sees only their own


def test_team_queue_tab_and_everyone_under_me(client: Any, some: dict[str, int]) -> None:
    client.login("operator")
    page = client.get("/leads/")
    assert "Inbound sales" in page.text and shown(page) == []
    queue_tab = re.search(r'href="(/leads/\?view=t%3A\d+)"', page.text)
    assert queue_tab is not None
    queued = client.get(queue_tab.group(1).replace("&amp;", "&"))
    assert shown(queued) == [some["queued"]] and "Take" in queued.text
    client.login("sales")
    assert "That queue is not one of yours" in client.get(queue_tab.group(1)).text
    client.login("manager")
    assert set(shown(client.get("/leads/?view=under"))) == {some["olena"], some["ivan"], some["theirs"]}


def test_filters_and_search_by_prefix(client: Any, some: dict[str, int], leads: Any) -> None:
    client.login("sales")
    assert shown(client.get("/leads/?q=olen")) == [some["olena"]]
    assert shown(client.get("/leads/?q=Коваль")) == []  # a surname is not a prefix of the name key
    assert shown(client.get("/leads/?q=acm")) == [some["ivan"]]
    assert shown(client.get("/leads/?q=olena@ex")) == [some["olena"]]
    assert shown(client.get("/leads/?q=067 123")) == [some["olena"]]
    assert shown(client.get("/leads/?q=%2B38067")) == [some["olena"]]
    assert shown(client.get("/leads/?channel=leads.referral")) == [some["ivan"]]
    campaign = leads.campaign()
    tagged = leads.lead("Camp", "Aign", campaign_id=campaign)
    assert shown(client.get(f"/leads/?campaign={campaign}")) == [tagged]
    assert shown(client.get("/leads/?period=today&sort=name")) == [tagged, some["ivan"], some["olena"]]
    junk = client.get("/leads/?status=maybe&view=t:abc&sort=colour&period=x&after=zzz&campaign=x&from=1")
    assert junk.status_code == 200 and "Unknown status" in junk.text and "out of date" in junk.text


def test_keyset_pages_never_repeat_or_skip(client: Any, leads: Any, app: Any) -> None:
    set_setting(app, "list_limit", 10)
    ids = [leads.lead(f"Name{i:02d}", "X") for i in range(23)]
    client.login("sales")
    seen: list[int] = []
    url = "/leads/?sort=name"
    while url:
        page = client.get(url)
        seen += shown(page)
        found = re.search(r'href="([^"]+)"[^>]*rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == ids
    newest: list[int] = []
    url = "/leads/"
    while url:
        page = client.get(url)
        newest += shown(page)
        found = re.search(r'href="([^"]+)"[^>]*rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert newest == list(reversed(ids))


def test_bulk_assign_and_disqualify_all_or_nothing(client: Any, some: dict[str, int], leads: Any) -> None:
    client.login("sales")
    ids = [some["olena"], some["ivan"]]
    bad = client.hx_post("/leads/bulk", data={"action": "disqualify", "reason": "whatever", "ids": ids})
    assert bad.status_code == 400 and "Choose why" in bad.text
    assert leads.get(Lead, some["olena"]).status == "new"
    assert client.hx_post("/leads/bulk", data={"action": "assign", "owner": "u:abc", "ids": ids}).status_code == 400
    assert client.hx_post("/leads/bulk", data={"action": "assign", "owner": "t:1", "ids": ["x"]}).status_code == 400
    assert client.hx_post("/leads/bulk", data={"action": "assign", "owner": "t:1"}).status_code == 400
    done = client.hx_post("/leads/bulk", data={"action": "disqualify", "reason": "cannot_contact", "note": "no answer",
                                               "ids": [*ids, some["closed"], some["theirs"]]})  # fmt: skip
    assert done.status_code == 200 and "2 leads updated" in done.text and "already closed" in done.text
    assert leads.get(Lead, some["olena"]).disqualify_reason == "cannot_contact"
    assert leads.get(Lead, some["theirs"]).status == "new"  # not visible to sales: untouched
    moved = client.hx_post("/leads/bulk", data={"action": "assign", "owner": f"u:{leads.uid('sales2')}",
                                                "ids": ids, "back": "status=all"})  # fmt: skip
    assert moved.status_code == 200 and "2 leads updated" in moved.text
    assert leads.get(Lead, some["ivan"]).owner_user_id == leads.uid("sales2")


def test_bulk_qualify_when_the_service_exists(client: Any, some: dict[str, int], leads: Any) -> None:
    client.login("sales")
    page = client.get("/leads/")
    if lead_list.qualify_service() is None:
        assert 'value="qualify"' not in page.text
        refused = client.hx_post("/leads/bulk", data={"action": "qualify", "ids": [some["olena"]]})
        assert refused.status_code == 400
        return
    assert 'value="qualify"' in page.text
    done = client.hx_post("/leads/bulk", data={"action": "qualify", "ids": [some["olena"], some["closed"]]})
    assert done.status_code == 200, done.text[:500]
    assert "1 lead updated" in done.text and "already closed" in done.text, done.text[:2000]
    assert leads.get(Lead, some["olena"]).status == "qualified"
    with leads.runtime.sessions() as session:
        became = session.scalars(select(LeadOutcome.kind).where(LeadOutcome.lead_id == some["olena"])).all()
    assert "person" in became


def test_export_is_the_filtered_list_under_visibility(client: Any, some: dict[str, int]) -> None:
    client.login("sales")
    exported = client.get("/leads/export.csv?status=all&bom=0")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert len(rows) == 4  # header + olena, ivan, closed; never sales2's
    assert "Olga" not in exported.text


def test_home_panel_and_global_search(client: Any, some: dict[str, int], leads: Any) -> None:
    client.login("operator")
    home = client.get("/")
    assert "New leads for me and my queues" in home.text and "Queued Caller" in home.text
    with leads.runtime.sessions() as session:
        hits = lead_list.search_hits(session, leads.viewer("sales"), "olen", 5)
        assert [h.url for h in hits] == [f"/leads/{some['olena']}"] and hits[0].kind == "Lead"
        assert lead_list.search_hits(session, leads.viewer("sales"), "olga", 5) == []
        assert lead_list.search_hits(session, leads.viewer("manager"), "olga", 5)[0].title == "Olga Other"
    search = client.get("/search?q=queued")
    assert search.status_code == 200 and f"/leads/{some['queued']}" in search.text


def walk(client: Any, url: str) -> list[int]:
    seen: list[int] = []
    while url:
        page = client.get(url)
        seen += shown(page)
        found = re.search(r'href="([^"]+)"[^>]*rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    return seen


def test_a_search_pages_in_match_order_and_open_leads_merge_two_statuses(client: Any, leads: Any, app: Any) -> None:
    set_setting(app, "list_limit", 10)
    named = [leads.lead(f"Olena{i:02d}", "X") for i in range(12)]
    firms = [leads.lead("Ivan", f"Y{i}", company=f"Olenka Foods {i:02d}") for i in range(5)]
    contacted = [leads.lead(f"Contacted{i:02d}", "Z", status="contacted") for i in range(8)]
    leads.lead("Other", "Person", company="Acme")
    client.login("sales")
    found = walk(client, "/leads/?q=olen")
    assert sorted(found) == sorted(named + firms) and len(found) == len(set(found))
    assert found[:12] == named  # "olena00…" sorts before the companies' "olenka…" keys
    everything = walk(client, "/leads/")
    assert len(everything) == 12 + 5 + 8 + 1 and len(set(everything)) == len(everything)
    assert everything == sorted(everything, reverse=True)  # created in id order: newest first across statuses
    assert set(contacted) <= set(everything)
    cleared = client.get("/leads/?q=&sort=match")
    assert cleared.status_code == 200
