"""What a CSV import into deals and products offers beyond their columns: names where the columns hold ids.

Core's import maps a column to a record kind's fields; for deals that means ids (customer, stage) and minor
units (amount), which nobody has in a spreadsheet. These targets replace those columns' targets (the kind's
``import_targets``) and read what people write:

- **customer** (``customer_id``): an organisation by its exact name as contacts keys it (``name_key``, so
  quotes and case do not matter, spelling does), or ``#id`` for any party. An unknown name fails the row:
  the organisations are imported first.
- **stage** (``stage_id``): a stage of the default pipeline by its name (English or translated), or by the
  common CRM words in :data:`DEFAULT_STAGE_MAP` (Prospecting, Engaging, Won, Lost).
- **amount** (``amount_minor``): a number with at most two decimals ("1 054,50"), stored in minor units.
- **product** (after the batch): the deal's product, by its exact name, into the deal's ``product`` custom
  field (a link to a product; the field must exist: an admin adds it under custom fields, or
  :func:`ensure_product_field`). A name that is not in the catalogue is reported on its row ("GTXPro" is
  not "GTX Pro") and the deal stays without a product: nothing is guessed.
- **outcome** (after the batch): "won 2017-03-01" or "lost 2017-03-01" moves the new deal to its won or
  lost stage on that day, so the stage history keeps the stay before it (a file that says when a deal was
  engaged and when it closed gets both stays).

Products: prices per currency (``price_uah``, ``price_usd``, ``price_eur``), written to the price table
after each batch. Wire-up: ``import_targets=deal_imports.opportunity_targets`` on the opportunity kind and
``import_targets=deal_imports.product_targets`` on the product kind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from voronka.core import custom_fields
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.imports_targets import AfterBatch, Lookups, Pending, Target, parse_date, parse_decimal
from voronka.core.search_keys import search_key
from voronka.core.writes import save_batch
from voronka.plugins.contacts.api import Party, organisation_key

from .models import LOST, NAME_MAX, WON, Product, ProductPrice
from .stages import PipelineInfo, catalogue

PRODUCT_FIELD = "product"
"""The key of the deals' custom field that holds their product (a link to a product)."""
PRICE_CURRENCIES = ("UAH", "USD", "EUR")
DEFAULT_STAGE_MAP = {"prospecting": "Initial contact", "engaging": "Interest confirmed", "won": "Won", "lost": "Lost"}
"""The stages of the Maven-style "CRM Sales Opportunities" file (Prospecting > Engaging > Won / Lost) in the
default pipeline: a prospect is at first contact; "engaging" means the customer answered, which is interest
confirmed, not yet qualified. When a stage of that name is gone, the role decides: the first or second open
stage, the won or lost stage."""
_ROLE = {"prospecting": 0, "engaging": 1}


# -- names → ids -----------------------------------------------------------------------------------------


def _compact(text: str) -> str:
    """Letters and digits only, case folded: how two spellings of one name are noticed (never matched)."""
    return re.sub(r"[\W_]+", "", text.casefold())


def stage_names(pipeline: PipelineInfo, mapping: dict[str, str] | None = None) -> dict[str, int]:
    """Live stage ids of ``pipeline`` by every name a file may use: the stored name, the translated label,
    and the words of ``mapping`` (default :data:`DEFAULT_STAGE_MAP`), all case folded."""
    stages = [s for s in pipeline.stages if not s.archived]
    names: dict[str, int] = {}
    for stage in stages:
        names.setdefault(stage.name.casefold(), stage.id)
        names.setdefault(stage.label.casefold(), stage.id)
    opens = pipeline.open_stages
    for word, target in (mapping or DEFAULT_STAGE_MAP).items():
        stage_id = names.get(target.casefold())
        if stage_id is None and word.casefold() in _ROLE and len(opens) > _ROLE[word.casefold()]:
            stage_id = opens[_ROLE[word.casefold()]].id
        if stage_id is None and word.casefold() in (WON, LOST):
            closing = pipeline.closing(word.casefold())
            stage_id = closing.id if closing is not None else None
        if stage_id is not None:
            names.setdefault(word.casefold(), stage_id)
    return names


def _stage_parser(session: Session) -> Callable[[str], int]:
    pipeline = catalogue(session).default()
    names = stage_names(pipeline) if pipeline is not None else {}
    shown = ", ".join(s.label for s in pipeline.stages if not s.archived) if pipeline is not None else ""

    def parse(text: str) -> int:
        stage_id = names.get(text.strip().casefold())
        if stage_id is None:
            raise ValidationError(_("There is no stage “%(name)s”; write one of: %(stages)s.")
                                  % {"name": text.strip(), "stages": shown})  # fmt: skip
        return stage_id

    return parse


