"""Quotes: the rules and writes behind the quote pages (the pages are in :mod:`.quote_pages`).

A quote is a record kind ("quote"); its lines are child rows written beside the header in the same
transaction. On every change of the lines the header's totals are recomputed from them (:mod:`.pricing`)
and written through core's write path, so totals are audited like any field; the lines themselves are
audited as the field ``lines`` (a list of plain dicts) beside them.

Life of a quote: ``draft`` (the only status that edits) → ``sent`` (frozen: issued today, printable) →
``accepted`` (becomes an order, :func:`.orders.create_from_quote`, in the same transaction) or ``rejected``.
"New version" copies a sent or rejected quote into ``revision + 1`` with the same number; the older
revisions stay readable and are *superseded* (they can no longer be accepted). The number comes from the
company's gap-free ``pipeline.quote`` sequence, taken inside the transaction that creates the quote.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from voronka.core import custom_fields
from voronka.core.company import company_settings, currency_codes
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.sequences import next_number
from voronka.core.writes import audit_changes, save
from voronka.plugins.contacts.api import Party

from . import pricing
from .models import Opportunity, Product, ProductPrice, Quote, QuoteLine
from .totals_guard import priced_write

QUOTE_SEQUENCE = "pipeline.quote"
LINES_MAX = 200
"""Lines on one quote: a longer document is a price list, not a quote."""
DESCRIPTION_MAX = 500
NOTE_MAX = 5000
VALID_DAYS = 30
"""A new quote is valid for this many days unless the author says otherwise."""
DRAFT, SENT, ACCEPTED, REJECTED = "draft", "sent", "accepted", "rejected"
LINE_FIELDS = ("product_id", "description", "quantity_milli", "unit_price_minor", "discount_bp", "tax_rate_bp")
_LINE_KEY = re.compile(r"^line-(\d{1,3})-(\w+)$")


class Conflict(ValidationError):
    """The quote's status does not allow the change (a sent quote edited, a quote accepted twice): the
    pages answer 409, as for a stale form."""


@dataclass(frozen=True)
class LineInput:
    """A line as entered, before pricing."""

    product_id: int | None
    description: str
    quantity_milli: int
    unit_price_minor: int
    discount_bp: int = 0
    tax_rate_bp: int = 0

    def plain(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LINE_FIELDS}


@dataclass
class LinesForm:
    """The line rows of a submitted editor: what to store, what to show again, the messages per input."""

    lines: list[LineInput] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def priced(lines: list[LineInput]) -> tuple[list[tuple[LineInput, pricing.LineAmounts]], pricing.Totals]:
    """Each line with its rounded amounts, and the header totals (sums of the rounded lines)."""
    done = [
        (line, pricing.price_line(line.quantity_milli, line.unit_price_minor, line.discount_bp, line.tax_rate_bp))
        for line in lines
    ]
    return done, pricing.totals((line.tax_rate_bp, amounts) for line, amounts in done)


# -- reading the editor's lines --------------------------------------------------------------------------


def _row_indexes(form: Any) -> list[int]:
    found = set()
    for key in form:
        match = _LINE_KEY.match(key)
        if match:
            found.add(int(match.group(1)))
    return sorted(found)


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def read_lines(session: Session, form: Any, currency: str) -> LinesForm:
    """The quote lines of a submitted editor (``line-<i>-product``, ``-description``, ``-quantity``,
    ``-price``, ``-discount``, ``-tax``, ``-remove``). A row with neither product, description nor price is
    an unused row and skipped. A product fills what was left empty: description, the unit price in
    ``currency`` and the tax rate."""
    result = LinesForm()
    indexes = _row_indexes(form)
    product_ids = {pid for i in indexes if (pid := parse_id(_text(form, f"line-{i}-product"))) is not None}
    products = _products(session, product_ids, currency)
    for i in indexes:
        row = {name: _text(form, f"line-{i}-{name}").strip()
               for name in ("product", "description", "quantity", "price", "discount", "tax", "remove")}  # fmt: skip
        if row["remove"] or not (row["product"] or row["description"] or row["price"]):
            continue
        result.rows.append(row)
        key = f"line-{len(result.rows) - 1}-"
        errors: dict[str, str] = {}
        product = None
        if row["product"]:
            product = products.get(parse_id(row["product"]) or 0)
            if product is None:
                errors["product"] = _("This product is not in the catalogue (any more); pick another one.")
        description = " ".join(row["description"].replace("\x00", "").split())
        if not description and product is not None:
            description = row["description"] = product[0].name
        if not description:
            errors["description"] = _("Describe the line, or pick a product.")
        elif len(description) > DESCRIPTION_MAX:
            errors["description"] = _("Keep it under %(n)s characters.") % {"n": DESCRIPTION_MAX}
        quantity = unit_price = discount = tax = 0
        try:
            quantity = pricing.parse_quantity(row["quantity"])
        except ValueError as exc:
            errors["quantity"] = str(exc)
        if not row["price"] and product is not None:
            if product[1] is None:
                errors["price"] = _("%(product)s has no price in %(currency)s: type a price, or add one to the "
                                    "product.") % {"product": product[0].name, "currency": currency}  # fmt: skip
            else:
                unit_price = product[1]
                row["price"] = pricing.price_text(unit_price, currency)
        else:
            try:
                unit_price = pricing.parse_price(row["price"], currency)
            except ValueError as exc:
                errors["price"] = str(exc)
        try:
            discount = pricing.parse_percent(row["discount"])
        except ValueError as exc:
            errors["discount"] = str(exc)
        if not row["tax"] and product is not None:
            tax = product[0].tax_rate_bp
            row["tax"] = pricing.percent_text(tax)
        else:
            try:
                tax = pricing.parse_percent(row["tax"], what="tax")
            except ValueError as exc:
                errors["tax"] = str(exc)
        if not errors:
            amounts = pricing.price_line(quantity, unit_price, discount, tax)
            if amounts.total > pricing.MAX_LINE_MINOR:
                errors["price"] = _("This line comes to more than a quote can hold; check the quantity and price.")
        if errors:
            result.errors.update({key + name: message for name, message in errors.items()})
            continue
        result.lines.append(LineInput(product[0].id if product else None, description, quantity, unit_price,
                                      discount, tax))  # fmt: skip
    if len(result.rows) > LINES_MAX:
        result.errors["lines"] = _("Keep a quote to %(n)s lines.") % {"n": LINES_MAX}
    return result


def _products(session: Session, ids: set[int], currency: str) -> dict[int, tuple[Product, int | None]]:
    """Live products by id with their price in ``currency`` (None when they have none)."""
    if not ids:
        return {}
    query = (
        select(Product, ProductPrice.unit_price_minor)
        .outerjoin(ProductPrice, (ProductPrice.product_id == Product.id) & (ProductPrice.currency == currency))
        .where(Product.id.in_(ids), Product.deleted_at.is_(None))
    )
    return {product.id: (product, price) for product, price in session.execute(query)}


def product_fill(session: Session, product_id: int | None, currency: str) -> tuple[Product | None, int | None, str]:
    """What picking a product puts in a line: (the product, its unit price in ``currency``, a message when
    it is gone or has no price in that currency)."""
    if product_id is None:
        return None, None, ""
    found = _products(session, {product_id}, currency).get(product_id)
    if found is None:
        return None, None, _("This product is not in the catalogue (any more); pick another one.")
    product, price = found
    if price is None:
        return product, None, _("%(product)s has no price in %(currency)s: type a price, or add one to the "
                                "product.") % {"product": product.name, "currency": currency}  # fmt: skip
    return product, price, ""


# -- reading quotes ------------------------------------------------------------------------------------


def lines_of(session: Session, quote_id: int) -> list[QuoteLine]:
    return list(session.scalars(select(QuoteLine).where(QuoteLine.quote_id == quote_id)
                                .order_by(QuoteLine.position, QuoteLine.id)))  # fmt: skip


def _plain_lines(lines: list[QuoteLine]) -> list[dict[str, Any]]:
    return [{name: getattr(line, name) for name in LINE_FIELDS} for line in lines]


def latest_revision(session: Session, number: str) -> int:
    return session.scalar(select(func.max(Quote.revision)).where(Quote.number == number,
                                                                 Quote.deleted_at.is_(None))) or 0  # fmt: skip


def superseded(session: Session, quote: Quote) -> bool:
    """A newer revision of the same number exists."""
    return latest_revision(session, quote.number) > quote.revision


def revisions(session: Session, viewer: Any, kind: Any, number: str) -> list[Any]:
    """Every revision of a quote number the viewer may see, newest first."""
    query = select(Quote.id, Quote.revision, Quote.status, Quote.total_minor, Quote.currency, Quote.issued_on)
    return list(session.execute(query.where(Quote.number == number, kind.visible_to(viewer))
                                .order_by(Quote.revision.desc())))  # fmt: skip


# -- writes --------------------------------------------------------------------------------------------


def _write_lines(session: Session, quote_id: int, done: list[tuple[LineInput, pricing.LineAmounts]]) -> None:
    session.execute(delete(QuoteLine).where(QuoteLine.quote_id == quote_id))
    if done:
        session.execute(insert(QuoteLine), [line_row(quote_id, position, line, amounts, key="quote_id")
                                            for position, (line, amounts) in enumerate(done, start=1)])  # fmt: skip


def line_row(parent_id: int, position: int, line: Any, amounts: pricing.LineAmounts, *, key: str) -> dict[str, Any]:
    """The column values of a stored line (a quote's or an order's)."""
    return {key: parent_id, "position": position, **{name: getattr(line, name) for name in LINE_FIELDS},
            "gross_minor": amounts.gross, "discount_minor": amounts.discount, "net_minor": amounts.net,
            "tax_minor": amounts.tax, "total_minor": amounts.total}  # fmt: skip


def _locked(session: Session, quote_id: int) -> Quote:
    quote = session.scalar(select(Quote).where(Quote.id == quote_id, Quote.deleted_at.is_(None))
                           .with_for_update().execution_options(populate_existing=True))  # fmt: skip
    if quote is None:
        raise Conflict(_("This quote no longer exists; someone may have deleted it."))
    return quote


def _check_version(quote: Quote, expected_version: int | None) -> None:
    if expected_version is not None and quote.version != expected_version:
        raise StaleRecord(_("Someone else changed this quote after you opened it. Reload to see their changes, "
                            "then apply yours."))  # fmt: skip


def check_header(session: Session, values: dict[str, Any]) -> None:
    """Refuse a header that cannot be stored: unknown currency, missing customer, a date out of range."""
    errors: dict[str, str] = {}
    if "currency" in values and values["currency"] not in currency_codes():
        errors["currency"] = _("%(code)s is not an ISO 4217 currency code such as UAH, EUR or USD.") % {
            "code": str(values["currency"])[:10] or "—"}  # fmt: skip
    if "customer_id" in values:
        customer = values["customer_id"]
        if customer is None or session.scalar(select(Party.id).where(Party.id == customer,
                                                                     Party.deleted_at.is_(None))) is None:  # fmt: skip
            errors["customer_id"] = _("Pick the customer the quote is for.")
    if "note" in values and len(values["note"] or "") > NOTE_MAX:
        errors["note"] = _("Keep it under %(n)s characters.") % {"n": NOTE_MAX}
    if errors:
        raise ValidationError(errors)


def create_quote(
    session: Session,
    kind: Any,
    *,
    actor: Any,
    customer_id: int | None,
    currency: str,
    owner: dict[str, Any],
    opportunity_id: int | None = None,
    valid_until: dt.date | None = None,
    note: str = "",
    lines: list[LineInput] | None = None,
) -> Quote:
    """A new draft quote numbered from the company sequence, in the caller's transaction."""
    values: dict[str, Any] = {"customer_id": customer_id, "currency": currency, "note": note or ""}
    check_header(session, values)
    if opportunity_id is not None and session.scalar(select(Opportunity.id).where(
            Opportunity.id == opportunity_id, Opportunity.deleted_at.is_(None))) is None:  # fmt: skip
        raise ValidationError({"deal": _("This deal no longer exists.")})
    today = company_settings(session).today()
    done, sums = priced(lines or [])
    values.update({
        "number": next_number(session, QUOTE_SEQUENCE),
        "revision": 1,
        "opportunity_id": opportunity_id,
        "status": DRAFT,
        "valid_until": valid_until or today + dt.timedelta(days=VALID_DAYS),
        **owner,
        **sums.columns(),
    })  # fmt: skip
    with priced_write(session):
        quote = save(session, kind, None, values, actor=actor)
    if done:
        _write_lines(session, quote.id, done)
        audit_changes(session, kind, quote.id, {"lines": ([], [line.plain() for line, _a in done])}, actor=actor)
    return quote


