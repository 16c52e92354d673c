"""The board: columns per open stage with counts and totals in the base currency, cards, filters, the won and
lost zones, show more, quick create and quick edit."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select, update

from voronka.core.company import company_settings
from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.core.models import SettingValue, Team
from voronka.core.state import bump
from voronka.core.types import utcnow
from voronka.plugins.pipeline.models import Opportunity, Stage

CARD = re.compile(r'<article class="deal-card[^"]*" id="deal-(\d+)"')


def column(html: str, stage_id: int) -> str:
    """The HTML of one column (its header and cards), up to the next column."""
    start = html.index(f'id="col-head-{stage_id}"')
    end = html.find('<section class="board-col"', start)
    return html[start : end if end != -1 else len(html)]


def head(html: str, stage_id: int) -> str:
    start = html.index(f'id="col-head-{stage_id}"')
    return html[start : html.index("</header>", start)]


def cards_in(html: str, stage_id: int) -> list[int]:
    return [int(i) for i in CARD.findall(column(html, stage_id))]


def all_cards(html: str) -> set[int]:
    return {int(i) for i in CARD.findall(html)}


def board(client: Any, query: str = "") -> str:
    response = client.get("/pipeline/board" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.text[:800]
    return response.text


def set_setting(app: Any, key: str, value: Any) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        session.merge(SettingValue(plugin="pipeline", key=key, value=value, changed_at=utcnow()))
        bump(session, "settings")
    app.state.voronka.settings_store.invalidate()


def add_rate(app: Any, code: str, rate: str, on: dt.date = dt.date(2020, 1, 1)) -> None:
    with write_transaction(app.state.voronka.sessions) as session:
        set_rate(session, code, on, rate)


def test_board_shows_open_deals_by_stage_with_counts_and_totals(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    a = pipeline.deal("Laptops", amount_minor=1_000_000)
    b = pipeline.deal("Servers", amount_minor=500_000)
    c = pipeline.deal("Desks", amount_minor=250_000)
    pipeline.move(b, "Negotiation")
    pipeline.move(c, "Won")
    client.login("sales")
    page = board(client)
    assert cards_in(page, stages["Initial contact"]) == [a]
    assert cards_in(page, stages["Negotiation"]) == [b]
    assert c not in all_cards(page)  # closed deals are counted in the zones, not listed
    negotiation = head(page, stages["Negotiation"])
    assert '<span class="board-count" title="Deals">1</span>' in negotiation
    assert "UAH5,000" in negotiation and "weighted UAH2,500" in negotiation  # 50 % of 5,000.00
    assert f'id="zone-{stages["Won"]}"' in page and f'id="zone-{stages["Lost"]}"' in page
    won = page[page.index(f'id="zone-{stages["Won"]}"') :]
    assert '<strong class="board-count">1</strong>' in won[:800] and "UAH2,500" in won[:800]
    assert f'href="/pipeline/deals/{a}"' in page  # the full deal page
    assert 'data-move-url="/pipeline/board/move?pipeline=' in page
    assert "board.js" in page and "board.css" in page


def test_column_totals_convert_at_the_latest_rate_and_never_add_currencies(client: Any, pipeline: Any,
                                                                           app: Any) -> None:  # fmt: skip
    stages = pipeline.stages()
    pipeline.deal("In UAH", amount_minor=1_000_000)  # 10,000.00 UAH
    pipeline.deal("In EUR", amount_minor=10_000, amount_currency="EUR")  # 100.00 EUR
    add_rate(app, "EUR", "40")
    add_rate(app, "EUR", "45", dt.date.today() - dt.timedelta(days=1))  # the latest one counts
    add_rate(app, "EUR", "99", dt.date.today() + dt.timedelta(days=30))  # not yet valid
    client.login("sales")
    first = head(board(client), stages["Initial contact"])
    assert "UAH14,500" in first  # 10,000 + 100 × 45
    assert "weighted UAH1,450" in first  # 10 %
    pipeline.deal("In USD", amount_minor=10_000, amount_currency="USD")  # no USD rate stored
    missing = head(board(client), stages["Initial contact"])
    assert "No exchange rate for USD" in missing
    assert "UAH10,000" in missing and "€100" in missing and "$100" in missing  # each currency apart
    assert "UAH14,500" not in missing and "UAH14,600" not in missing


def test_a_card_shows_customer_owner_close_date_and_flags(client: Any, pipeline: Any, app: Any) -> None:
    stages = pipeline.stages()
    customer = pipeline.organisation("ТОВ «Ромашка»")
    today = dt.date.today()
    late = pipeline.deal("Late one", customer_id=customer, expected_close=today - dt.timedelta(days=3))
    fresh = pipeline.deal("On time", expected_close=today + dt.timedelta(days=30))
    with write_transaction(app.state.voronka.sessions) as session:
        session.execute(update(Stage).where(Stage.id == stages["Initial contact"]).values(expected_days=7))
        session.execute(update(Opportunity).where(Opportunity.id == late)
                        .values(stage_entered_at=utcnow() - dt.timedelta(days=12)))  # fmt: skip
    client.login("sales")
    page = board(client)
    late_card = page[page.index(f'id="deal-{late}"') - 80 : page.index(f'id="deal-{fresh}"')]
    assert "is-overdue" in late_card and "is-lingering" in late_card
    assert "ТОВ «Ромашка»" in late_card and f'href="/contacts/{customer}"' in late_card
    assert "12 days" in late_card and "(longer than expected)" in late_card
    assert ">SS</span>" in late_card  # Sofiia Sales
    fresh_card = page[page.index(f'id="deal-{fresh}"') - 80 :][:2500]
    assert "is-overdue" not in fresh_card.split("</article>")[0]
    assert cards_in(page, stages["Initial contact"]) == [late, fresh]  # soonest close first


def test_owner_filters_and_visibility(client: Any, pipeline: Any, app: Any) -> None:
    stages = pipeline.stages()
    mine = pipeline.deal("Mine")
    theirs = pipeline.deal("Theirs", owner="sales2")
    with pipeline.runtime.sessions() as session:
        sales_team = session.scalar(select(Team.id).where(Team.name == "Sales"))
        inbound = session.scalar(select(Team.id).where(Team.name == "Inbound sales"))
    queue = pipeline.deal("Team's", owner_user_id=None, owner_team_id=sales_team)
    inbound_deal = pipeline.deal("Inbound", owner="operator", owner_user_id=None, owner_team_id=inbound)
    bosses = pipeline.deal("Boss's", owner="manager")
    client.login("sales")
    assert all_cards(board(client)) == {mine, queue}  # mine: me and my teams' queues
    assert all_cards(board(client, f"owner=t:{sales_team}")) == {queue}
    assert all_cards(board(client, f"owner=u:{pipeline.uid('sales2')}")) == set()  # not visible to sales
    assert all_cards(board(client, "owner=all")) == {mine, queue}
    client.login("manager")
    assert all_cards(board(client)) == {bosses}
    assert all_cards(board(client, "owner=under")) == {mine, theirs, bosses}
    assert all_cards(board(client, f"owner=u:{pipeline.uid('sales2')}")) == {theirs}
    assert inbound_deal not in all_cards(board(client, "owner=all"))  # a queue the manager is not in
    page = board(client, "owner=u:999999")
    assert "That owner does not exist" in page and all_cards(page) == {bosses}
    client.login("admin")
    assert all_cards(board(client, "owner=all")) == {mine, theirs, queue, inbound_deal, bosses}
    assert all_cards(board(client, f"owner=t:{inbound}")) == {inbound_deal}
    assert stages  # the default pipeline


def test_close_period_and_name_filters(client: Any, pipeline: Any, app: Any) -> None:
    with pipeline.runtime.sessions() as session:
        today = company_settings(session).today()
    soon = pipeline.deal("Alpha soon", expected_close=today)
    later = pipeline.deal("Beta later", expected_close=today + dt.timedelta(days=400))
    overdue = pipeline.deal("Alpha overdue", expected_close=today - dt.timedelta(days=40))
    undated = pipeline.deal("Gamma undated")
    client.login("sales")
    assert all_cards(board(client)) == {soon, later, overdue, undated}
    assert all_cards(board(client, "period=this_month")) == {soon}
    assert all_cards(board(client, "period=overdue")) == {overdue}
    assert all_cards(board(client, "q=alp")) == {soon, overdue}
    assert all_cards(board(client, "q=ALPHA%20s")) == {soon}
    custom = f"period=custom&from={today.isoformat()}&to={(today + dt.timedelta(days=500)).isoformat()}"
    assert all_cards(board(client, custom)) == {soon, later}
    junk = board(client, "period=someday&from=x&status=weird&pipeline=abc")
    assert "Unknown period" in junk and "That pipeline does not exist" in junk
    assert all_cards(junk) == {soon, later, overdue, undated}
    fragment = client.hx_get("/pipeline/board?q=gam")
    assert fragment.status_code == 200 and "<html" not in fragment.text and all_cards(fragment.text) == {undated}


def test_zones_count_this_months_won_and_lost_at_the_close_date_rate(client: Any, pipeline: Any, app: Any) -> None:
    stages = pipeline.stages()
    add_rate(app, "EUR", "40", dt.date(2020, 1, 1))
    won = pipeline.deal("Won in EUR", amount_minor=10_000, amount_currency="EUR")
    lost = pipeline.deal("Lost one", amount_minor=70_000)
    pipeline.move(won, "Won")
    pipeline.move(lost, "Lost", lost_reason="Price")
    add_rate(app, "EUR", "50", dt.date.today() + dt.timedelta(days=1))  # after the close date: not used
    client.login("sales")
    page = board(client)
    won_zone = page[page.index(f'id="zone-{stages["Won"]}"') :][:900]
    lost_zone = page[page.index(f'id="zone-{stages["Lost"]}"') :][:900]
    assert "This month" in won_zone and "UAH4,000" in won_zone
    assert '<strong class="board-count">1</strong>' in lost_zone and "UAH700" in lost_zone
    next_month = board(client, "period=next_month")
    assert '<strong class="board-count">0</strong>' in next_month[next_month.index(f'id="zone-{stages["Won"]}"') :]


def test_a_column_shows_board_limit_cards_then_show_more(client: Any, pipeline: Any, app: Any) -> None:
    stages = pipeline.stages()
    set_setting(app, "board_limit", 10)
    today = dt.date.today()
    ids = [pipeline.deal(f"Deal {i:02}", expected_close=today + dt.timedelta(days=i)) for i in range(13)]
    client.login("sales")
    page = board(client)
    assert cards_in(page, stages["Initial contact"]) == ids[:10]
    assert '<span class="board-count" title="Deals">13</span>' in head(page, stages["Initial contact"])
    more = re.search(r'hx-get="(/pipeline/board/more\?[^"]+)"', page)
    assert more is not None
    rest = client.hx_get(more.group(1).replace("&amp;", "&"))
    assert rest.status_code == 200
    assert [int(i) for i in CARD.findall(rest.text)] == ids[10:] and "Show more" not in rest.text
    assert client.hx_get("/pipeline/board/more?stage=abc&offset=10").status_code == 400
    assert client.hx_get(f"/pipeline/board/more?stage={stages['Won']}&offset=0").status_code == 400
    assert client.hx_get(f"/pipeline/board/more?stage={stages['Qualified']}&offset=-1").status_code == 400


def test_several_pipelines_get_a_picker(client: Any, pipeline: Any, app: Any) -> None:
    from sqlalchemy import insert

    from voronka.plugins.pipeline.models import Pipeline

    with write_transaction(app.state.voronka.sessions) as session:
        other = session.execute(insert(Pipeline).values(name="Renewals", position=5).returning(Pipeline.id)).scalar()
        stage = session.execute(insert(Stage).values(pipeline_id=other, name="Talking", position=0, probability=30)
                                .returning(Stage.id)).scalar()  # fmt: skip
    deal = pipeline.deal("Renewal", pipeline_id=other)
    client.login("sales")
    page = board(client)
    assert "Renewals" in page and deal not in all_cards(page)
    renewals = board(client, f"pipeline={other}")
    assert cards_in(renewals, stage) == [deal]


def test_quick_create_adds_a_card_to_the_column(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    customer = pipeline.organisation("Acme Ltd")
    client.login("sales")
    form = client.hx_get(f"/pipeline/board/new?stage={stages['Qualified']}")
    assert form.status_code == 200 and 'name="customer_id_q"' in form.text and "<html" not in form.text
    assert client.get(f"/pipeline/board/new?stage={stages['Qualified']}").text.count("<html") == 1  # a page too
    response = client.hx_post("/pipeline/board/new", data={
        "stage": stages["Qualified"], "name": "  Quick   deal ", "customer_id": customer, "amount": "12 500,50",
        "currency": "eur", "expected_close": "2030-01-31"})  # fmt: skip
    assert response.status_code == 200, response.text[:500]
    assert f'hx-swap-oob="afterbegin:#cards-{stages["Qualified"]}"' in response.text
    with pipeline.runtime.sessions() as session:
        deal = session.scalars(select(Opportunity).where(Opportunity.name == "Quick deal")).one()
    assert (deal.stage_id, deal.amount_minor, deal.amount_currency, deal.customer_id, deal.owner_user_id,
            deal.expected_close, deal.probability) == (stages["Qualified"], 1_250_050, "EUR", customer,
                                                       pipeline.uid("sales"), dt.date(2030, 1, 31), 35)  # fmt: skip
    assert f'id="col-head-{stages["Qualified"]}" hx-swap-oob="true"' in response.text


def test_quick_create_refuses_bad_input_in_place(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    client.login("sales")
    bad = {"stage": stages["Qualified"], "name": "", "amount": "-5", "currency": "XXZ", "expected_close": "31.01.2030",
           "customer_id": "abc"}  # fmt: skip
    response = client.hx_post("/pipeline/board/new", data=bad)
    assert response.status_code == 400
    for text in ("Give the deal a name.", "XXZ is not a currency code", "Enter a date as YYYY-MM-DD.",
                 "Pick the customer from the list."):  # fmt: skip
        assert text in response.text, text
    assert (
        client.hx_post(
            "/pipeline/board/new",
            data={**bad, "name": "x", "currency": "UAH", "amount": "-5", "expected_close": "", "customer_id": ""},
        ).status_code
        == 400
    )
    gone = client.hx_post("/pipeline/board/new", data={"stage": stages["Qualified"], "name": "Ghost",
                                                       "customer_id": "2000000000"})  # fmt: skip
    assert gone.status_code == 400 and "no longer exists" in gone.text
    assert client.hx_post("/pipeline/board/new", data={"stage": stages["Won"], "name": "x"}).status_code == 400
    assert client.hx_post("/pipeline/board/new", data={"stage": "junk", "name": "x"}).status_code == 400
    with pipeline.runtime.sessions() as session:
        assert session.scalars(select(Opportunity.id)).all() == []


def test_quick_edit_of_a_card(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal("Edit me", amount_minor=100_000)
    client.login("sales")
    form = client.hx_get(f"/pipeline/board/cards/{deal}/edit")
    assert form.status_code == 200 and 'name="probability"' in form.text and 'value="1000.00"' in form.text
    assert "col-head" not in form.text  # opening the form changes no figures
    bad = client.hx_post(
        f"/pipeline/board/cards/{deal}",
        data={"version": 1, "amount": "abc", "expected_close": "2030-13-01", "probability": "101"},
    )
    assert bad.status_code == 400
    assert "Enter the amount as a number" in bad.text and "a percentage from 0 to 100" in bad.text
    assert pipeline.get(Opportunity, deal).version == 1
    ok = client.hx_post(
        f"/pipeline/board/cards/{deal}",
        data={"version": 1, "amount": "2500.5", "expected_close": "2030-02-01", "probability": "60"},
    )
    assert ok.status_code == 200, ok.text[:500]
    saved = pipeline.get(Opportunity, deal)
    assert (saved.amount_minor, saved.expected_close, saved.probability, saved.probability_manual) == (
        250_050, dt.date(2030, 2, 1), 60, True)  # fmt: skip
    assert f'id="col-head-{stages["Initial contact"]}" hx-swap-oob="true"' in ok.text
    stale = client.hx_post(f"/pipeline/board/cards/{deal}", data={"version": 1, "amount": "1", "probability": "5"})
    assert stale.status_code == 409 and "Someone else saved this deal" in stale.text
    assert pipeline.get(Opportunity, deal).amount_minor == 250_050
    back = client.hx_get(f"/pipeline/board/cards/{deal}")
    assert back.status_code == 200 and 'class="deal-card' in back.text and "deal-edit-form" not in back.text
    assert client.hx_get("/pipeline/board/cards/2000000000/edit").status_code == 404
    hidden = pipeline.deal("Theirs", owner="sales2")
    assert client.hx_post(f"/pipeline/board/cards/{hidden}", data={"version": 1, "probability": "5"}).status_code == 404


def test_the_board_without_deals_says_what_to_do(client: Any, pipeline: Any) -> None:
    client.login("sales")
    page = board(client)
    assert "No open deals yet" in page and "/pipeline/deals/new" in page
    assert "No open deals match these filters" in board(client, "q=zzz")


def test_my_deals_and_my_queues_make_one_board_in_close_date_order(client: Any, pipeline: Any, app: Any) -> None:
    """My deals ("mine") read my deals and my teams' queues as two parts (one owner index each): a deal owned by me and
    a queue counts once, the queue's cards sort among mine by close date, the sums and the zones add both."""
    stage = pipeline.stages()["Qualified"]
    with pipeline.runtime.sessions() as session:
        sales_team = session.scalar(select(Team.id).where(Team.name == "Sales"))
    today = dt.date.today()
    late = pipeline.deal("Late", stage_id=stage, expected_close=today + dt.timedelta(days=60))
    both = pipeline.deal("Both", stage_id=stage, owner_team_id=sales_team, expected_close=today + dt.timedelta(days=30))
    queue = pipeline.deal("Queue", stage_id=stage, owner_user_id=None, owner_team_id=sales_team,
                          expected_close=today + dt.timedelta(days=10))  # fmt: skip
    undated = pipeline.deal("Undated", stage_id=stage, owner_user_id=None, owner_team_id=sales_team)
    won = pipeline.deal("Won by the queue", owner_user_id=None, owner_team_id=sales_team)
    pipeline.move(won, "Won")
    client.login("sales")
    html = board(client)
    assert cards_in(html, stage) == [queue, both, late, undated]
    assert '<span class="board-count" title="Deals">4</span>' in head(html, stage)
    assert "UAH4,000" in head(html, stage) and "UAH1,400" in head(html, stage)  # 4 × 1,000.00 once each, 35 %
    zone = html[html.index('id="zone-') : html.index('class="board"')]
    assert '<strong class="board-count">1</strong>' in zone