class CustomerNames:
    """Organisations by exact name (contacts' ``name_key``), looked up on demand through the engine and
    remembered for the import: a file names the same few customers over and over, and the table may hold a
    million parties, so nothing is loaded up front. System scope, as contacts' employer links: whether the
    importer may see the customer is the write path's business (a deal links to what its owner picks)."""

    def __init__(self, session: Session):
        self.engine = session.get_bind()
        self.known: dict[str, int | None] = {}

    def __call__(self, text: str) -> int:
        raw = " ".join(text.split())
        if re.fullmatch(r"#\d{1,18}", raw):
            return int(raw[1:])
        key = _org_key(raw)
        if key not in self.known:
            with self.engine.connect() as connection:
                found = connection.execute(_ORG_BY_KEY, {"key": key}).first()
            self.known[key] = found[0] if found is not None else None
        party_id = self.known[key]
        if party_id is None:
            raise ValidationError(_("There is no organisation called “%(name)s”; import the organisations first.")
                                  % {"name": raw})  # fmt: skip
        return party_id


def _org_key(name: str) -> str:
    return organisation_key(name)


_ORG_BY_KEY = (
    select(Party.id)
    .where(Party.kind == "organisation", Party.name_key == bindparam("key"), Party.deleted_at.is_(None))
    .order_by(Party.id)
    .limit(1)
)


def parse_amount(text: str) -> int:
    """A non-negative amount with at most two decimals → minor units ("1 054,50" → 105450); the number is
    read by core's :func:`~voronka.core.imports_targets.parse_decimal` (spaces, a decimal comma)."""
    value = parse_decimal(text)
    if value < 0:
        raise ValidationError(_("An amount is a number of zero or more, such as 1250.50."))
    minor = value * 100
    if minor != minor.to_integral_value():
        raise ValidationError(_("“%(text)s” has more than two decimals.") % {"text": text})
    return int(minor)


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValidationError(_("Write a currency code of three letters, such as UAH, EUR or USD."))
    return code


def parse_name(text: str) -> str:
    value = " ".join(text.split())
    if len(value) > NAME_MAX:
        raise ValidationError(_("Keep the name under %(n)s characters.") % {"n": NAME_MAX})
    return value


def _pipeline_parser(session: Session) -> Callable[[str], int]:
    names = {}
    for pipeline in catalogue(session).live:
        names.setdefault(pipeline.name.casefold(), pipeline.id)
        names.setdefault(pipeline.label.casefold(), pipeline.id)

    def parse(text: str) -> int:
        pipeline_id = names.get(text.strip().casefold())
        if pipeline_id is None:
            raise ValidationError(_("There is no pipeline “%(name)s”.") % {"name": text.strip()})
        return pipeline_id

    return parse


def parse_moment(text: str) -> dt.datetime:
    """A date (noon UTC that day, so it stays that day in any time zone near Europe) or a date and time."""
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].+", raw):
        try:
            value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError(_("“%(text)s” is not a date and time.") % {"text": text}) from None
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(parse_date(raw), dt.time(12), tzinfo=dt.UTC)


def _outcome_parser(session: Session) -> Callable[[str], tuple[int, str]]:
    pipeline = catalogue(session).default()
    closing = {o: pipeline.closing(o) for o in (WON, LOST)} if pipeline is not None else {}
    words = {WON: WON, LOST: LOST, _("Won").casefold(): WON, _("Lost").casefold(): LOST}

    def parse(text: str) -> tuple[int, str]:
        parts = text.split(None, 1)
        outcome = words.get(parts[0].casefold()) if parts else None
        stage = closing.get(outcome) if outcome else None
        if stage is None or len(parts) < 2:
            raise ValidationError(_("Write won or lost and the date, such as “won 2025-03-01”."))
        return stage.id, parse_date(parts[1]).isoformat()

    return parse


# -- after the batch ---------------------------------------------------------------------------------------


def _products(session: Session) -> tuple[dict[str, int], dict[str, str]]:
    """Live products by search key of their name, and their names by compact spelling (for the report)."""
    exact: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for product_id, name, key in session.execute(
        select(Product.id, Product.name, Product.name_key).where(Product.deleted_at.is_(None)).order_by(Product.id)
    ):
        exact.setdefault(key, product_id)
        spelled.setdefault(_compact(name), name)
    return exact, spelled


def product_after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
    """Put each deal's product in its product field; a name not in the catalogue is reported, not guessed."""
    field = custom_fields.by_key(ctx.session, "opportunity").get(PRODUCT_FIELD)
    if field is None or field.type != "link":
        reason = _("Deals have no product field; add a custom field “product” (a link to a product) first.")
        return [(n, rid, value, reason) for n, rid, value, _r in items]
    exact, spelled = _products(ctx.session)
    applied, rows, left = [], [], []
    for item in items:
        number, record_id, value, _reason = item
        product_id = exact.get(search_key(str(value)))
        if product_id is not None:
            applied.append(item)
            rows.append((record_id, {f"cf.{PRODUCT_FIELD}": f"product:{product_id}"}))
            continue
        near = spelled.get(_compact(str(value)))
        reason = (_("There is no product “%(name)s” (the catalogue spells it “%(near)s”); the deal has no product.")
                  % {"name": value, "near": near}) if near else (
                  _("There is no product “%(name)s”; the deal has no product.") % {"name": value})  # fmt: skip
        left.append((number, record_id, value, reason))
    outcomes = save_batch(ctx.session, ctx.kinds["opportunity"], rows, actor=ctx.user.id) if rows else []
    failed = [(n, rid, v, "; ".join(o.errors.values()))
              for (n, rid, v, _r), o in zip(applied, outcomes, strict=True) if o.outcome == "failed"]  # fmt: skip
    return failed + left  # kept to the end of the import, then reported on their rows


