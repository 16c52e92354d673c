"""Orders: made from accepted quotes (one transaction, at most one per quote), their status, marking the
deal won, and the customer's sales history per currency under visibility."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.models_records import AuditEntry
from voronka.plugins.pipeline import orders, quotes
from voronka.plugins.pipeline.models import Opportunity, Order, OrderLine, Quote


def _accepted(pipeline: Any, customer: int, currency: str, lines: list[quotes.LineInput], *, owner: str = "sales",
              deal_id: int | None = None) -> int:  # fmt: skip
    """A quote written, sent and accepted through the quote service; returns the order's id."""
    kinds, actor = pipeline.runtime.record_kinds, pipeline.uid(owner)
    with write_transaction(pipeline.runtime.sessions) as session:
        quote = quotes.create_quote(session, kinds["quote"], actor=actor, customer_id=customer, currency=currency,
                                    owner={"owner_user_id": actor}, opportunity_id=deal_id, lines=lines)  # fmt: skip
        quote_id = quote.id
    with write_transaction(pipeline.runtime.sessions) as session:
        quotes.send(session, kinds["quote"], quote_id, actor=actor)
    with write_transaction(pipeline.runtime.sessions) as session:
        return quotes.accept(session, kinds, quote_id, actor=actor).id


LINE = quotes.LineInput(None, "Licence", 2000, 50_000, 0, 2000)  # 2 × 500.00 + 20 % = 1200.00


def test_accepting_copies_the_lines_and_numbers_the_order(pipeline: Any) -> None:
    customer = pipeline.organisation("ТОВ «Колос»")
    order_id = _accepted(pipeline, customer, "UAH", [LINE, quotes.LineInput(None, "Setup", 1000, 10_000, 0, 0)])
    order = pipeline.get(Order, order_id)
    assert order.number.startswith("SO-") and order.number.endswith("-00001") and order.status == "open"
    assert (order.currency, order.total_minor, order.tax_minor) == ("UAH", 130_000, 20_000)
    with pipeline.runtime.sessions() as session:
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.position))
        assert [(x.description, x.total_minor) for x in lines] == [("Licence", 120_000), ("Setup", 10_000)]
        quote = session.get(Quote, order.quote_id)
        assert quote.status == "accepted"
        created = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.kind == "order", AuditEntry.record_id == order_id))  # fmt: skip
        assert created == 1
    with write_transaction(pipeline.runtime.sessions) as session, pytest.raises(ValidationError):
        quotes.accept(session, pipeline.runtime.record_kinds, order.quote_id, actor=pipeline.uid("sales"))
    with pipeline.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_failed_accept_leaves_the_quote_sent_and_takes_no_order_number(pipeline: Any) -> None:
    """The order and the quote's status are one transaction: a refusal half way leaves both as they were."""
    customer = pipeline.organisation("ФОП Петренко")
    kinds, actor = pipeline.runtime.record_kinds, pipeline.uid("sales")
    with write_transaction(pipeline.runtime.sessions) as session:
        quote_id = quotes.create_quote(session, kinds["quote"], actor=actor, customer_id=customer, currency="EUR",
                                       owner={"owner_user_id": actor}, lines=[LINE]).id  # fmt: skip
    with write_transaction(pipeline.runtime.sessions) as session:
        quotes.send(session, kinds["quote"], quote_id, actor=actor)
    with pytest.raises(RuntimeError), write_transaction(pipeline.runtime.sessions) as session:
        quotes.accept(session, kinds, quote_id, actor=actor)
        raise RuntimeError("the server died after the order was written")
    assert pipeline.get(Quote, quote_id).status == "sent"
    order_id = _accepted_existing(pipeline, quote_id)
    assert pipeline.get(Order, order_id).number.endswith("-00001")


def _accepted_existing(pipeline: Any, quote_id: int) -> int:
    with write_transaction(pipeline.runtime.sessions) as session:
        return quotes.accept(session, pipeline.runtime.record_kinds, quote_id, actor=pipeline.uid("sales")).id