def update_draft(
    session: Session,
    kind: Any,
    quote_id: int,
    *,
    actor: Any,
    expected_version: int | None,
    lines: list[LineInput],
    header: dict[str, Any] | None = None,
) -> Quote:
    """Replace a draft's lines (and header fields such as ``valid_until`` and ``note``), recomputing the
    totals; a sent, accepted or rejected quote is refused (make a new version)."""
    quote = _locked(session, quote_id)
    _check_version(quote, expected_version)
    if quote.status != DRAFT:
        raise Conflict(_("This quote was sent and is frozen; make a new version to change it."))
    if len(lines) > LINES_MAX:
        raise ValidationError({"lines": _("Keep a quote to %(n)s lines.") % {"n": LINES_MAX}})
    header = dict(header or {})
    check_header(session, header)
    old = _plain_lines(lines_of(session, quote_id))
    done, sums = priced(lines)
    if sums.total > pricing.MAX_LINE_MINOR:
        raise ValidationError({"lines": _("The quote comes to more than it can hold; check the quantities.")})
    new = [line.plain() for line, _a in done]
    version = quote.version
    with priced_write(session):
        quote = save(session, kind, quote_id, {**header, **sums.columns()}, actor=actor,
                     expected_version=expected_version)  # fmt: skip
    if old != new:
        _write_lines(session, quote_id, done)
        audit_changes(session, kind, quote_id, {"lines": (old, new)}, actor=actor)
        if quote.version == version:  # only the lines changed: a stale editor must still notice
            quote.version += 1
    return quote


