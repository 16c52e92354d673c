"""The quote pages: the list (filters: status, customer, owner; under the viewer's visibility), a new quote
from a deal (``/pipeline/quotes/new?deal=<id>``) or for a customer (``?customer=<id>``), the quote itself
(the line editor while it is a draft, read-only after), its actions (send, accept, reject, new version)
and the printable page.

The editor is one form: header fields and every line; saving replaces the draft's lines and recomputes
its totals in one transaction (:func:`.quotes.update_draft`). Picking a product in a line asks the server
for the line again, filled in (HTMX); without JavaScript the save fills what was left empty. Bad input
comes back next to its input with 400; a change the quote's status forbids, or a stale form, is a 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, go_to, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import existing_owner, owner_choices, parse_id, parse_owner, parse_version
from voronka.core.models import Team, User
from voronka.core.search_keys import prefix_filter
from voronka.core.security.markers import requires
from voronka.core.security.visibility import visible
from voronka.core.templating import is_htmx, render
from voronka.plugins.contacts.api import Party

from . import pricing, products, quotes
from .kinds import EDIT, VIEW
from .models import QUOTE_STATUSES, Opportunity, Order, Quote

PAGE = 50
BLANK_ROWS = 1
"""Empty line rows under a draft's lines (more come with "Add line")."""
CSS = ["quotes.css"]


def _kinds(request: Request) -> Any:
    return runtime(request).record_kinds


def _status_error(exc: ValidationError) -> int:
    return 409 if isinstance(exc, quotes.Conflict) else 400


def _message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    return "; ".join(str(v) for v in errors.values()) if errors else str(exc)


# -- loading -------------------------------------------------------------------------------------------


def load(request: Request, raw_id: Any = None) -> Quote:
    """The live quote the viewer may see; 404 otherwise (missing, hidden and junk ids look the same)."""
    quote_id = parse_id(request.path_params.get("quote_id") if raw_id is None else raw_id)
    found = None
    if quote_id is not None:
        kind = _kinds(request)["quote"]
        found = db(request).scalar(select(Quote).where(Quote.id == quote_id, kind.visible_to(user(request))))
    if found is None:
        raise HTTPException(404, _("There is no such quote, or it is not yours to see."))
    return found


def _names(request: Request, quote: Any) -> dict[str, Any]:
    session = db(request)
    customer = session.scalar(select(Party.name).where(Party.id == quote.customer_id)) if quote.customer_id else None
    deal = None
    if quote.opportunity_id:
        deal = session.execute(select(Opportunity.id, Opportunity.name, Opportunity.status)
                               .where(Opportunity.id == quote.opportunity_id,
                                      _kinds(request)["opportunity"].visible_to(user(request)))).first()  # fmt: skip
    owner = None
    if quote.owner_user_id:
        owner = session.scalar(select(User.display_name).where(User.id == quote.owner_user_id))
    elif quote.owner_team_id:
        owner = session.scalar(select(Team.name).where(Team.id == quote.owner_team_id))
    return {"customer_name": customer, "deal": deal, "owner_name": owner}


# -- the list ------------------------------------------------------------------------------------------


def _list_params(request: Request) -> dict[str, str]:
    params = request.query_params
    status = params.get("status", "")
    owner = params.get("owner", "")
    if owner not in ("", "mine") and parse_owner(owner) is None:
        owner = ""
    customer = parse_id(params.get("customer"))
    return {
        "status": status if status in QUOTE_STATUSES else "",
        "owner": owner,
        "customer": str(customer) if customer else "",
        "versions": "all" if params.get("versions") == "all" else "",
        "q": (params.get("q") or "").strip()[:40],
    }


