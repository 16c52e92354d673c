"""The record kinds pipeline registers with core: opportunity, product, quote and order. Core's record
services (write path, audit, tags, custom fields, attachments, recycle bin, import/export) work on them
through these definitions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true

from voronka.core.records import RecordKind
from voronka.core.search_keys import search_key

from . import crm_import, deal_imports
from .models import Opportunity, Order, Product, Quote

VIEW, EDIT, MANAGE = "pipeline.view", "pipeline.edit", "pipeline.manage"

OPPORTUNITY_FIELDS = ("name", "customer_id", "pipeline_id", "stage_id", "amount_minor", "amount_currency",
                      "expected_close", "probability", "forecast_category", "status", "closed_on", "lost_reason",
                      "competitor", "description", "stage_entered_at", "owner_user_id", "owner_team_id")  # fmt: skip
OPPORTUNITY_AUDITED = (*tuple(f for f in OPPORTUNITY_FIELDS if f != "stage_entered_at"), "probability_manual")
PRODUCT_FIELDS = ("code", "name", "category", "description", "unit", "tax_rate_bp", "active")
QUOTE_FIELDS = ("number", "revision", "opportunity_id", "customer_id", "currency", "status", "issued_on",
                "valid_until", "note", "subtotal_minor", "discount_minor", "tax_minor", "total_minor",
                "owner_user_id", "owner_team_id")  # fmt: skip
ORDER_FIELDS = ("number", "quote_id", "opportunity_id", "customer_id", "currency", "status", "ordered_on", "note",
                "subtotal_minor", "discount_minor", "tax_minor", "total_minor", "owner_user_id",
                "owner_team_id")  # fmt: skip


def deal_url(deal_id: int) -> str:
    return f"/pipeline/deals/{deal_id}"


def _name_key(values: dict[str, Any]) -> dict[str, Any]:
    return {"name_key": search_key(values["name"])} if "name" in values else {}


def _everyone(_user: Any) -> ColumnElement[bool]:
    """The catalogue is the company's: everyone who may use the pipeline sees every product."""
    return true()


OPPORTUNITY_KIND = RecordKind(
    name="opportunity",
    label="Opportunity",
    model=Opportunity,
    url=deal_url,
    display=lambda deal: deal.name,
    fields=OPPORTUNITY_FIELDS,
    audited=OPPORTUNITY_AUDITED,
    derive=_name_key,
    view_permission=VIEW,
    edit_permission=EDIT,
    import_targets=deal_imports.opportunity_targets,
    import_sources=crm_import.SOURCES,
)

PRODUCT_KIND = RecordKind(
    name="product",
    label="Product",
    model=Product,
    url="/pipeline/products/{id}",
    display=lambda product: product.name,
    visibility=_everyone,
    fields=PRODUCT_FIELDS,
    derive=_name_key,
    view_permission=VIEW,
    edit_permission=MANAGE,
    import_targets=deal_imports.product_targets,
)

QUOTE_KIND = RecordKind(
    name="quote",
    label="Quote",
    model=Quote,
    url="/pipeline/quotes/{id}",
    display=lambda quote: f"{quote.number} v{quote.revision}" if quote.revision > 1 else quote.number,
    fields=QUOTE_FIELDS,
    view_permission=VIEW,
    edit_permission=EDIT,
)

ORDER_KIND = RecordKind(
    name="order",
    label="Order",
    model=Order,
    url="/pipeline/orders/{id}",
    display=lambda order: order.number,
    fields=ORDER_FIELDS,
    view_permission=VIEW,
    edit_permission=EDIT,
)

KINDS = [OPPORTUNITY_KIND, PRODUCT_KIND, QUOTE_KIND, ORDER_KIND]