def outcome_after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
    """Move each new deal to its won or lost stage on the given day (one more stay in its history)."""
    rows = []
    for _number, record_id, (stage_id, day), _reason in items:
        on = dt.date.fromisoformat(day)
        entered = parse_moment(day)
        rows.append((record_id, {"stage_id": stage_id, "closed_on": on, "stage_entered_at": entered}))
    outcomes = save_batch(ctx.session, ctx.kinds["opportunity"], rows, actor=ctx.user.id)
    failed = [(n, rid, v, "; ".join(o.errors.values())) for (n, rid, v, _r), o in zip(items, outcomes, strict=True)
              if o.outcome == "failed"]  # fmt: skip
    return failed


def _price_after(currency: str) -> Callable[[AfterBatch, list[Pending]], list[Pending]]:
    def after(ctx: AfterBatch, items: list[Pending]) -> list[Pending]:
        ids = [rid for _n, rid, _v, _r in items]
        have = set(ctx.session.scalars(select(ProductPrice.product_id).where(
            ProductPrice.product_id.in_(ids), ProductPrice.currency == currency)))  # fmt: skip
        new = [{"product_id": rid, "currency": currency, "unit_price_minor": v}
               for _n, rid, v, _r in items if rid not in have]  # fmt: skip
        old = [{"pid": rid, "price": v} for _n, rid, v, _r in items if rid in have]
        if new:
            ctx.session.execute(insert(ProductPrice), new)
        if old:
            prices = ProductPrice.__table__
            ctx.session.execute(
                update(prices)
                .where(prices.c.product_id == bindparam("pid"), prices.c.currency == currency)
                .values(unit_price_minor=bindparam("price")),
                old,
            )
        return []

    return after


# -- the targets ---------------------------------------------------------------------------------------------


def opportunity_targets(session: Session, lookups: Lookups) -> list[Target]:
    """Deal columns by name (customer, stage, amount) and the product and outcome after the batch."""
    return [
        Target("customer_id", _("Customer (organisation name or #id)"), CustomerNames(session),
               aliases=("customer", "account", "company", "organisation", "organization", "клієнт", "компанія")),
        Target("stage_id", _("Stage (name)"), _stage_parser(session),
               aliases=("stage", "deal_stage", "deal stage", "етап", "стадія")),
        Target("pipeline_id", _("Pipeline (name; the default one when empty)"), _pipeline_parser(session),
               aliases=("pipeline", "воронка")),
        Target("stage_entered_at", _("In the stage since (date)"), parse_moment,
               aliases=("stage entered", "engage_date", "у етапі з")),
        Target("amount_minor", _("Amount"), parse_amount,
               aliases=("amount", "value", "close_value", "deal value", "сума")),
        Target("amount_currency", _("Currency (ISO code: UAH, EUR, USD…)"), parse_currency,
               aliases=("currency", "валюта")),
        Target(PRODUCT_FIELD, _("Product (name, into the deal's product field)"), parse_name, after=product_after,
               aliases=("product", "продукт", "товар")),
        Target("outcome", _("Won or lost on (e.g. “won 2025-03-01”: moves the deal that day)"),
               _outcome_parser(session), after=outcome_after, aliases=("result", "результат")),
    ]  # fmt: skip


def product_targets(session: Session, lookups: Lookups) -> list[Target]:
    """A product's list price per currency, as a plain amount."""
    return [
        Target(f"price_{code.lower()}", _("Price in %(currency)s") % {"currency": code}, parse_amount,
               after=_price_after(code), aliases=(f"price {code}", f"ціна {code}"))
        for code in PRICE_CURRENCIES
    ]  # fmt: skip


def ensure_product_field(session: Session, kinds: Any) -> None:
    """Add the deals' product field (a link to a product) if it is missing, as an admin would."""
    if PRODUCT_FIELD in custom_fields.by_key(session, "opportunity"):
        return
    from voronka.core.custom_fields_admin import create_field

    create_field(session, kinds["opportunity"], {"label": "Product", "key": PRODUCT_FIELD, "type": "link",
                                                 "link_kind": "product"})  # fmt: skip


__all__ = [
    "DEFAULT_STAGE_MAP",
    "PRODUCT_FIELD",
    "CustomerNames",
    "ensure_product_field",
    "opportunity_targets",
    "parse_amount",
    "product_targets",
    "stage_names",
]
