"""The deal list: the board's filters plus status, every sortable column (money compared in the base
currency), capped pages, CSV export under visibility, empty states, and the global search hook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from sqlalchemy import update

from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.core.models import SettingValue
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.plugins.pipeline import deal_list
from voronka.plugins.pipeline.models import Opportunity

ROW = re.compile(r'<td class="deal-name"><a href="/pipeline/deals/(\d+)">')


def shown(response: Any) -> list[int]:
    assert response.status_code == 200, response.text[:800]
    return [int(i) for i in ROW.findall(response.text)]


def set_list_limit(app: Any, limit: int) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        session.merge(SettingValue(plugin="pipeline", key="list_limit", value=limit, changed_at=utcnow()))
        bump(session, "settings")
    app.state.voronka.settings_store.invalidate()


@pytest.fixture
def deals(pipeline: Any, app: Any) -> dict[str, int]:
    """Four deals of "sales" in three currencies and stages, one lost, and one of "sales2"."""
    with write_transaction(app.state.voronka.sessions) as session:
        set_rate(session, "EUR", dt.date(2020, 1, 1), "45")
    acme = pipeline.organisation("Acme")
    zenit = pipeline.organisation("Zenit")
    today = dt.date.today()
    ids = {
        "uah": pipeline.deal("Bravo", amount_minor=1_000_000, customer_id=zenit, expected_close=today),  # 10,000 UAH
        "eur": pipeline.deal("Alpha", amount_minor=100_000, amount_currency="EUR", customer_id=acme,
                             expected_close=today + dt.timedelta(days=10)),  # 1,000 EUR = 45,000 UAH
        "small": pipeline.deal("Charlie", amount_minor=50_000, expected_close=today - dt.timedelta(days=5)),
        "lost": pipeline.deal("Delta", amount_minor=70_000),
        "theirs": pipeline.deal("Alpha of sales2", owner="sales2"),
    }  # fmt: skip
    pipeline.move(ids["uah"], "Negotiation")
    pipeline.move(ids["lost"], "Lost", lost_reason="Price")
    return ids


def test_the_list_shows_open_visible_deals_by_close_date(client: Any, deals: dict[str, int]) -> None:
    client.login("sales")
    page = client.get("/pipeline/deals")
    assert shown(page) == [deals["small"], deals["uah"], deals["eur"]]
    text = page.text
    assert "3 deals" in text and 'class="num money"' in text and "list.css" in text
    assert "€1,000.00" in text and "UAH10,000.00" in text
    assert 'class="is-overdue"' in text  # Charlie closes five days late
    assert 'aria-sort="ascending"' in text and "/pipeline/deals/export.csv" in text
    assert 'data-outcome="open"' in text and "Negotiation" in text


def test_status_owner_period_and_name_filters(client: Any, deals: dict[str, int], pipeline: Any) -> None:
    client.login("sales")
    assert shown(client.get("/pipeline/deals?status=lost")) == [deals["lost"]]
    assert set(shown(client.get("/pipeline/deals?status=all"))) == {deals[k] for k in ("uah", "eur", "small", "lost")}
    assert shown(client.get("/pipeline/deals?q=alp")) == [deals["eur"]]  # not sales2's Alpha
    assert shown(client.get("/pipeline/deals?period=overdue")) == [deals["small"]]
    client.login("manager")
    assert set(shown(client.get("/pipeline/deals?owner=under&q=alp"))) == {deals["eur"], deals["theirs"]}
    junk = client.get("/pipeline/deals?status=maybe&sort=colour&page=x&owner=u:abc")
    assert junk.status_code == 200
    for text in ("Unknown status", "Unknown sort", "Unknown page", "That owner does not exist"):
        assert text in junk.text, text
    fragment = client.hx_get("/pipeline/deals?status=all&owner=under")
    assert fragment.status_code == 200 and "<html" not in fragment.text and len(shown(fragment)) == 5


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["eur", "uah", "small"]),
        ("-name", ["small", "uah", "eur"]),
        ("amount", ["small", "uah", "eur"]),  # 500 UAH < 10,000 UAH < 1,000 EUR (45,000 UAH)
        ("-amount", ["eur", "uah", "small"]),
        ("weighted", ["small", "eur", "uah"]),  # in UAH: 50 < 4,500 (1,000 EUR × 45 × 10 %) < 5,000
        ("customer", ["eur", "uah", "small"]),  # Acme, Zenit, then none
        ("-customer", ["uah", "eur", "small"]),
        ("stage", ["eur", "small", "uah"]),  # Initial contact (by id), then Negotiation
        ("probability", ["eur", "small", "uah"]),
        ("-close", ["eur", "uah", "small"]),
        ("owner", ["uah", "eur", "small"]),  # one owner: by id
        ("updated", ["eur", "small", "uah"]),
    ],
)  # fmt: skip
def test_every_column_sorts(client: Any, deals: dict[str, int], sort: str, expected: list[str]) -> None:
    client.login("sales")
    assert shown(client.get(f"/pipeline/deals?sort={sort}")) == [deals[k] for k in expected]


def test_amounts_without_a_rate_sort_last(client: Any, deals: dict[str, int], pipeline: Any) -> None:
    usd = pipeline.deal("Echo", amount_minor=1, amount_currency="USD")
    client.login("sales")
    assert shown(client.get("/pipeline/deals?sort=amount"))[-1] == usd
    assert shown(client.get("/pipeline/deals?sort=-amount"))[-1] == usd


def test_pages_and_their_cap(client: Any, pipeline: Any, app: Any) -> None:
    set_list_limit(app, 10)
    ids = [pipeline.deal(f"Deal {i:02}") for i in range(23)]
    client.login("sales")
    first = client.get("/pipeline/deals?sort=name")
    assert shown(first) == ids[:10] and "23 deals" in first.text and "page=2" in first.text
    assert shown(client.get("/pipeline/deals?sort=name&page=3")) == ids[20:]
    past = client.get("/pipeline/deals?sort=name&page=50")
    assert shown(past) == [] and "No more deals." in past.text
    capped = client.get("/pipeline/deals?page=5000")
    assert capped.status_code == 200 and "Lists stop after" in capped.text
    assert client.get("/pipeline/deals?page=99999999999").status_code == 200


def test_count_stops_at_the_cap(client: Any, pipeline: Any, app: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(deal_list, "COUNT_CAP", 3)
    for i in range(5):
        pipeline.deal(f"Deal {i}")
    client.login("sales")
    assert "More than" in client.get("/pipeline/deals").text


def test_csv_export_has_the_filtered_visible_deals(client: Any, deals: dict[str, int]) -> None:
    client.login("sales")
    response = client.get("/pipeline/deals/export.csv?status=all&bom=0")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {int(r["id"]) for r in rows} == {deals[k] for k in ("uah", "eur", "small", "lost")}
    assert {r["name"] for r in rows} >= {"Alpha", "Bravo"}
    only = list(csv.DictReader(io.StringIO(client.get("/pipeline/deals/export.csv?q=alp&bom=0").text)))
    assert [int(r["id"]) for r in only] == [deals["eur"]]


def test_empty_states_say_what_to_do(client: Any, pipeline: Any) -> None:
    client.login("sales")
    page = client.get("/pipeline/deals")
    assert "You have no open deals yet." in page.text and "/pipeline/deals/new" in page.text
    assert "No deal name starts with “zz”" in client.get("/pipeline/deals?q=zz").text
    assert "No deals match these filters." in client.get("/pipeline/deals?status=won").text


def test_search_hits_find_visible_deals_by_name_prefix(pipeline: Any, deals: dict[str, int]) -> None:
    with pipeline.runtime.sessions() as session:
        hits = deal_list.search_hits(session, pipeline.viewer("sales"), "alp", 10)
        assert [h.url for h in hits] == [f"/pipeline/deals/{deals['eur']}"]
        assert hits[0].kind == "Deal" and "Acme" in hits[0].subtitle and "€1,000.00" in hits[0].subtitle
        theirs = deal_list.search_hits(session, pipeline.viewer("manager"), "ALPHA", 10)
        assert {h.title for h in theirs} == {"Alpha", "Alpha of sales2"}
        assert len(deal_list.search_hits(session, pipeline.viewer("manager"), "alpha", 1)) == 1
        assert deal_list.search_hits(session, pipeline.viewer("sales"), "   ", 10) == []
        assert deal_list.search_hits(session, pipeline.viewer("sales"), "alp", 0) == []
    with write_transaction(pipeline.runtime.sessions) as session:
        session.execute(update(Opportunity).where(Opportunity.id == deals["eur"]).values(deleted_at=utcnow()))
    with pipeline.runtime.sessions() as session:
        assert deal_list.search_hits(session, pipeline.viewer("sales"), "alp", 10) == []


def test_global_search_lists_deals(client: Any, deals: dict[str, int]) -> None:
    client.login("sales")
    response = client.get("/search?q=Bra")
    assert response.status_code == 200 and f"/pipeline/deals/{deals['uah']}" in response.text


def test_closed_deals_sort_by_the_day_they_closed(client: Any, pipeline: Any) -> None:
    today = dt.date.today()
    early = pipeline.deal("Early", expected_close=today - dt.timedelta(days=3))
    late = pipeline.deal("Late", expected_close=today + dt.timedelta(days=3))
    closed = pipeline.deal("Closed", expected_close=today + dt.timedelta(days=100))
    pipeline.move(closed, "Won")  # closed today: between the two, not after them
    client.login("sales")
    assert shown(client.get("/pipeline/deals?status=all")) == [early, closed, late]
    assert shown(client.get("/pipeline/deals?status=won&sort=-close")) == [closed]
