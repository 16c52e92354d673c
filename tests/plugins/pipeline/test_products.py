"""The product catalogue: create and edit with prices per currency, search, who may change it, bad input."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.core.custom_fields_admin import create_field
from voronka.core.db import write_transaction
from voronka.core.models_records import AuditEntry
from voronka.plugins.pipeline.models import Product, ProductPrice


def _form(**values: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"name": "Ноутбук ThinkPad T14", "code": "TP-T14", "category": "Hardware", "unit": "pcs",
                            "tax_rate": "20", "active": "1", "description": "",
                            "price_currency": ["UAH", "EUR"], "price_amount": ["52 999,00", "1199.00"]}  # fmt: skip
    form.update(values)
    return form


def _prices(pipeline: Any, product_id: int) -> dict[str, int]:
    with pipeline.runtime.sessions() as session:
        rows = session.execute(select(ProductPrice.currency, ProductPrice.unit_price_minor)
                               .where(ProductPrice.product_id == product_id))  # fmt: skip
        return dict(rows.all())


def _product_ids(pipeline: Any) -> list[int]:
    with pipeline.runtime.sessions() as session:
        return list(session.scalars(select(Product.id).order_by(Product.id)))


def test_a_manager_creates_a_product_with_prices_and_finds_it(client: Any, pipeline: Any) -> None:
    client.login("manager")
    response = client.post("/pipeline/products/new", data=_form())
    assert response.status_code == 200 and "/pipeline/products/" in str(response.url)
    (product_id,) = _product_ids(pipeline)
    assert _prices(pipeline, product_id) == {"UAH": 5_299_900, "EUR": 119_900}
    product = pipeline.get(Product, product_id)
    assert (product.code, product.tax_rate_bp, product.active) == ("TP-T14", 2000, True)
    for query in ("ноут", "NOUT", "tp-t1", "TP"):
        listed = client.get("/pipeline/products", params={"q": query})
        assert listed.status_code == 200 and "ThinkPad" in listed.text, query
    assert "ThinkPad" not in client.get("/pipeline/products", params={"q": "xyz"}).text


def test_editing_in_place_changes_prices_and_audits_them(client: Any, pipeline: Any) -> None:
    client.login("manager")
    client.post("/pipeline/products/new", data=_form())
    (product_id,) = _product_ids(pipeline)
    edit = client.hx_get(f"/pipeline/products/{product_id}/edit")
    assert edit.status_code == 200 and 'name="price_amount"' in edit.text and "<html" not in edit.text
    changed = _form(version="1", price_currency=["UAH", "USD"], price_amount=["49999", "1100"])
    saved = client.hx_post(f"/pipeline/products/{product_id}", data=changed)
    assert saved.status_code == 200, saved.text
    assert _prices(pipeline, product_id) == {"UAH": 4_999_900, "USD": 110_000}
    assert pipeline.get(Product, product_id).version == 2  # only the prices changed: still a new version
    with pipeline.runtime.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.kind == "product", AuditEntry.field == "prices")
                                .order_by(AuditEntry.id.desc())).first()  # fmt: skip
        assert entry.old == {"EUR": 119_900, "UAH": 5_299_900} and entry.new == {"UAH": 4_999_900, "USD": 110_000}
    stale = client.hx_post(f"/pipeline/products/{product_id}", data=_form(version="1", name="Old form"))
    assert stale.status_code == 409
    assert pipeline.get(Product, product_id).name == "Ноутбук ThinkPad T14"


def test_only_managers_change_the_catalogue(client: Any, pipeline: Any) -> None:
    client.login("sales")
    assert client.get("/pipeline/products").status_code == 200
    assert client.post("/pipeline/products/new", data=_form()).status_code == 403
    assert _product_ids(pipeline) == []
    client.login("manager")
    client.post("/pipeline/products/new", data=_form())
    (product_id,) = _product_ids(pipeline)
    client.login("sales")
    assert client.get(f"/pipeline/products/{product_id}").status_code == 200
    assert client.post(f"/pipeline/products/{product_id}", data=_form(version="1", name="x")).status_code == 403
    assert client.get(f"/pipeline/products/{product_id}/edit").status_code == 403


def test_bad_product_input_is_refused_next_to_the_field(client: Any, pipeline: Any) -> None:
    client.login("manager")
    cases = [
        (_form(name=" "), "Give the product a name"),
        (_form(tax_rate="120"), "a percentage from 0 to 100"),
        (_form(tax_rate="abc"), "tax rate in percent"),
        (_form(price_currency=["XXY"], price_amount=["10"]), "not an ISO 4217"),
        (_form(price_currency=["EUR"], price_amount=["-5"]), "cannot be negative"),
        (_form(price_currency=["EUR"], price_amount=["ten"]), "as a number"),
        (_form(price_currency=["EUR", "eur"], price_amount=["1", "2"]), "priced twice"),
        (_form(price_currency=["JPY"], price_amount=["1.5"]), "no minor units"),
        (_form(name="x" * 301), "under 300"),
    ]
    for form, message in cases:
        response = client.post("/pipeline/products/new", data=form)
        assert response.status_code == 400, (form, response.status_code)
        assert message in response.text, (message, response.text[:3000])
    assert _product_ids(pipeline) == []
    client.post("/pipeline/products/new", data=_form())
    twin = client.post("/pipeline/products/new", data=_form(code="tp-t14", name="Another"))
    assert twin.status_code == 400 and "already has the code" in twin.text
    assert len(_product_ids(pipeline)) == 1


def test_junk_product_ids_are_404(client: Any) -> None:
    client.login("sales")
    for path in ("/pipeline/products/0", "/pipeline/products/99999999999", "/pipeline/products/12345"):
        assert client.get(path).status_code == 404, path
    assert client.get("/pipeline/products?after=junk:x&show=nonsense&q=" + "a" * 500).status_code == 200
    assert client.get("/pipeline/products?q=%00").status_code == 400  # core refuses NUL in any input


def test_custom_fields_are_entered_with_the_product(client: Any, pipeline: Any) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        create_field(session, pipeline.kind("product"), {"label": "Warranty, months", "key": "warranty",
                                                         "type": "number"})  # fmt: skip
    client.login("manager")
    form = client.get("/pipeline/products/new")
    assert 'name="cf.warranty"' in form.text
    bad = client.post("/pipeline/products/new", data=_form(**{"cf.warranty": "many"}))
    assert bad.status_code == 400 and _product_ids(pipeline) == []
    assert client.post("/pipeline/products/new", data=_form(**{"cf.warranty": "24"})).status_code == 200
    (product_id,) = _product_ids(pipeline)
    assert pipeline.get(Product, product_id).custom == {"warranty": 24}
    assert "Warranty, months" in client.get(f"/pipeline/products/{product_id}").text
    edited = client.post(f"/pipeline/products/{product_id}", data=_form(version="1", **{"cf.warranty": "36"}))
    assert edited.status_code == 200 and pipeline.get(Product, product_id).custom == {"warranty": 36}