def test_order_status_moves_and_bad_moves(client: Any, pipeline: Any) -> None:
    customer = pipeline.organisation("ТОВ «Колос»")
    order_id = _accepted(pipeline, customer, "UAH", [LINE])
    client.login("sales")
    page = client.get(f"/pipeline/orders/{order_id}")
    assert page.status_code == 200 and "Licence" in page.text
    done = client.post(f"/pipeline/orders/{order_id}/status", data={"status": "fulfilled", "version": "1"})
    assert done.status_code == 200 and pipeline.get(Order, order_id).status == "fulfilled"
    again = client.post(f"/pipeline/orders/{order_id}/status", data={"status": "cancelled", "version": "2"})
    assert again.status_code == 409 and pipeline.get(Order, order_id).status == "fulfilled"
    junk = client.post(f"/pipeline/orders/{order_id}/status", data={"status": "shipped", "version": "2"})
    assert junk.status_code == 400
    stale = client.post(f"/pipeline/orders/{order_id}/status", data={"status": "open", "version": "1"})
    assert stale.status_code == 409 and pipeline.get(Order, order_id).status == "fulfilled"
    for path in ("/pipeline/orders/0", "/pipeline/orders/99999999999", f"/pipeline/orders/{order_id + 1}"):
        assert client.get(path).status_code == 404
    assert client.get("/pipeline/orders?status=x&owner=t:0&customer=abc&before=-3").status_code == 200
    listed = client.get("/pipeline/orders", params={"customer": str(customer), "status": "fulfilled"})
    assert pipeline.get(Order, order_id).number in listed.text
    client.login("sales2")
    assert client.get(f"/pipeline/orders/{order_id}").status_code == 404
    assert pipeline.get(Order, order_id).number not in client.get("/pipeline/orders").text


def test_marking_the_deal_won_from_the_order(client: Any, pipeline: Any) -> None:
    customer = pipeline.organisation("ТОВ «Колос»")
    deal_id = pipeline.deal("Licences", customer_id=customer, amount_minor=90_000, amount_currency="UAH")
    order_id = _accepted(pipeline, customer, "UAH", [LINE], deal_id=deal_id)
    client.login("sales")
    page = client.get(f"/pipeline/orders/{order_id}")
    assert "mark it won" in page.text
    won = client.post(f"/pipeline/orders/{order_id}/win-deal", data={"take_amount": "1"})
    assert won.status_code == 200 and "mark it won" not in won.text
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.status, deal.amount_minor, deal.amount_currency) == ("won", 100_000, "UAH")
    assert deal.closed_on is not None
    assert client.post(f"/pipeline/orders/{order_id}/win-deal", data={}).status_code == 409


def test_sales_history_totals_per_currency_without_cancelled_orders(pipeline: Any) -> None:
    customer = pipeline.organisation("ТОВ «Колос»")
    other = pipeline.organisation("ТОВ «Інший»")
    first = _accepted(pipeline, customer, "UAH", [LINE])
    _accepted(pipeline, customer, "UAH", [quotes.LineInput(None, "Setup", 1000, 10_000, 0, 0)])
    _accepted(pipeline, customer, "EUR", [LINE])
    cancelled = _accepted(pipeline, customer, "EUR", [LINE])
    _accepted(pipeline, other, "UAH", [LINE])
    hidden = _accepted(pipeline, customer, "USD", [LINE], owner="sales2")
    with write_transaction(pipeline.runtime.sessions) as session:
        orders.set_status(session, pipeline.kind("order"), cancelled, "cancelled", actor=pipeline.uid("sales"))
    with pipeline.runtime.sessions() as session:
        history = orders.sales_history(session, pipeline.viewer("sales"), customer)
        assert history.count == 4 and {row.id for row in history.orders} == {first, first + 1, first + 2, cancelled}
        assert [(t.currency, t.orders, t.net_minor, t.total_minor) for t in history.totals] == [
            ("EUR", 1, 100_000, 120_000), ("UAH", 2, 110_000, 130_000)]  # fmt: skip
        everything = orders.sales_history(session, pipeline.viewer("admin"), customer)
        assert hidden in {row.id for row in everything.orders}
        assert [t.currency for t in everything.totals] == ["EUR", "UAH", "USD"]


def test_two_people_accepting_at_once_make_one_order(pipeline: Any) -> None:
    customer = pipeline.organisation("ТОВ «Колос»")
    kinds, actor = pipeline.runtime.record_kinds, pipeline.uid("sales")
    with write_transaction(pipeline.runtime.sessions) as session:
        quote_id = quotes.create_quote(session, kinds["quote"], actor=actor, customer_id=customer, currency="UAH",
                                       owner={"owner_user_id": actor}, lines=[LINE]).id  # fmt: skip
    with write_transaction(pipeline.runtime.sessions) as session:
        quotes.send(session, kinds["quote"], quote_id, actor=actor)
    start, outcomes = threading.Barrier(2), []

    def accept() -> None:
        start.wait()
        try:
            with write_transaction(pipeline.runtime.sessions) as session:
                quotes.accept(session, kinds, quote_id, actor=actor, expected_version=2)
            outcomes.append("order")
        except ValidationError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["Conflict", "order"]
    with pipeline.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
