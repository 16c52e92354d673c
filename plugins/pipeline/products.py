"""The product catalogue: products with a list price per currency.

A product is a record kind ("product"): its columns go through core's write path (audit, custom fields,
events); its prices are child rows (``pipeline_product_price``) written here in the same transaction, and
a change of prices is audited as the field ``prices`` ({"EUR": 1250, …} in minor units) beside the
columns. Only ``pipeline.manage`` edits the catalogue; everyone who may see the pipeline reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from voronka.core import custom_fields
from voronka.core.company import currency_codes
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.search_keys import prefix_filter
from voronka.core.writes import audit_changes, save

from . import pricing
from .models import Product, ProductPrice

PRICE_ROWS_MAX = 20
"""Currencies one product may be priced in (a form shows its prices plus a few empty rows)."""
TEXT_LIMITS = {"code": 60, "name": 300, "category": 120, "unit": 20, "description": 10_000}


@dataclass
class ProductForm:
    """A product form as submitted: the values for the write path, the prices, and messages per field."""

    values: dict[str, Any] = field(default_factory=dict)
    prices: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    shown: dict[str, Any] = field(default_factory=dict)
    price_rows: list[tuple[str, str]] = field(default_factory=list)


def read_form(session: Session, form: Any) -> ProductForm:
    """Read a submitted product form (Starlette FormData or a dict). Prices come as ``price_currency`` /
    ``price_amount`` pairs, repeated; an empty pair is skipped."""
    result = ProductForm(shown={k: v for k, v in form.items() if isinstance(v, str)})
    values, errors = result.values, result.errors
    for name, limit in TEXT_LIMITS.items():
        text = str(form.get(name) or "").replace("\r\n", "\n").strip()
        if name != "description":
            text = " ".join(text.split())
        if "\x00" in text:
            errors[name] = _("Remove the invisible NUL character from the text.")
        elif len(text) > limit:
            errors[name] = _("Keep it under %(n)s characters.") % {"n": limit}
        values[name] = text
    if not values.get("name") and "name" not in errors:
        errors["name"] = _("Give the product a name.")
    try:
        values["tax_rate_bp"] = pricing.parse_percent(str(form.get("tax_rate") or ""), what="tax")
    except ValueError as exc:
        errors["tax_rate"] = str(exc)
    values["active"] = str(form.get("active") or "") in ("1", "yes", "on")
    currencies = _list(form, "price_currency")
    amounts = _list(form, "price_amount")
    known = currency_codes()
    for index in range(max(len(currencies), len(amounts))):
        code = (currencies[index] if index < len(currencies) else "").strip().upper()
        amount = amounts[index] if index < len(amounts) else ""
        result.price_rows.append((code, amount))
        if not code and not amount.strip():
            continue
        key = f"price-{index}"
        if code not in known:
            errors[key] = _("%(code)s is not an ISO 4217 currency code such as UAH, EUR or USD.") % {
                "code": code[:10] or "—"}  # fmt: skip
            continue
        if code in result.prices:
            errors[key] = _("%(code)s is priced twice; keep one price per currency.") % {"code": code}
            continue
        try:
            result.prices[code] = pricing.parse_price(amount, code)
        except ValueError as exc:
            errors[key] = str(exc)
    if len(result.prices) > PRICE_ROWS_MAX:
        errors["prices"] = _("Keep to %(n)s currencies per product.") % {"n": PRICE_ROWS_MAX}
    fields = custom_fields.definitions(session, "product")
    custom, custom_errors = custom_fields.read_form(fields, form)
    values.update(custom)
    errors.update(custom_errors)
    return result


def _list(form: Any, name: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [v if isinstance(v, str) else "" for v in form.getlist(name)]
    raw = form.get(name)
    return list(raw) if isinstance(raw, list | tuple) else ([raw] if isinstance(raw, str) else [])


def _check_code(session: Session, code: str, product_id: int | None) -> None:
    """Codes are what people type on a quote line and what an import matches on: unique among live products."""
    if not code:
        return
    query = select(Product.id).where(func.lower(Product.code) == code.lower(), Product.deleted_at.is_(None))
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if session.scalar(query.limit(1)) is not None:
        raise ValidationError({"code": _("Another product already has the code %(code)s.") % {"code": code}})


def prices_of(session: Session, product_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each product's prices by currency (minor units)."""
    found: dict[int, dict[str, int]] = {pid: {} for pid in product_ids}
    if not product_ids:
        return found
    query = select(ProductPrice.product_id, ProductPrice.currency, ProductPrice.unit_price_minor).where(
        ProductPrice.product_id.in_(product_ids)
    )
    for product_id, currency, minor in session.execute(query.order_by(ProductPrice.currency)):
        found[product_id][currency] = minor
    return found


