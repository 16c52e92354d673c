"""The board: one pipeline's open deals as columns, won and lost as drop zones, moving, quick create and
quick edit of cards.

Reads go through :mod:`.board_query`; every write is one transaction through core's ``writes.save`` (so
the rules of :mod:`.deal_rules` decide status, probability, history and events). A move answers with the
card where it really is and, out of band, the headers of the columns it touched: a stale version is a 409
that puts the card back where the other person left it; a closed deal, an archived stage or a junk id is a
4xx with a message and nothing stored. Without JavaScript the same URLs are plain forms and links.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.company import company_settings, currency_codes
from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_count, parse_id, parse_version
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render
from voronka.core.types import Money
from voronka.core.writes import save

from . import board_query as bq
from . import deal_filters
from .card_markup import card_html
from .deal_filters import PERIODS, DealFilter
from .kinds import EDIT, VIEW
from .models import LOST, NAME_MAX, OPEN
from .stages import Catalogue, PipelineInfo, StageInfo, catalogue

DEFAULT_LIMIT = 50
REASON_MAX = 200
LOST_REASONS = (
    N_("Price"),
    N_("Chose a competitor"),
    N_("No budget"),
    N_("No decision"),
    N_("Timing"),
    N_("Lost contact"),
)
"""Suggestions offered in the lost dialog (the field stays free text)."""


def board_limit(request: Request) -> int:
    try:
        return int(runtime(request).settings_store.get(db(request), "pipeline", "board_limit") or DEFAULT_LIMIT)
    except (KeyError, TypeError, ValueError):
        return DEFAULT_LIMIT


def board_pipeline(book: Catalogue, flt: DealFilter) -> PipelineInfo | None:
    return (book.pipeline(flt.pipeline_id) if flt.pipeline_id else None) or book.default()


@dataclass
class Board:
    """What the board page and its fragments show."""

    request: Request
    flt: DealFilter
    pipeline: PipelineInfo | None
    today: dt.date
    base: str
    limit: int
    stages: dict[int, StageInfo] = field(default_factory=dict)

    @classmethod
    def load(cls, request: Request) -> Board:
        session, viewer = db(request), user(request)
        flt = deal_filters.parse(session, viewer, request.query_params)
        settings = company_settings(session)
        pipeline = board_pipeline(catalogue(session), flt)
        stages = {s.id: s for s in pipeline.stages} if pipeline else {}
        return cls(request, flt, pipeline, settings.today(), settings.base_currency, board_limit(request), stages)

    @property
    def qs(self) -> str:
        return self.flt.query_string(pipeline_id=self.pipeline.id if self.pipeline else None)

    def url(self, path: str) -> str:
        return f"/pipeline/board{path}" + (f"?{self.qs}" if self.qs else "")

    def zone_period(self) -> tuple[dt.date | None, dt.date | None, str]:
        """The won/lost zones' period: the filter's close period, or this month."""
        if self.flt.period not in ("", "overdue"):
            return self.flt.start, self.flt.end, _(PERIODS[self.flt.period])
        start, end = deal_filters.period_bounds(company_settings(db(self.request)), "this_month", self.today)
        return start, end, _("This month")

    def figures(self, only: set[int] | None = None) -> dict[int, bq.Figures]:
        assert self.pipeline is not None
        session, viewer = db(self.request), user(self.request)
        return bq.column_figures(session, viewer, self.flt, self.pipeline, self.today, self.base, only)

    def zones(self) -> list[tuple[StageInfo, bq.Figures]]:
        assert self.pipeline is not None
        start, end, _label = self.zone_period()
        found = bq.zone_figures(db(self.request), user(self.request), self.flt, self.pipeline, self.today, self.base,
                                start, end)  # fmt: skip
        return [(s, found[s.id]) for s in self.pipeline.stages if s.id in found]

    def cards(self, rows: list[Any]) -> list[bq.Card]:
        labels = bq.owner_labels(db(self.request), rows)
        found = bq.cards(rows, labels, self.stages, self.today)
        can_edit = user(self.request).can(EDIT)
        for card in found:
            card.html = card_html(card, can_edit)
        return found

    def columns_and_zones(self) -> tuple[list[bq.Column], list[tuple[StageInfo, bq.Figures]]]:
        """The whole board in five queries: column sums, won/lost sums, rates, the cards, their owners."""
        if self.pipeline is None:
            return [], []
        session, viewer = db(self.request), user(self.request)
        start, end, _label = self.zone_period()
        figures, zones = bq.board_figures(session, viewer, self.flt, self.pipeline, self.today, self.base, start,
                                          end)  # fmt: skip
        shown = bq.board_cards(session, viewer, self.flt, self.pipeline, self.today, self.limit)
        by_id = {c.id: c for c in self.cards([row for rows, _more in shown.values() for row in rows])}
        columns = [bq.Column(stage, figures[stage.id], [by_id[row.id] for row in shown[stage.id][0]],
                             shown[stage.id][1]) for stage in self.pipeline.open_stages]  # fmt: skip
        return columns, [(s, zones[s.id]) for s in self.pipeline.stages if s.id in zones]

    def context(self, **extra: Any) -> dict[str, Any]:
        viewer = user(self.request)
        session = db(self.request)
        ctx: dict[str, Any] = {
            "board": self,
            "flt": self.flt,
            "pipeline": self.pipeline,
            "pipelines": catalogue(session).live,
            "qs": self.qs,
            "move_url": self.url("/move"),
            "can_edit": viewer.can(EDIT),
            "base": self.base,
            "periods": PERIODS,
            "today": self.today,
            "message": None,
            "message_kind": "ok",
            "dialog": None,
        }
        ctx.update(extra)
        return ctx


def _page_context(board: Board, **extra: Any) -> dict[str, Any]:
    session, viewer = db(board.request), user(board.request)
    columns, zones = board.columns_and_zones()
    return board.context(
        columns=columns,
        zones=zones,
        zone_label=board.zone_period()[2],
        owner_options=deal_filters.owner_options(session, viewer),
        extra_css=["board.css"],
        title=_("Board"),
        **extra,
    )


@requires(VIEW)
async def board_page(request: Request) -> Response:
    board = Board.load(request)
    return render(request, "pipeline/board.html", _page_context(board), block="board")


@requires(VIEW)
async def board_more(request: Request) -> Response:
    """The next cards of one column ("show more")."""
    board = Board.load(request)
    stage = board.stages.get(parse_id(request.query_params.get("stage")) or 0)
    offset = parse_count(request.query_params.get("offset"))
    if board.pipeline is None or stage is None or stage.closed or offset is None:
        return _message_only(request, _("That column is not on this board; reload the page."), 400)
    rows, more = bq.column_cards(db(request), user(request), board.flt, board.pipeline, stage, board.today,
                                 board.limit, offset)  # fmt: skip
    ctx = board.context(cards=board.cards(rows), stage=stage, more=more, offset=offset + len(rows))
    return render(request, "pipeline/_board_more.html", ctx)


def _message_only(request: Request, text: str, status: int, remove_card: bool = False) -> Response:
    ctx = {"message": text, "message_kind": "error", "keep": not remove_card}
    if not is_htmx(request):
        return render(request, "pipeline/board_message.html", {**ctx, "extra_css": ["board.css"]},
                      status_code=status)  # fmt: skip
    headers = {"HX-Reswap": "none"} if not remove_card else None  # the message only, the card stays
    return render(request, "pipeline/_board_message.html", ctx, status_code=status, headers=headers)


# -- moving a card ---------------------------------------------------------------------------------------


def _answer(
    request: Request,
    board: Board,
    deal_id: int,
    touched: set[int],
    shown_in: int | None,
    *,
    status: int = 200,
    message: str | None = None,
    kind: str = "ok",
    dialog: dict[str, Any] | None = None,
    editing: dict[str, Any] | None = None,
    created: bool = False,
    refresh: bool = True,
) -> Response:
    """The card where it really is now, the headers of the columns in ``touched`` and a message.

    ``shown_in`` is the column the browser shows the card in (None: nowhere yet): the card is swapped in
    place when it is still there, removed and inserted at the top of its real column otherwise.
    """
    session = db(request)
    session.rollback()  # a fresh read: the write committed on its own session
    row = bq.card_row(session, user(request), deal_id, board.today)
    card = board.cards([row])[0] if row is not None else None
    open_ids = {s.id for s in board.pipeline.open_stages} if board.pipeline else set()
    on_board = card is not None and card.status == OPEN and card.stage_id in open_ids
    if card is not None and refresh:
        touched.add(card.stage_id)
    figures = board.figures(touched) if board.pipeline and touched else {}
    closed_touched = any(sid in board.stages and board.stages[sid].closed for sid in touched)
    ctx = board.context(
        card=card if on_board else None,
        in_place=on_board and card is not None and card.stage_id == shown_in,
        heads=[bq.Column(board.stages[sid], figures[sid]) for sid in sorted(touched, key=_position(board))
               if sid in figures],
        zones=board.zones() if closed_touched and board.pipeline else [],
        zone_label=board.zone_period()[2],
        message=message,
        message_kind=kind,
        dialog=dialog,
        editing=editing,
        created=created,
    )  # fmt: skip
    return render(request, "pipeline/_board_move.html", ctx, status_code=status)


def _position(board: Board) -> Any:
    return lambda sid: board.stages[sid].position if sid in board.stages else 0


@requires(EDIT)
async def board_move(request: Request) -> Response:
    """Move a deal to a stage: ``deal``, ``stage``, ``version`` (the card's), ``from`` (the column it is
    shown in), and for a lost stage ``lost_reason`` (asked in a dialog first) and ``competitor``."""
    form = await form_dict(request)
    board = Board.load(request)
    session, viewer = db(request), user(request)
    deal_id, stage_id = parse_id(form.get("deal")), parse_id(form.get("stage"))
    version, shown_in = parse_version(form.get("version")), parse_id(form.get("from"))
    if deal_id is None or stage_id is None or version is None:
        return _message_only(request, _("The move is incomplete; reload the board and try again."), 400)
    stage = catalogue(session).stage(stage_id)
    if stage is None:
        return _message_only(request, _("That stage does not exist; reload the board."), 400)
    if stage.archived:
        return _message_only(request, _("The stage %(stage)s is no longer used; pick another one.")
                             % {"stage": stage.label}, 400)  # fmt: skip
    row = bq.card_row(session, viewer, deal_id, board.today)
    if row is None:
        return _message_only(request, _("This deal no longer exists, or it is not yours to see."), 404, True)
    touched = {sid for sid in (shown_in, stage.id, row.stage_id) if sid is not None}
    reason = " ".join(form.get("lost_reason", "").split())
    competitor = " ".join(form.get("competitor", "").split())
    if stage.outcome == LOST and row.status == OPEN and row.stage_id != stage.id:
        problem = None
        if form.get("asked") and not reason:
            problem = _("Say why the deal was lost.")
        elif len(reason) > REASON_MAX or len(competitor) > REASON_MAX:
            problem = _("Keep it under %(n)s characters.") % {"n": REASON_MAX}
        if not reason or problem:
            dialog = {"deal": row, "stage": stage, "version": version, "from": shown_in, "reason": reason,
                      "competitor": competitor, "error": problem, "reasons": [_(r) for r in LOST_REASONS]}  # fmt: skip
            if not is_htmx(request):
                page = _page_context(board, dialog=dialog)
                return render(request, "pipeline/board.html", page, status_code=400 if problem else 200)
            return _answer(request, board, deal_id, touched, shown_in, dialog=dialog, status=400 if problem else 200)
    values: dict[str, Any] = {"stage_id": stage.id}
    if stage.outcome == LOST:
        values.update(lost_reason=reason, competitor=competitor)
    try:
        with write_transaction(runtime(request).sessions) as write:
            save(write, runtime(request).record_kinds["opportunity"], deal_id, values, actor=viewer,
                 expected_version=version)  # fmt: skip
    except StaleRecord:
        text = _("Someone else changed this deal after you opened the board; it is shown where it is now.")
        return _after(request, board, deal_id, touched, shown_in, 409, text, "error")
    except ValidationError as exc:
        return _after(request, board, deal_id, touched, shown_in, 400, " ".join(exc.errors.values()), "error")
    text = _("%(deal)s moved to %(stage)s.") % {"deal": row.name, "stage": stage.label}
    return _after(request, board, deal_id, touched, shown_in, 200, text, "ok")


def _after(request: Request, board: Board, deal_id: int, touched: set[int], shown_in: int | None, status: int,
           text: str, kind: str) -> Response:  # fmt: skip
    if is_htmx(request):
        return _answer(request, board, deal_id, touched, shown_in, status=status, message=text, kind=kind)
    if status == 200:
        return RedirectResponse(board.url(""), status_code=303)
    db(request).rollback()
    return render(request, "pipeline/board.html", _page_context(board, message=text, message_kind=kind),
                  status_code=status)  # fmt: skip


# -- quick create ----------------------------------------------------------------------------------------


def _new_context(board: Board, stage: StageInfo, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    currencies = sorted({board.base, "UAH", "EUR", "USD"})
    return board.context(stage=stage, values=values, errors=errors, currencies=currencies,
                         extra_css=["board.css"], title=_("New deal"))  # fmt: skip


def _open_stage(board: Board, raw: Any) -> StageInfo | None:
    stage = board.stages.get(parse_id(raw) or 0)
    return stage if stage is not None and not stage.closed and not stage.archived else None


@requires(EDIT)
async def board_new(request: Request) -> Response:
    """The quick-create form of a column (GET), or the new deal (POST): name, customer, amount, close date."""
    board = Board.load(request)
    if request.method == "GET":
        stage = _open_stage(board, request.query_params.get("stage"))
        if stage is None:
            return _message_only(request, _("That column is not on this board; reload the page."), 400)
        values = {"currency": board.base}
        return render(request, "pipeline/board_new.html", _new_context(board, stage, values, {}), block="form")
    form = await form_dict(request)
    stage = _open_stage(board, form.get("stage"))
    if stage is None:
        return _message_only(request, _("That column is not on this board; reload the page."), 400)
    values, errors = _read_new(form, board)
    shown = {k: form.get(k, "") for k in ("name", "amount", "currency", "expected_close", "customer_id_q")}
    if errors:
        return _new_again(request, board, stage, shown, errors, form)
    try:
        with write_transaction(runtime(request).sessions) as write:
            deal = save(write, runtime(request).record_kinds["opportunity"], None,
                        {**values, "pipeline_id": stage.pipeline_id, "stage_id": stage.id,
                         "owner_user_id": user(request).id}, actor=user(request))  # fmt: skip
            deal_id = deal.id
    except ValidationError as exc:
        return _new_again(request, board, stage, shown, _field_errors(exc), form)
    if not is_htmx(request):
        return RedirectResponse(board.url(""), status_code=303)
    text = _("%(deal)s added.") % {"deal": values["name"]}
    return _answer(request, board, deal_id, {stage.id}, None, message=text, created=True)


def _new_again(request: Request, board: Board, stage: StageInfo, shown: dict[str, str], errors: dict[str, str],
               form: dict[str, str]) -> Response:  # fmt: skip
    ctx = _new_context(board, stage, shown, errors)
    picked = parse_id(form.get("customer_id"))
    if picked is not None:
        from voronka.plugins.contacts.api import Party

        found = db(request).get(Party, picked)
        ctx["chosen"] = found if found is not None and found.deleted_at is None else None
    return render(request, "pipeline/board_new.html", ctx, block="form", status_code=400)


_FIELD_NAMES = {"amount_minor": "amount", "amount_currency": "currency", "customer_id": "customer_id",
                "expected_close": "expected_close", "probability": "probability", "name": "name"}  # fmt: skip


def _field_errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, text in exc.errors.items():
        name = _FIELD_NAMES.get(key, "")
        found[name] = f"{found[name]} {text}" if name in found else text
    return found


def _read_amount(raw: str, currency: str, errors: dict[str, str]) -> int | None:
    text = raw.strip()
    if not text:
        return 0
    try:
        money = Money.parse(text, currency)
    except (ValueError, TypeError, ArithmeticError):
        errors["amount"] = _("Enter the amount as a number such as 12500 or 12 500,50.")
        return None
    if money.minor < 0:
        errors["amount"] = _("The amount cannot be negative.")
        return None
    return money.minor


def _read_date(raw: str, errors: dict[str, str]) -> dt.date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors["expected_close"] = _("Enter a date as YYYY-MM-DD.")
        return None
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        errors["expected_close"] = _("Enter a date between 2000 and 2100.")
        return None
    return day


def _read_new(form: dict[str, str], board: Board) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = " ".join(form.get("name", "").split())
    if not name:
        errors["name"] = _("Give the deal a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Keep it under %(n)s characters.") % {"n": NAME_MAX}
    currency = (form.get("currency") or board.base).strip().upper()
    if currency not in currency_codes():
        errors["currency"] = _("%(code)s is not a currency code (ISO 4217, such as UAH, EUR, USD).") % {
            "code": currency[:10]
        }
        currency = board.base
    amount = _read_amount(form.get("amount", ""), currency, errors)
    close = _read_date(form.get("expected_close", ""), errors)
    customer_id = None
    if form.get("customer_id"):
        customer_id = parse_id(form.get("customer_id"))
        if customer_id is None:
            errors["customer_id"] = _("Pick the customer from the list.")
    values = {"name": name, "amount_minor": amount or 0, "amount_currency": currency, "expected_close": close,
              "customer_id": customer_id}  # fmt: skip
    return values, errors


# -- quick edit of a card ----------------------------------------------------------------------------------


def _card_or_404(request: Request, board: Board) -> Any:
    deal_id = request.path_params["deal_id"]
    row = bq.card_row(db(request), user(request), deal_id, board.today) if deal_id else None
    return row


@requires(VIEW)
async def board_card(request: Request) -> Response:
    """A card as it is (what Cancel and Esc bring back)."""
    board = Board.load(request)
    row = _card_or_404(request, board)
    if row is None:
        return _message_only(request, _("This deal no longer exists, or it is not yours to see."), 404, True)
    if not is_htmx(request):
        return RedirectResponse(board.url(""), status_code=303)
    return _answer(request, board, row.id, set(), row.stage_id, refresh=False)


def _edit_values(row: Any) -> dict[str, str]:
    money = Money(int(row.amount_minor or 0), row.amount_currency)
    return {"amount": format(money.amount, "f") if money.minor else "",
            "expected_close": row.expected_close.isoformat() if row.expected_close else "",
            "probability": str(row.probability)}  # fmt: skip


@requires(EDIT)
async def board_card_edit(request: Request) -> Response:
    board = Board.load(request)
    row = _card_or_404(request, board)
    if row is None:
        return _message_only(request, _("This deal no longer exists, or it is not yours to see."), 404, True)
    editing = {"values": _edit_values(row), "errors": {}, "version": row.version}
    return _answer(request, board, row.id, set(), row.stage_id, editing=editing, refresh=False)


@requires(EDIT)
async def board_card_save(request: Request) -> Response:
    """Quick edit: amount, expected close date and probability, at the version the form was opened at."""
    board = Board.load(request)
    row = _card_or_404(request, board)
    if row is None:
        return _message_only(request, _("This deal no longer exists, or it is not yours to see."), 404, True)
    form = await form_dict(request)
    shown = {k: form.get(k, "") for k in ("amount", "expected_close", "probability")}
    errors: dict[str, str] = {}
    version = parse_version(form.get("version"))
    if version is None:
        errors[""] = _("The form is incomplete; reload the board and try again.")
    amount = _read_amount(form.get("amount", ""), row.amount_currency, errors)
    close = _read_date(form.get("expected_close", ""), errors)
    probability = None
    raw = form.get("probability", "").strip()
    if not raw.isascii() or not raw.isdigit() or not 0 <= int(raw[:4]) <= 100:
        errors["probability"] = _("A probability is a percentage from 0 to 100.")
    else:
        probability = int(raw)
    status = 400
    if not errors and row.status != OPEN:
        errors[""] = _("This deal is closed; open it to change it.")
    if not errors:
        try:
            with write_transaction(runtime(request).sessions) as write:
                save(write, runtime(request).record_kinds["opportunity"], row.id,
                     {"amount_minor": amount, "expected_close": close, "probability": probability},
                     actor=user(request), expected_version=version)  # fmt: skip
        except StaleRecord:
            db(request).rollback()
            fresh = bq.card_row(db(request), user(request), row.id, board.today) or row
            editing = {"values": _edit_values(fresh), "version": fresh.version,
                       "errors": {"": _("Someone else saved this deal after you opened it; here it is as it is "
                                        "now. Make your change again.")}}  # fmt: skip
            return _answer(request, board, row.id, {row.stage_id}, row.stage_id, status=409, editing=editing)
        except ValidationError as exc:
            errors = _field_errors(exc)
        else:
            if not is_htmx(request):
                return RedirectResponse(board.url(""), status_code=303)
            return _answer(request, board, row.id, {row.stage_id}, row.stage_id,
                           message=_("%(deal)s saved.") % {"deal": row.name})  # fmt: skip
    editing = {"values": shown, "errors": errors, "version": version if version is not None else row.version}
    return _answer(request, board, row.id, set(), row.stage_id, status=status, editing=editing, refresh=False)


routes: list[Any] = [
    Route("/board", board_page, methods=["GET"], name="board"),
    Route("/board/more", board_more, methods=["GET"], name="board_more"),
    Route("/board/move", board_move, methods=["POST"], name="board_move"),
    Route("/board/new", board_new, methods=["GET", "POST"], name="board_new"),
    Route("/board/cards/{deal_id:int}", board_card, methods=["GET"], name="board_card"),
    Route("/board/cards/{deal_id:int}/edit", board_card_edit, methods=["GET"], name="board_card_edit"),
    Route("/board/cards/{deal_id:int}", board_card_save, methods=["POST"], name="board_card_save"),
]
