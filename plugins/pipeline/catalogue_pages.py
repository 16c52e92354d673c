"""The product catalogue's pages: ``/pipeline/products`` (search by name or code, keyset pages),
``/pipeline/products/new`` and ``/pipeline/products/{id}``, edited in place (HTMX swaps the product's
section for its form and back; without JavaScript the same URLs are plain pages and a 303 back).

Everyone with ``pipeline.view`` reads the catalogue; only ``pipeline.manage`` changes it. Writes go
through :func:`.products.save_product` in one transaction; bad input comes back next to its field (400),
a stale form is a 409 with the saved values, nothing is written.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core import custom_fields
from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_version
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render

from . import pricing, products
from .kinds import MANAGE, VIEW
from .models import Product

PAGE = 50
EMPTY_PRICE_ROWS = 2


def _kind(request: Request) -> Any:
    return runtime(request).record_kinds["product"]


def _load(request: Request) -> Product:
    product_id = parse_id(request.path_params.get("product_id"))
    found = None
    if product_id is not None:
        found = db(request).query(Product).filter(Product.id == product_id, Product.deleted_at.is_(None)).first()
    if found is None:
        raise HTTPException(404, _("There is no such product in the catalogue."))
    return found


def _decode_after(raw: str) -> tuple[str, int] | None:
    key, sep, number = (raw or "").rpartition(":")
    value = parse_id(number) if sep else None
    return (key, value) if value is not None and len(key) <= 400 else None


@requires(VIEW)
async def product_list(request: Request) -> Response:
    session, params = db(request), request.query_params
    q = (params.get("q") or "").strip()[:100]
    show = params.get("show") if params.get("show") in ("all", "inactive") else "active"
    after = _decode_after(params.get("after", ""))
    rows = products.search(session, q, active_only=show == "active", limit=PAGE + 1, after=after)
    if show == "inactive":
        rows = [r for r in rows if not r.active]
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    query = {k: v for k, v in (("q", q), ("show", show if show != "active" else "")) if v}
    next_url = ""
    if more and rows:
        next_url = "/pipeline/products?" + urlencode({**query, "after": f"{rows[-1].name_key}:{rows[-1].id}"})
    ctx = {
        "title": _("Products"),
        "extra_css": ["quotes.css"],
        "q": q,
        "show": show,
        "rows": rows,
        "prices": products.prices_of(session, [r.id for r in rows]),
        "next_url": next_url,
        "first_url": "/pipeline/products" + ("?" + urlencode(query) if query else "") if after else "",
        "can_manage": user(request).can(MANAGE),
        "pct": pricing.percent_text,
        "price_text": pricing.price_text,
    }
    return render(request, "pipeline/products.html", ctx, block="results")


def _form_context(request: Request, product: Product | None, *, errors: dict[str, str] | None = None,
                  stale: str = "", submitted: products.ProductForm | None = None) -> dict[str, Any]:  # fmt: skip
    """The product form: the product's values (or a new product's defaults), or what was submitted."""
    session = db(request)
    fields = custom_fields.definitions(session, "product")
    if submitted is not None:
        form, rows = submitted.shown, submitted.price_rows
    elif product is not None:
        prices = products.prices_of(session, [product.id])[product.id]
        rows = [(code, pricing.price_text(minor, code)) for code, minor in prices.items()]
        form = {"code": product.code, "name": product.name, "category": product.category, "unit": product.unit,
                "description": product.description, "tax_rate": pricing.percent_text(product.tax_rate_bp),
                "active": "1" if product.active else "",
                **custom_fields.form_values(fields, product.custom)}  # fmt: skip
    else:
        rows = [(company_settings(session).base_currency, "")]
        form = {"active": "1", "unit": _("pcs"), "tax_rate": "20"}
    return {
        "form": form,
        "price_rows": rows,
        "errors": errors or {},
        "stale": stale,
        "cf_fields": fields,
        "empty_rows": 0 if submitted is not None else EMPTY_PRICE_ROWS,
    }


def _page_context(request: Request, product: Product, **extra: Any) -> dict[str, Any]:
    session = db(request)
    ctx: dict[str, Any] = {
        "title": product.name,
        "extra_css": ["quotes.css"],
        "product": product,
        "prices": products.prices_of(session, [product.id])[product.id],
        "cf_rows": custom_fields.rows_for_card(session, "product", product.custom),
        "can_manage": user(request).can(MANAGE),
        "editing": False,
        "notice": "",
        "pct": pricing.percent_text,
    }
    ctx.update(extra)
    return ctx


def _product_response(request: Request, product: Product, status_code: int = 200, **extra: Any) -> Response:
    ctx = _page_context(request, product, **extra)
    if ctx["editing"]:
        ctx.update(_form_context(request, product, **{k: v for k, v in extra.items() if k in _FORM_KEYS}))
    return render(request, "pipeline/product.html", ctx, block="main", status_code=status_code)


_FORM_KEYS = ("errors", "stale", "submitted")


@requires(VIEW)
async def product_page(request: Request) -> Response:
    product = _load(request)
    saved = request.query_params.get("saved") == "1"
    return _product_response(request, product, notice=_("Saved.") if saved else "")


@requires(MANAGE)
async def product_edit(request: Request) -> Response:
    return _product_response(request, _load(request), editing=True)


@requires(MANAGE)
async def product_save(request: Request) -> Response:
    product = _load(request)
    raw = await request.form()
    submitted = products.read_form(db(request), raw)
    version = parse_version(raw.get("version"))
    if version is None:
        submitted.errors.setdefault("", _("The form is incomplete; reload the page and try again."))
    if not submitted.errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                products.save_product(session, _kind(request), product.id, submitted.values, submitted.prices,
                                      actor=user(request), expected_version=version)  # fmt: skip
        except StaleRecord as exc:
            db(request).rollback()
            fresh = _load(request)
            return _product_response(request, fresh, 409, editing=True, stale=str(exc))
        except ValidationError as exc:
            submitted.errors.update({str(k): str(v) for k, v in exc.errors.items()})
        else:
            if not is_htmx(request):
                return RedirectResponse(f"/pipeline/products/{product.id}?saved=1", status_code=303)
            db(request).rollback()
            return _product_response(request, _load(request), notice=_("Saved."))
    db(request).rollback()
    return _product_response(request, _load(request), 400, editing=True, errors=submitted.errors,
                             submitted=submitted)  # fmt: skip


@requires(MANAGE)
async def product_new(request: Request) -> Response:
    base = {"title": _("New product"), "extra_css": ["quotes.css"], "creating": True}
    if request.method == "GET":
        return render(request, "pipeline/product_new.html", {**base, **_form_context(request, None)}, block="form")
    raw = await request.form()
    submitted = products.read_form(db(request), raw)
    if not submitted.errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                created = products.save_product(session, _kind(request), None, submitted.values, submitted.prices,
                                                actor=user(request))  # fmt: skip
                product_id = created.id
        except ValidationError as exc:
            submitted.errors.update({str(k): str(v) for k, v in exc.errors.items()})
        else:
            target = f"/pipeline/products/{product_id}"
            if is_htmx(request):
                return go_to(request, target)
            return RedirectResponse(target, status_code=303)
    ctx = {**base, **_form_context(request, None, errors=submitted.errors, submitted=submitted)}
    return render(request, "pipeline/product_new.html", ctx, block="form", status_code=400)


routes: list[Any] = [
    Route("/products", product_list, methods=["GET"], name="products"),
    Route("/products/new", product_new, methods=["GET", "POST"], name="product_new"),
    Route("/products/{product_id:int}", product_page, methods=["GET"], name="product"),
    Route("/products/{product_id:int}", product_save, methods=["POST"], name="product_save"),
    Route("/products/{product_id:int}/edit", product_edit, methods=["GET"], name="product_edit"),
]
