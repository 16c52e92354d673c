"""Quotes through their pages: from a deal, the line editor, numbering, send/accept/reject, versions, the
printable page, visibility, and bad input refused next to its field with nothing stored."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from voronka.core.db import write_transaction
from voronka.core.models_records import AuditEntry
from voronka.plugins.pipeline import products
from voronka.plugins.pipeline.models import Order, Quote, QuoteLine


class Quotes:
    """Products, a deal with a customer, and quotes made through the pages."""

    def __init__(self, pipeline: Any, client: Any):
        self.p, self.client = pipeline, client

    def product(self, name: str, prices: dict[str, int], tax_bp: int = 2000, code: str = "") -> int:
        with write_transaction(self.p.runtime.sessions) as session:
            values = {"name": name, "code": code, "tax_rate_bp": tax_bp, "active": True}
            return products.save_product(session, self.p.kind("product"), None, values, prices,
                                         actor=self.p.uid("manager")).id  # fmt: skip

    def deal(self, owner: str = "sales", currency: str = "EUR") -> tuple[int, int]:
        customer = self.p.organisation("ТОВ «Зоря»", owner=owner)
        return self.p.deal("Laptops for Zorya", owner=owner, customer_id=customer, amount_currency=currency), customer

    def new_quote(self, deal_id: int) -> int:
        response = self.client.post("/pipeline/quotes/new", data={"deal": str(deal_id), "valid_until": ""})
        assert response.status_code == 200, response.text[:2000]
        match = re.search(r"/pipeline/quotes/(\d+)$", str(response.url))
        assert match, response.url
        return int(match.group(1))

    def get(self, quote_id: int) -> Quote:
        return self.p.get(Quote, quote_id)

    def lines(self, quote_id: int) -> list[tuple[Any, ...]]:
        with self.p.runtime.sessions() as session:
            rows = session.scalars(select(QuoteLine).where(QuoteLine.quote_id == quote_id).order_by(QuoteLine.position))
            return [(x.product_id, x.description, x.quantity_milli, x.unit_price_minor, x.discount_bp, x.tax_rate_bp,
                     x.total_minor) for x in rows]  # fmt: skip

    def save(self, quote_id: int, rows: list[dict[str, str]], version: int | None = None, **extra: str) -> Any:
        data: dict[str, str] = {"version": str(self.get(quote_id).version if version is None else version), **extra}
        for i, row in enumerate(rows):
            data.update({f"line-{i}-{k}": v for k, v in row.items()})
        return self.client.post(f"/pipeline/quotes/{quote_id}", data=data)

    def act(self, quote_id: int, action: str, version: int | None = None) -> Any:
        v = self.get(quote_id).version if version is None else version
        return self.client.post(f"/pipeline/quotes/{quote_id}/{action}", data={"version": str(v)})


@pytest.fixture
def q(pipeline: Any, client: Any) -> Quotes:
    client.login("sales")
    return Quotes(pipeline, client)


def test_a_quote_from_a_deal_takes_customer_currency_owner_and_a_number(q: Quotes) -> None:
    deal_id, customer = q.deal(currency="EUR")
    form = q.client.get(f"/pipeline/quotes/new?deal={deal_id}")
    assert form.status_code == 200 and "ТОВ «Зоря»" in form.text and 'value="EUR"' in form.text
    first, second = q.new_quote(deal_id), q.new_quote(deal_id)
    a, b = q.get(first), q.get(second)
    assert (a.customer_id, a.currency, a.owner_user_id, a.opportunity_id, a.status, a.revision) == (
        customer, "EUR", q.p.uid("sales"), deal_id, "draft", 1)  # fmt: skip
    assert re.fullmatch(r"Q-\d{4}-00001", a.number) and b.number == a.number[:-1] + "2"
    assert a.valid_until is not None


def test_the_editor_prices_lines_from_products_and_free_lines(q: Quotes) -> None:
    laptop = q.product("ThinkPad T14", {"EUR": 119_900, "UAH": 5_299_900}, code="TP")
    deal_id, _c = q.deal()
    quote_id = q.new_quote(deal_id)
    filled = q.client.hx_get(f"/pipeline/quotes/{quote_id}/line", params={"i": "0", "fill": "1",
                                                                           "line-0-product": str(laptop)})  # fmt: skip
    assert filled.status_code == 200 and 'value="1199.00"' in filled.text and 'value="ThinkPad T14"' in filled.text
    response = q.save(quote_id, [
        {"product": str(laptop), "description": "", "quantity": "2", "price": "", "discount": "10", "tax": ""},
        {"product": "", "description": "Setup, hours", "quantity": "1,5", "price": "80", "discount": "", "tax": "0"},
        {"product": "", "description": "", "quantity": "1", "price": "", "discount": "", "tax": ""},  # unused row
    ])  # fmt: skip
    assert response.status_code == 200, response.text[:3000]
    # 2 × 1199.00 = 2398.00, −10 % = 239.80 → 2158.20, +20 % = 431.64 → 2589.84; 1.5 × 80 = 120.00
    assert q.lines(quote_id) == [(laptop, "ThinkPad T14", 2000, 119_900, 1000, 2000, 258_984),
                                 (None, "Setup, hours", 1500, 8_000, 0, 0, 12_000)]  # fmt: skip
    quote = q.get(quote_id)
    assert (quote.subtotal_minor, quote.discount_minor, quote.tax_minor, quote.total_minor) == (
        251_800, 23_980, 43_164, 270_984)  # fmt: skip
    with q.p.runtime.sessions() as session:
        audited = {e.field: (e.old, e.new) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "quote", AuditEntry.record_id == quote_id))}  # fmt: skip
        assert audited["total_minor"] == (0, 270_984)
        assert [line["description"] for line in audited["lines"][1]] == ["ThinkPad T14", "Setup, hours"]
    page = q.client.get(f"/pipeline/quotes/{quote_id}")
    assert "2,709.84" in page.text or "2 709,84" in page.text or "2709.84" in page.text.replace("\u00a0", "")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"discount": "300"}, "a percentage from 0 to 100"),
        ({"quantity": "-2"}, "above zero"),
        ({"quantity": "two"}, "quantity as a number"),
        ({"price": "-10"}, "cannot be negative"),
        ({"price": "1O0"}, "price as a number"),
        ({"tax": "abc"}, "tax rate in percent"),
        ({"price": "1.999"}, "decimal places"),
        ({"description": "", "price": "5"}, "Describe the line"),
    ],
)
def test_bad_lines_are_refused_next_to_the_input(q: Quotes, row: dict[str, str], message: str) -> None:
    deal_id, _c = q.deal()
    quote_id = q.new_quote(deal_id)
    good = {"product": "", "description": "Licence", "quantity": "1", "price": "100", "discount": "", "tax": "20"}
    assert q.save(quote_id, [good]).status_code == 200
    before = (q.lines(quote_id), q.get(quote_id).total_minor, q.get(quote_id).version)
    response = q.save(quote_id, [good, {**good, **row}])
    assert response.status_code == 400 and message in response.text, response.text[:3000]
    assert 'aria-invalid="true"' in response.text
    assert (q.lines(quote_id), q.get(quote_id).total_minor, q.get(quote_id).version) == before


def test_a_product_without_a_price_in_the_quote_currency_asks_for_one(q: Quotes) -> None:
    uah_only = q.product("Support plan", {"UAH": 150_000})
    deal_id, _c = q.deal(currency="EUR")
    quote_id = q.new_quote(deal_id)
    params = {"i": "0", "fill": "1", "line-0-product": str(uah_only)}
    filled = q.client.hx_get(f"/pipeline/quotes/{quote_id}/line", params=params)
    assert filled.status_code == 200 and "has no price in EUR" in filled.text
    response = q.save(quote_id, [{"product": str(uah_only), "quantity": "1", "price": "", "description": ""}])
    assert response.status_code == 400 and "has no price in EUR" in response.text
    assert q.lines(quote_id) == []
    typed = q.save(quote_id, [{"product": str(uah_only), "quantity": "1", "price": "39.90", "description": ""}])
    assert typed.status_code == 200 and q.lines(quote_id)[0][3] == 3990


def test_send_freezes_accept_makes_one_order_and_versions_keep_the_number(q: Quotes) -> None:
    deal_id, customer = q.deal()
    quote_id = q.new_quote(deal_id)
    assert q.act(quote_id, "send").status_code == 400  # no lines yet
    q.save(quote_id, [{"description": "Licence", "quantity": "3", "price": "100", "tax": "20"}])
    assert q.act(quote_id, "send").status_code == 200
    sent = q.get(quote_id)
    assert sent.status == "sent" and sent.issued_on is not None
    edit = q.save(quote_id, [{"description": "Cheaper", "quantity": "3", "price": "1", "tax": "0"}])
    assert edit.status_code == 409 and "frozen" in edit.text
    assert q.lines(quote_id)[0][1] == "Licence"

    new = q.client.post(f"/pipeline/quotes/{quote_id}/new-version", data={"version": str(sent.version)})
    assert new.status_code == 200
    v2_id = int(re.search(r"/pipeline/quotes/(\d+)", str(new.url)).group(1))
    v2 = q.get(v2_id)
    assert (v2.number, v2.revision, v2.status, v2.total_minor) == (sent.number, 2, "draft", sent.total_minor)
    assert q.lines(v2_id) == q.lines(quote_id)
    old_page = q.client.get(f"/pipeline/quotes/{quote_id}")
    assert old_page.status_code == 200 and "Superseded" in old_page.text
    assert q.act(quote_id, "accept").status_code == 409  # a superseded version is not accepted

    q.act(v2_id, "send")
    accepted = q.act(v2_id, "accept")
    assert accepted.status_code == 200 and "/pipeline/orders/" in str(accepted.url)
    assert "mark it won" in accepted.text
    twice = q.act(v2_id, "accept")
    assert twice.status_code == 409 and "accepted already" in twice.text
    with q.p.runtime.sessions() as session:
        orders = list(session.scalars(select(Order).where(Order.quote_id == v2_id)))
        assert len(orders) == 1 and session.scalar(select(func.count()).select_from(Order)) == 1
        assert (orders[0].customer_id, orders[0].total_minor, orders[0].opportunity_id) == (
            customer, v2.total_minor, deal_id)  # fmt: skip
    assert q.get(v2_id).status == "accepted"
    assert q.act(v2_id, "new-version").status_code == 409


def test_reject_and_the_printable_page(q: Quotes, pipeline: Any) -> None:
    deal_id, _c = q.deal()
    quote_id = q.new_quote(deal_id)
    q.save(quote_id, [{"description": "Консультація", "quantity": "2", "price": "500", "tax": "20"}],
           note="Оплата протягом 10 днів")  # fmt: skip
    page = q.client.get(f"/pipeline/quotes/{quote_id}/print")
    assert page.status_code == 200 and "Консультація" in page.text and "@media print" not in page.text
    assert "quotes.css" in page.text and "Оплата протягом 10 днів" in page.text and "ТОВ «Зоря»" in page.text
    q.act(quote_id, "send")
    assert q.act(quote_id, "reject").status_code == 200 and q.get(quote_id).status == "rejected"
    assert q.act(quote_id, "reject").status_code == 409
    assert q.act(quote_id, "accept").status_code == 409
    css = q.client.get("/static/plugins/pipeline/quotes.css")
    assert css.status_code == 200 and "@media print" in css.text


def test_quotes_follow_visibility_and_junk_ids_are_404(q: Quotes) -> None:
    deal_id, customer = q.deal()
    quote_id = q.new_quote(deal_id)
    listed = q.client.get("/pipeline/quotes", params={"customer": str(customer), "status": "draft"})
    assert q.get(quote_id).number in listed.text
    q.client.login("sales2")
    assert q.client.get(f"/pipeline/quotes/{quote_id}").status_code == 404
    assert q.client.post(f"/pipeline/quotes/{quote_id}/send", data={"version": "1"}).status_code == 404
    assert q.get(quote_id).number not in q.client.get("/pipeline/quotes").text
    assert q.client.get(f"/pipeline/quotes/new?deal={deal_id}").status_code == 404
    for path in ("/pipeline/quotes/0", "/pipeline/quotes/99999999999", "/pipeline/quotes/new?deal=x1",
                 "/pipeline/quotes/0/print", "/pipeline/quotes/123/line?i=1"):  # fmt: skip
        assert q.client.get(path).status_code == 404, path
    junk = q.client.get("/pipeline/quotes?status=nope&owner=u:abc&customer=-1&before=x")
    assert junk.status_code == 200
    q.client.login("manager")  # everyone under them
    assert q.client.get(f"/pipeline/quotes/{quote_id}").status_code == 200


def test_a_new_quote_with_bad_input_stores_nothing_and_uses_no_number(q: Quotes) -> None:
    customer = q.p.organisation("Приватне підприємство «Лан»")
    form = q.client.get("/pipeline/quotes/new")
    assert form.status_code == 200 and 'name="customer_id_q"' in form.text
    typed = q.client.post("/pipeline/quotes/new", data={"customer_id_q": "Прив", "currency": "EUR",
                                                        "owner": f"u:{q.p.uid('sales')}"})  # fmt: skip
    assert (
        typed.status_code == 400 and f'value="{customer}"' in typed.text and "Pick one of the customers" in typed.text
    )
    bad = q.client.post("/pipeline/quotes/new", data={"customer_id": str(customer), "currency": "EUX",
                                                      "owner": f"u:{q.p.uid('sales')}"})  # fmt: skip
    assert bad.status_code == 400 and "ISO 4217" in bad.text
    for data in ({"customer_id": "", "currency": "EUR", "owner": f"u:{q.p.uid('sales')}"},
                 {"customer_id": str(customer), "currency": "EUR", "owner": "u:999999"},
                 {"customer_id": str(customer), "currency": "EUR", "owner": f"u:{q.p.uid('sales')}",
                  "valid_until": "31.12.2026"}):  # fmt: skip
        assert q.client.post("/pipeline/quotes/new", data=data).status_code == 400, data
    with q.p.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Quote)) == 0
    good = q.client.post("/pipeline/quotes/new", data={"customer_id": str(customer), "currency": "usd",
                                                       "owner": f"u:{q.p.uid('sales')}"})  # fmt: skip
    assert good.status_code == 200
    with q.p.runtime.sessions() as session:
        quote = session.scalars(select(Quote)).one()
        assert quote.currency == "USD" and quote.number.endswith("-00001")  # the failures took no number