def send(session: Session, kind: Any, quote_id: int, *, actor: Any, expected_version: int | None = None) -> Quote:
    """Freeze a draft: issued today (company time zone), valid for :data:`VALID_DAYS` unless dated."""
    quote = _locked(session, quote_id)
    _check_version(quote, expected_version)
    if quote.status != DRAFT:
        raise Conflict(_("Only a draft can be sent; this quote is already %(status)s.") % {
            "status": status_label(quote.status)})  # fmt: skip
    if not lines_of(session, quote_id):
        raise ValidationError(_("Add at least one line before you send the quote."))
    today = company_settings(session).today()
    valid_until = quote.valid_until if quote.valid_until and quote.valid_until >= today else (
        today + dt.timedelta(days=VALID_DAYS))  # fmt: skip
    return save(session, kind, quote_id, {"status": SENT, "issued_on": today, "valid_until": valid_until},
                actor=actor)  # fmt: skip


def reject(session: Session, kind: Any, quote_id: int, *, actor: Any, expected_version: int | None = None) -> Quote:
    quote = _locked(session, quote_id)
    _check_version(quote, expected_version)
    if quote.status != SENT:
        raise Conflict(_("Only a sent quote can be rejected; this one is %(status)s.") % {
            "status": status_label(quote.status)})  # fmt: skip
    return save(session, kind, quote_id, {"status": REJECTED}, actor=actor)