@requires(VIEW)
async def quote_list(request: Request) -> Response:
    session, viewer = db(request), user(request)
    chosen = _list_params(request)
    kind = _kinds(request)["quote"]
    query = (select(Quote.id, Quote.number, Quote.revision, Quote.status, Quote.currency, Quote.total_minor,
                    Quote.valid_until, Quote.issued_on, Quote.customer_id, Quote.opportunity_id,
                    Party.name.label("customer_name"))
             .outerjoin(Party, Party.id == Quote.customer_id).where(kind.visible_to(viewer)))  # fmt: skip
    if chosen["status"]:
        query = query.where(Quote.status == chosen["status"])
    if chosen["customer"]:
        query = query.where(Quote.customer_id == int(chosen["customer"]))
    if chosen["owner"] == "mine":
        query = query.where(visible(Quote, _Own(viewer)))
    elif chosen["owner"]:
        who, number = parse_owner(chosen["owner"]) or ("", 0)
        query = query.where((Quote.owner_user_id if who == "user" else Quote.owner_team_id) == number)
    if chosen["q"]:
        query = query.where(Quote.number.startswith(chosen["q"].upper(), autoescape=True))
    if not chosen["versions"]:
        newer = aliased(Quote)
        query = query.where(~exists().where(and_(newer.number == Quote.number, newer.revision > Quote.revision,
                                                 newer.deleted_at.is_(None))))  # fmt: skip
    before = parse_id(request.query_params.get("before"))
    if before is not None:
        query = query.where(Quote.id < before)
    rows = list(session.execute(query.order_by(Quote.id.desc()).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    kept = {k: v for k, v in chosen.items() if v}
    customer_name = ""
    if chosen["customer"]:
        customer_name = session.scalar(select(Party.name).where(Party.id == int(chosen["customer"]))) or ""
    ctx = {
        "title": _("Quotes"),
        "extra_css": CSS,
        "chosen": chosen,
        "rows": rows,
        "next_url": "/pipeline/quotes?" + urlencode({**kept, "before": rows[-1].id}) if more and rows else "",
        "first_url": ("/pipeline/quotes" + ("?" + urlencode(kept) if kept else "")) if before else "",
        "statuses": [(s, _(quotes.STATUS_LABELS[s])) for s in QUOTE_STATUSES],
        "owners": owner_choices(session),
        "customer_name": customer_name,
        "clear_customer": "/pipeline/quotes?" + urlencode({k: v for k, v in kept.items() if k != "customer"}),
        "can_edit": viewer.can(EDIT),
        "status_labels": {s: _(label) for s, label in quotes.STATUS_LABELS.items()},
    }
    return render(request, "pipeline/quotes.html", ctx, block="results")


class _Own:
    """The viewer narrowed to their own scope: "my quotes" are the ones they or their queues own."""

    def __init__(self, viewer: Any):
        self.id, self.team_ids, self.visibility, self.is_authenticated = viewer.id, viewer.team_ids, "own", True


# -- a new quote ---------------------------------------------------------------------------------------


def _find_customers(request: Request, text: str) -> list[Any]:
    where = prefix_filter(Party.name_key, text)
    if where is None:
        return []
    viewer = user(request)
    query = (select(Party.id, Party.kind, Party.name, Party.city, Party.job_title)
             .where(where, Party.deleted_at.is_(None), visible(Party, viewer))
             .order_by(Party.name_key).limit(10))  # fmt: skip
    return list(db(request).execute(query))


def _new_context(request: Request, form: dict[str, str], **extra: Any) -> dict[str, Any]:
    """The new-quote form: from a deal (customer, currency and owner come with it) or for a customer."""
    session, viewer = db(request), user(request)
    deal = None
    deal_id = parse_id(form.get("deal"))
    if form.get("deal") and deal_id is None:
        raise HTTPException(404, _("There is no such deal, or it is not yours to see."))
    if deal_id is not None:
        deal = session.scalar(select(Opportunity).where(Opportunity.id == deal_id,
                                                        _kinds(request)["opportunity"].visible_to(viewer)))  # fmt: skip
        if deal is None:
            raise HTTPException(404, _("There is no such deal, or it is not yours to see."))
    customer_id = parse_id(form.get("customer_id") or form.get("customer"))
    if customer_id is None and deal is not None:
        customer_id = deal.customer_id
    customer = None
    if customer_id is not None:
        customer = session.execute(select(Party.id, Party.name).where(
            Party.id == customer_id, Party.deleted_at.is_(None), visible(Party, viewer))).first()  # fmt: skip
    query = (form.get("customer_id_q") or "").strip()[:100]
    ctx: dict[str, Any] = {
        "title": _("New quote"),
        "extra_css": CSS,
        "deal": deal,
        "customer": customer,
        "customer_query": query,
        "customer_matches": _find_customers(request, query) if query and customer is None else [],
        "form": form,
        "errors": {},
        "owners": owner_choices(session),
        "base_currency": company_settings(session).base_currency,
    }
    ctx.update(extra)
    return ctx


@requires(EDIT)
async def quote_new(request: Request) -> Response:
    viewer = user(request)
    if request.method == "GET":
        params = dict(request.query_params)
        today = company_settings(db(request)).today()
        form = {"deal": params.get("deal", ""), "customer_id": params.get("customer", ""), "owner": f"u:{viewer.id}",
                "valid_until": (today + dt.timedelta(days=quotes.VALID_DAYS)).isoformat()}  # fmt: skip
        ctx = _new_context(request, form)
        if ctx["deal"] is not None:
            deal = ctx["deal"]
            form["currency"] = deal.amount_currency or ctx["base_currency"]
            form["owner"] = f"u:{deal.owner_user_id}" if deal.owner_user_id else f"t:{deal.owner_team_id}"
        else:
            form["currency"] = ctx["base_currency"]
        return render(request, "pipeline/quote_new.html", ctx, block="form")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    ctx = _new_context(request, form)
    errors: dict[str, str] = {}
    deal, customer = ctx["deal"], ctx["customer"]
    if customer is None:
        errors["customer_id"] = (_("Pick one of the customers found.") if ctx["customer_matches"]
                                 else _("Pick the customer the quote is for."))  # fmt: skip
    currency = (form.get("currency") or "").strip().upper()
    if deal is not None and deal.amount_currency:
        currency = deal.amount_currency
    if deal is not None:
        owner = {"owner_user_id": deal.owner_user_id, "owner_team_id": deal.owner_team_id}
    else:
        owner = existing_owner(db(request), form.get("owner")) or {}
        if not owner:
            errors["owner"] = _("Choose an active user or a team as the owner.")
    valid_until, problem = _read_date(form.get("valid_until", ""))
    if problem:
        errors["valid_until"] = problem
    note = (form.get("note") or "").replace("\r\n", "\n").strip()
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                quote = quotes.create_quote(session, _kinds(request)["quote"], actor=viewer, customer_id=customer.id,
                                            currency=currency, owner=owner,
                                            opportunity_id=deal.id if deal is not None else None,
                                            valid_until=valid_until, note=note)  # fmt: skip
                quote_id = quote.id
        except ValidationError as exc:
            errors.update({str(k): str(v) for k, v in exc.errors.items()})
        else:
            target = f"/pipeline/quotes/{quote_id}"
            if is_htmx(request):
                return go_to(request, target)
            return RedirectResponse(target, status_code=303)
    ctx["errors"] = errors
    return render(request, "pipeline/quote_new.html", ctx, block="form", status_code=400)


def _read_date(raw: str) -> tuple[dt.date | None, str]:
    raw = (raw or "").strip()
    if not raw:
        return None, ""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None, _("Enter a date as YYYY-MM-DD.")
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        return None, _("Enter a date between 2000 and 2100.")
    return day, ""


# -- the quote -----------------------------------------------------------------------------------------


def _saved_rows(lines: list[Any], currency: str) -> list[dict[str, Any]]:
    return [{"product": str(line.product_id or ""), "description": line.description,
             "quantity": pricing.quantity_text(line.quantity_milli),
             "price": pricing.price_text(line.unit_price_minor, currency),
             "discount": pricing.percent_text(line.discount_bp) if line.discount_bp else "",
             "tax": pricing.percent_text(line.tax_rate_bp), "line": line} for line in lines]  # fmt: skip


def blank_row() -> dict[str, Any]:
    return {"product": "", "description": "", "quantity": "1", "price": "", "discount": "", "tax": ""}


def quote_context(request: Request, quote: Quote, **extra: Any) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    lines = quotes.lines_of(session, quote.id)
    editable = quote.status == quotes.DRAFT and viewer.can(EDIT)
    rows = extra.pop("rows", None)
    if rows is None:
        rows = _saved_rows(lines, quote.currency)
        if editable:
            rows += [blank_row() for _i in range(BLANK_ROWS if lines else 3)]
    sums = pricing.totals((line.tax_rate_bp, pricing.LineAmounts(line.gross_minor, line.discount_minor,
                           line.net_minor, line.tax_minor, line.total_minor)) for line in lines)  # fmt: skip
    order = session.execute(select(Order.id, Order.number).where(Order.quote_id == quote.id)).first()
    ctx: dict[str, Any] = {
        "title": _quote_title(quote),
        "extra_css": CSS,
        "quote": quote,
        "lines": lines,
        "rows": rows,
        "taxes": sums.taxes,
        "editable": editable,
        "can_edit": viewer.can(EDIT),
        "superseded": quotes.superseded(session, quote),
        "revisions": quotes.revisions(session, viewer, _kinds(request)["quote"], quote.number),
        "order": order,
        "products": products.pick_options(session, keep=(line.product_id for line in lines)) if editable else [],
        "errors": {},
        "notice": "",
        "problem": "",
        "form": {"valid_until": quote.valid_until.isoformat() if quote.valid_until else "", "note": quote.note},
        "status_label": _(quotes.STATUS_LABELS.get(quote.status, quote.status)),
        "status_names": quotes.STATUS_LABELS,
        "pct": pricing.percent_text,
        "qty": pricing.quantity_text,
        **_names(request, quote),
    }
    ctx.update(extra)
    return ctx


def _quote_title(quote: Quote) -> str:
    return _("Quote %(number)s") % {"number": quote.number} + (f" v{quote.revision}" if quote.revision > 1 else "")


def render_quote(request: Request, quote: Quote, status_code: int = 200, **extra: Any) -> Response:
    return render(request, "pipeline/quote.html", quote_context(request, quote, **extra), block="main",
                  status_code=status_code)  # fmt: skip


_NOTICES = {"sent": "The quote was sent: it is frozen now. Print it or save it as PDF.",
            "version": "This is a new version: change it and send it again.",
            "rejected": "The quote was marked rejected.", "saved": "Saved."}  # fmt: skip


@requires(VIEW)
async def quote_page(request: Request) -> Response:
    quote = load(request)
    notice = _NOTICES.get(request.query_params.get("done", ""), "")
    return render_quote(request, quote, notice=_(notice) if notice else "")


@requires(EDIT)
async def quote_save(request: Request) -> Response:
    """Save a draft: its header fields and all its lines, totals recomputed (one transaction)."""
    quote = load(request)
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    read = quotes.read_lines(db(request), raw, quote.currency)
    errors = dict(read.errors)
    valid_until, problem = _read_date(form.get("valid_until", ""))
    if problem:
        errors["valid_until"] = problem
    note = (form.get("note") or "").replace("\r\n", "\n").strip()
    version = parse_version(form.get("version"))
    if version is None:
        errors[""] = _("The form is incomplete; reload the page and try again.")
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                quotes.update_draft(session, _kinds(request)["quote"], quote.id, actor=user(request),
                                    expected_version=version, lines=read.lines,
                                    header={"valid_until": valid_until, "note": note})  # fmt: skip
        except StaleRecord as exc:
            db(request).rollback()
            return render_quote(request, load(request), 409, problem=str(exc))
        except ValidationError as exc:
            if isinstance(exc, quotes.Conflict):
                db(request).rollback()
                return render_quote(request, load(request), 409, problem=_message(exc))
            errors.update({str(k): str(v) for k, v in exc.errors.items()})
        else:
            if not is_htmx(request):
                return RedirectResponse(f"/pipeline/quotes/{quote.id}?done=saved", status_code=303)
            db(request).rollback()
            return render_quote(request, load(request), notice=_("Saved."))
    db(request).rollback()
    quote = load(request)
    rows = [*read.rows, blank_row()]
    return render_quote(request, quote, 400, rows=rows, errors=errors, form=form,
                        problem=_("Nothing was saved. Fix what is marked below and save again."))  # fmt: skip


@requires(EDIT)
async def line_row(request: Request) -> Response:
    """One editor row (HTMX): a blank one for "Add line", or the row filled from the product just picked."""
    quote = load(request)
    params = request.query_params
    raw_index = params.get("i") or "0"
    index = int(raw_index) if raw_index.isascii() and raw_index.isdigit() and len(raw_index) <= 3 else None
    if index is None:
        raise HTTPException(404, _("There is no such line."))
    row = {name: (params.get(f"line-{index}-{name}") or "")[:600]
           for name in ("product", "description", "quantity", "price", "discount", "tax")}  # fmt: skip
    row = {**blank_row(), **{k: v for k, v in row.items() if v}}
    errors: dict[str, str] = {}
    if params.get("fill"):
        product, price, problem = quotes.product_fill(db(request), parse_id(row["product"]), quote.currency)
        if product is not None:
            row["description"] = product.name
            row["tax"] = pricing.percent_text(product.tax_rate_bp)
            row["price"] = pricing.price_text(price, quote.currency) if price is not None else ""
        if problem:
            errors[f"line-{index}-{'product' if product is None else 'price'}"] = problem
    ctx = {"quote": quote, "row": row, "i": index, "errors": errors, "products": products.pick_options(db(request)),
           "add_next": None if params.get("fill") else index + 1}  # fmt: skip
    return render(request, "pipeline/_quote_line.html", ctx)


def _action(name: str) -> Any:
    """A status action (send, reject, new version) as a POST with the version the page showed."""

    @requires(EDIT)
    async def act(request: Request) -> Response:
        quote = load(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        version = parse_version(form.get("version"))
        kinds = _kinds(request)
        try:
            with write_transaction(runtime(request).sessions) as session:
                if name == "send":
                    target, done = quotes.send(session, kinds["quote"], quote.id, actor=user(request),
                                               expected_version=version).id, "sent"  # fmt: skip
                elif name == "reject":
                    target, done = quotes.reject(session, kinds["quote"], quote.id, actor=user(request),
                                                 expected_version=version).id, "rejected"  # fmt: skip
                else:
                    target, done = (
                        quotes.new_version(session, kinds["quote"], quote.id, actor=user(request)).id,
                        "version",
                    )
        except StaleRecord as exc:
            db(request).rollback()
            return render_quote(request, load(request), 409, problem=str(exc))
        except ValidationError as exc:
            db(request).rollback()
            return render_quote(request, load(request), _status_error(exc), problem=_message(exc))
        url = f"/pipeline/quotes/{target}?done={done}"
        if is_htmx(request):
            return go_to(request, url)
        return RedirectResponse(url, status_code=303)

    act.__name__ = f"quote_{name.replace('-', '_')}"
    return act


@requires(EDIT)
async def quote_accept(request: Request) -> Response:
    """Accept a sent quote: its order is made in the same transaction; the order's page offers to mark the
    deal won."""
    quote = load(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    version = parse_version(form.get("version"))
    try:
        with write_transaction(runtime(request).sessions) as session:
            order = quotes.accept(session, _kinds(request), quote.id, actor=user(request), expected_version=version)
            order_id = order.id
    except StaleRecord as exc:
        db(request).rollback()
        return render_quote(request, load(request), 409, problem=str(exc))
    except ValidationError as exc:
        db(request).rollback()
        return render_quote(request, load(request), _status_error(exc), problem=_message(exc))
    url = f"/pipeline/orders/{order_id}?done=accepted"
    if is_htmx(request):
        return go_to(request, url)
    return RedirectResponse(url, status_code=303)


@requires(VIEW)
async def quote_print(request: Request) -> Response:
    """A clean page to print or save as PDF from the browser (print stylesheet in quotes.css)."""
    quote = load(request)
    session = db(request)
    customer = session.scalar(select(Party).where(Party.id == quote.customer_id)) if quote.customer_id else None
    ctx = quote_context(request, quote, rows=[])
    ctx.update({"company": company_settings(session), "customer": customer, "printed_on": company_settings(
        session).today()})  # fmt: skip
    return render(request, "pipeline/quote_print.html", ctx)


routes: list[Any] = [
    Route("/quotes", quote_list, methods=["GET"], name="quotes"),
    Route("/quotes/new", quote_new, methods=["GET", "POST"], name="quote_new"),
    Route("/quotes/{quote_id:int}", quote_page, methods=["GET"], name="quote"),
    Route("/quotes/{quote_id:int}", quote_save, methods=["POST"], name="quote_save"),
    Route("/quotes/{quote_id:int}/line", line_row, methods=["GET"], name="quote_line"),
    Route("/quotes/{quote_id:int}/send", _action("send"), methods=["POST"], name="quote_send"),
    Route("/quotes/{quote_id:int}/reject", _action("reject"), methods=["POST"], name="quote_reject"),
    Route("/quotes/{quote_id:int}/new-version", _action("new-version"), methods=["POST"], name="quote_new_version"),
    Route("/quotes/{quote_id:int}/accept", quote_accept, methods=["POST"], name="quote_accept"),
    Route("/quotes/{quote_id:int}/print", quote_print, methods=["GET"], name="quote_print"),
]