def save_product(
    session: Session,
    kind: Any,
    product_id: int | None,
    values: dict[str, Any],
    prices: dict[str, int],
    *,
    actor: Any,
    expected_version: int | None = None,
) -> Product:
    """Create or update a product with its prices, in the caller's transaction (refused whole on any error)."""
    _check_code(session, values.get("code", ""), product_id)
    for code, minor in prices.items():
        if code not in currency_codes() or not 0 <= minor <= pricing.MAX_PRICE_MINOR:
            raise ValidationError({"prices": _("Check the prices: a currency code and an amount of zero or more.")})
    old_prices: dict[str, int] = {}
    if product_id is not None:
        current = session.scalar(select(Product).where(Product.id == product_id, Product.deleted_at.is_(None)))
        if current is None:
            raise ValidationError(_("This product no longer exists; someone may have deleted it."))
        if expected_version is not None and current.version != expected_version:
            raise StaleRecord(_("Someone else saved this product after you opened it. Reload to see their changes, "
                                "then apply yours."))  # fmt: skip
        old_prices = prices_of(session, [product_id])[product_id]
    product = save(session, kind, product_id, values, actor=actor, expected_version=expected_version)
    if product_id is None or old_prices != prices:
        session.execute(delete(ProductPrice).where(ProductPrice.product_id == product.id))
        if prices:
            session.execute(insert(ProductPrice), [
                {"product_id": product.id, "currency": code, "unit_price_minor": minor}
                for code, minor in sorted(prices.items())
            ])  # fmt: skip
        if product_id is not None:
            audit_changes(session, kind, product.id, {"prices": (old_prices, dict(sorted(prices.items())))},
                          actor=actor)  # fmt: skip
            if product.version == expected_version:  # only the prices changed: a stale form must still notice
                product.version += 1
        elif prices:
            audit_changes(session, kind, product.id, {"prices": ({}, dict(sorted(prices.items())))}, actor=actor)
    return product


def search(session: Session, query: str = "", *, active_only: bool = False, limit: int = 50,
           after: tuple[str, int] | None = None) -> list[Product]:  # fmt: skip
    """Live products whose name (either script) or code starts with ``query``, by name, a page at a time."""
    stmt = select(Product).where(Product.deleted_at.is_(None))
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    query = (query or "").strip()[:100]
    if query:
        by_name = prefix_filter(Product.name_key, query)
        code = func.lower(Product.code)
        by_code = code.startswith(query.lower(), autoescape=True)
        stmt = stmt.where(by_code if by_name is None else (by_name | by_code))
    if after is not None:
        stmt = stmt.where((Product.name_key > after[0]) | ((Product.name_key == after[0]) & (Product.id > after[1])))
    return list(session.scalars(stmt.order_by(Product.name_key, Product.id).limit(limit)))


def pick_options(session: Session, limit: int = 500, keep: Iterable[int | None] = ()) -> list[Product]:
    """Active products for a quote line's product picker, plus those in ``keep`` (the lines' own products,
    even when retired since, so saving a draft does not drop them)."""
    found = search(session, active_only=True, limit=limit)
    missing = {pid for pid in keep if pid is not None} - {p.id for p in found}
    if missing:
        found += list(session.scalars(select(Product).where(Product.id.in_(missing))))
    return found