def accept(session: Session, kinds: Any, quote_id: int, *, actor: Any, expected_version: int | None = None) -> Any:
    """Accept a sent quote and make its order, in the caller's transaction; returns the order.

    A quote becomes at most one order: an accepted quote, or one with a newer revision, is refused (and the
    order's unique ``quote_id`` holds even against two clicks that race)."""
    from .orders import create_from_quote  # orders read quotes; the import runs one way at load time

    quote = _locked(session, quote_id)
    if quote.status == ACCEPTED:
        raise Conflict(_("This quote was accepted already; its order exists."))
    _check_version(quote, expected_version)
    if quote.status != SENT:
        raise Conflict(_("Only a sent quote can be accepted; this one is %(status)s.") % {
            "status": status_label(quote.status)})  # fmt: skip
    if superseded(session, quote):
        raise Conflict(_("A newer version of this quote exists; accept that one."))
    save(session, kinds["quote"], quote_id, {"status": ACCEPTED}, actor=actor)
    return create_from_quote(session, kinds["order"], quote, lines_of(session, quote_id), actor=actor)


def new_version(session: Session, kind: Any, quote_id: int, *, actor: Any) -> Quote:
    """A draft copy of a sent or rejected quote as revision + 1 with the same number; the old one stays."""
    quote = _locked(session, quote_id)
    if quote.status == DRAFT:
        raise Conflict(_("This quote is still a draft: change it in place."))
    if quote.status == ACCEPTED:
        raise Conflict(_("This quote was accepted and became an order; it gets no new versions."))
    if superseded(session, quote):
        raise Conflict(_("A newer version of this quote exists already; open that one."))
    today = company_settings(session).today()
    values = {
        "number": quote.number,
        "revision": quote.revision + 1,
        "opportunity_id": quote.opportunity_id,
        "customer_id": quote.customer_id,
        "currency": quote.currency,
        "status": DRAFT,
        "valid_until": quote.valid_until if quote.valid_until and quote.valid_until > today else (
            today + dt.timedelta(days=VALID_DAYS)),
        "note": quote.note,
        "owner_user_id": quote.owner_user_id,
        "owner_team_id": quote.owner_team_id,
        "subtotal_minor": quote.subtotal_minor,
        "discount_minor": quote.discount_minor,
        "tax_minor": quote.tax_minor,
        "total_minor": quote.total_minor,
    }  # fmt: skip
    live = custom_fields.by_key(session, "quote")
    values.update({f"cf.{key}": value for key, value in (quote.custom or {}).items()
                   if key in live and not live[key].removed and value is not None})  # fmt: skip
    with priced_write(session):  # the totals of the lines copied below
        copy = save(session, kind, None, values, actor=actor)
    old = lines_of(session, quote_id)
    if old:
        session.execute(insert(QuoteLine), [
            {**{c: getattr(line, c) for c in _STORED}, "quote_id": copy.id} for line in old
        ])  # fmt: skip
        audit_changes(session, kind, copy.id, {"lines": ([], _plain_lines(old))}, actor=actor)
    return copy


_STORED = ("position", *LINE_FIELDS, "gross_minor", "discount_minor", "net_minor", "tax_minor", "total_minor")

STATUS_LABELS = {DRAFT: N_("Draft"), SENT: N_("Sent"), ACCEPTED: N_("Accepted"), REJECTED: N_("Rejected")}
_STATUS_WORDS = {DRAFT: N_("a draft"), SENT: N_("sent"), ACCEPTED: N_("accepted"), REJECTED: N_("rejected")}


def status_label(status: str) -> str:
    """The status as a word inside a sentence ("… this one is rejected")."""
    return _(_STATUS_WORDS.get(status, status))
