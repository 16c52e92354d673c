"""Contact points and addresses on the card: add, edit, remove and make primary, in place (HTMX) or as plain
forms. Each change is one transaction. A primary e-mail, phone or address also changes the party's
``primary_email``/``primary_phone``/``city``/``country`` through core's write path (audited, events); other
changes are audited with ``audit_changes`` under the channel's name ("email", "phone", "web", "messenger",
"address")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render
from voronka.core.writes import audit_changes, save

from . import points as pts
from .card_base import CardParty, full_card, kind_of, load
from .city_keys import city_key
from .kinds import EDIT
from .models import CHANNELS, Address, ContactPoint, Party

LABEL_NAMES = {
    **{channel: dict(choices) for channel, choices in pts.LABELS.items()},
    "address": dict(pts.ADDRESS_LABELS),
}
ADDRESS_FIELDS = (("street", 300), ("city", 120), ("region", 120), ("postcode", 20))


def points_context(
    request: Request,
    party: Party,
    *,
    adding: str | None = None,
    editing: tuple[str, int] | None = None,
    point_values: dict[str, str] | None = None,
    point_errors: dict[str, str] | None = None,
    rows: tuple[list[ContactPoint], list[Address]] | None = None,
) -> dict[str, Any]:
    """What ``contacts/_points.html`` shows: the rows by channel, and the one form open (``adding`` a channel
    or "address", or ``editing`` ("point"|"address", id))."""
    session = db(request)
    found, addresses = (
        rows if rows is not None else (pts.points_of(session, party.id), pts.addresses_of(session, party.id))
    )
    by_channel: dict[str, list[ContactPoint]] = {channel: [] for channel in CHANNELS}
    for point in found:
        by_channel.setdefault(point.channel, []).append(point)
    return {
        "points": by_channel,
        "addresses": addresses,
        "primary_points": {c: next((p for p in rows_ if p.is_primary), None) for c, rows_ in by_channel.items()},
        "point_labels": pts.LABELS,
        "label_names": LABEL_NAMES,
        "address_labels": pts.ADDRESS_LABELS,
        "channel_labels": pts.CHANNEL_LABELS,
        "adding": adding,
        "editing_point": editing,
        "point_values": point_values or {},
        "point_errors": point_errors or {},
        "can_edit": user(request).can(EDIT),
    }


def _section(request: Request, card: CardParty, status_code: int = 200, **state: Any) -> Response:
    if not is_htmx(request):
        return full_card(request, card, status_code, **points_context(request, card.party, **state))
    ctx = {"party": card.party, **points_context(request, card.party, **state)}
    return render(request, "contacts/_points.html", ctx, status_code=status_code)


def _done(request: Request, card: CardParty) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/contacts/{card.party.id}", status_code=303)
    db(request).rollback()  # end the read snapshot taken before the write: see the saved rows
    return _section(request, load(request))


# -- the changes (each inside the caller's transaction) ----------------------------------------------------


def _label(choices: tuple[tuple[str, str], ...], raw: str) -> str:
    raw = (raw or "").strip()
    if raw and raw not in {key for key, _text in choices}:
        raise ValidationError({"label": _("Choose one of the listed types.")})
    return raw


def _clean(session: Session, party_id: int, channel: str, text: str, skip_id: int | None = None) -> tuple[str, str]:
    try:
        display, key = pts.clean_point(channel, text, pts.phone_region(session))
    except ValueError as exc:
        raise ValidationError({"value": str(exc)}) from None
    same = select(ContactPoint.id).where(ContactPoint.party_id == party_id, ContactPoint.channel == channel,
                                         ContactPoint.value_key == key)  # fmt: skip
    if skip_id is not None:
        same = same.where(ContactPoint.id != skip_id)
    if session.scalar(same.limit(1)) is not None:
        raise ValidationError({"value": _("This contact already has “%(value)s”.") % {"value": display}})
    return display, key


def _set_primary(session: Session, kind: Any, party_id: int, point: ContactPoint | None, channel: str, actor: Any):
    """``point`` (or none) becomes the primary of its channel; the party's column follows (audited)."""
    others = select(ContactPoint).where(ContactPoint.party_id == party_id, ContactPoint.channel == channel,
                                        ContactPoint.is_primary.is_(True))  # fmt: skip
    for other in session.scalars(others):
        if other is not point:
            other.is_primary = False
    if point is not None:
        point.is_primary = True
    column = pts.PRIMARY_COLUMNS.get(channel)
    if column is not None:
        save(session, kind, party_id, {column: point.value if point is not None else ""}, actor=actor)
    else:
        session.flush()


def add_point(session: Session, kind: Any, party_id: int, form: dict[str, str], actor: Any) -> ContactPoint:
    channel = form.get("channel", "")
    if channel not in CHANNELS:
        raise ValidationError({"channel": _("Choose e-mail, phone, web site or messenger.")})
    label = _label(pts.LABELS[channel], form.get("label", ""))
    display, key = _clean(session, party_id, channel, form.get("value", ""))
    existing = session.execute(
        select(func.count(), func.max(ContactPoint.position))
        .where(ContactPoint.party_id == party_id, ContactPoint.channel == channel)
    ).one()  # fmt: skip
    point = ContactPoint(party_id=party_id, channel=channel, label=label, value=display, value_key=key,
                         is_primary=False, position=(existing[1] if existing[1] is not None else -1) + 1)  # fmt: skip
    session.add(point)
    session.flush()
    if form.get("primary") or existing[0] == 0:
        _set_primary(session, kind, party_id, point, channel, actor)
    else:
        audit_changes(session, kind, party_id, {channel: (None, display)}, actor=actor)
    return point


def _point(session: Session, party_id: int, point_id: int) -> ContactPoint:
    point = session.scalar(select(ContactPoint).where(ContactPoint.id == point_id, ContactPoint.party_id == party_id))
    if point is None:
        raise ValidationError(_("This contact point is gone; someone may have removed it."))
    return point


def edit_point(session: Session, kind: Any, party_id: int, point_id: int, form: dict[str, str], actor: Any) -> None:
    point = _point(session, party_id, point_id)
    label = _label(pts.LABELS[point.channel], form.get("label", ""))
    display, key = _clean(session, party_id, point.channel, form.get("value", ""), skip_id=point.id)
    old = point.value
    point.label, point.value, point.value_key = label, display, key
    session.flush()
    if point.is_primary and point.channel in pts.PRIMARY_COLUMNS:
        save(session, kind, party_id, {pts.PRIMARY_COLUMNS[point.channel]: display}, actor=actor)
    elif old != display:
        audit_changes(session, kind, party_id, {point.channel: (old, display)}, actor=actor)


def remove_point(session: Session, kind: Any, party_id: int, point_id: int, actor: Any) -> None:
    point = _point(session, party_id, point_id)
    channel, was_primary, value = point.channel, point.is_primary, point.value
    session.delete(point)
    session.flush()
    if was_primary:
        rest = select(ContactPoint).where(ContactPoint.party_id == party_id, ContactPoint.channel == channel)
        successor = session.scalars(rest.order_by(ContactPoint.position, ContactPoint.id).limit(1)).first()
        _set_primary(session, kind, party_id, successor, channel, actor)
    if not was_primary or channel not in pts.PRIMARY_COLUMNS:
        audit_changes(session, kind, party_id, {channel: (value, None)}, actor=actor)


def make_primary(session: Session, kind: Any, party_id: int, point_id: int, actor: Any) -> None:
    point = _point(session, party_id, point_id)
    _set_primary(session, kind, party_id, point, point.channel, actor)


def _address_values(form: dict[str, str]) -> dict[str, str]:
    values = {name: " ".join(form.get(name, "").split()) for name, _n in ADDRESS_FIELDS}
    errors = {
        name: _("Keep it under %(n)s characters.") % {"n": n} for name, n in ADDRESS_FIELDS if len(values[name]) > n
    }
    try:
        values["country"] = pts.clean_country(form.get("country", ""))
    except ValueError as exc:
        errors["country"] = str(exc)
    if not values["city"] and not errors.get("city"):
        errors["city"] = _("Enter the city.")
    try:
        values["label"] = _label(pts.ADDRESS_LABELS, form.get("label", ""))
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    return values


def _address(session: Session, party_id: int, address_id: int) -> Address:
    found = session.scalar(select(Address).where(Address.id == address_id, Address.party_id == party_id))
    if found is None:
        raise ValidationError(_("This address is gone; someone may have removed it."))
    return found


def _primary_address(session: Session, kind: Any, party_id: int, address: Address | None, actor: Any) -> None:
    for other in session.scalars(select(Address).where(Address.party_id == party_id, Address.is_primary.is_(True))):
        if other is not address:
            other.is_primary = False
    values = {"city": "", "country": ""}
    if address is not None:
        address.is_primary = True
        values = {"city": address.city, "country": address.country}
    save(session, kind, party_id, values, actor=actor)


def add_address(session: Session, kind: Any, party_id: int, form: dict[str, str], actor: Any) -> None:
    values = _address_values(form)
    existing = session.execute(
        select(func.count(), func.max(Address.position)).where(Address.party_id == party_id)
    ).one()
    address = Address(party_id=party_id, city_key=city_key(values["city"]), is_primary=False,
                      position=(existing[1] if existing[1] is not None else -1) + 1, **values)  # fmt: skip
    session.add(address)
    session.flush()
    if form.get("primary") or existing[0] == 0:
        _primary_address(session, kind, party_id, address, actor)
    audit_changes(session, kind, party_id, {"address": (None, pts.address_text(address))}, actor=actor)


def edit_address(session: Session, kind: Any, party_id: int, address_id: int, form: dict[str, str], actor: Any):
    address = _address(session, party_id, address_id)
    values = _address_values(form)
    old = pts.address_text(address)
    for name, value in values.items():
        setattr(address, name, value)
    address.city_key = city_key(address.city)
    session.flush()
    if address.is_primary:
        save(session, kind, party_id, {"city": address.city, "country": address.country}, actor=actor)
    if old != pts.address_text(address):
        audit_changes(session, kind, party_id, {"address": (old, pts.address_text(address))}, actor=actor)


def remove_address(session: Session, kind: Any, party_id: int, address_id: int, actor: Any) -> None:
    address = _address(session, party_id, address_id)
    was_primary, text = address.is_primary, pts.address_text(address)
    session.delete(address)
    session.flush()
    if was_primary:
        rest = select(Address).where(Address.party_id == party_id).order_by(Address.position, Address.id).limit(1)
        _primary_address(session, kind, party_id, session.scalars(rest).first(), actor)
    audit_changes(session, kind, party_id, {"address": (text, None)}, actor=actor)


def address_primary(session: Session, kind: Any, party_id: int, address_id: int, actor: Any) -> None:
    _primary_address(session, kind, party_id, _address(session, party_id, address_id), actor)


def lock_party(session: Session, party_id: int) -> None:
    """Hold the party's row until the transaction ends (FOR UPDATE on PostgreSQL; SQLite has one writer):
    two requests adding the same value to one party then check for duplicates one after the other."""
    session.execute(select(Party.id).where(Party.id == party_id).with_for_update())


# -- routes ----------------------------------------------------------------------------------------------


async def _write(request: Request, change: Any, *args: Any, state: dict[str, Any] | None = None) -> Response:
    """Run ``change`` in one transaction; on refusal show the open form again with the messages (400)."""
    card = load(request)
    form = await form_dict(request)
    try:
        with write_transaction(runtime(request).sessions) as session:
            lock_party(session, card.party.id)
            change(session, kind_of(request, card.party), card.party.id, *args, actor=user(request),
                   **({"form": form} if state is not None else {}))  # fmt: skip
    except ValidationError as exc:
        db(request).rollback()
        card = load(request)
        errors = exc.errors if state is not None else {}
        problem = {"": "; ".join(exc.errors.values())} if state is None else {}
        return _section(request, card, 400, point_values=form, point_errors={**errors, **problem}, **(state or {}))
    return _done(request, card)


@requires(EDIT)
async def section(request: Request) -> Response:
    """The section as it is (what Cancel and Esc bring back)."""
    card = load(request)
    if not is_htmx(request):
        return RedirectResponse(f"/contacts/{card.party.id}", status_code=303)
    return _section(request, card)


@requires(EDIT)
async def point_new(request: Request) -> Response:
    channel = request.query_params.get("channel", "email")
    if channel not in (*CHANNELS, "address"):
        raise HTTPException(404, _("There is no such kind of contact point."))
    return _section(request, load(request), adding=channel, point_values={"channel": channel})


@requires(EDIT)
async def point_create(request: Request) -> Response:
    channel = (await form_dict(request)).get("channel", "")
    adding = channel if channel in CHANNELS else "email"
    return await _write(request, lambda s, k, p, actor, form: add_point(s, k, p, form, actor), state={"adding": adding})


def _row_id(request: Request) -> int:
    """The point's or address's id from the path; one that cannot be an id is a 404 (no query runs)."""
    found = parse_id(request.path_params["row_id"])
    if found is None:
        raise HTTPException(404, _("This contact point is gone; someone may have removed it."))
    return found


@requires(EDIT)
async def point_edit(request: Request) -> Response:
    card = load(request)
    point = db(request).scalar(select(ContactPoint).where(ContactPoint.id == _row_id(request),
                                                          ContactPoint.party_id == card.party.id))  # fmt: skip
    if point is None:
        raise HTTPException(404, _("This contact point is gone; someone may have removed it."))
    values = {"label": point.label, "value": point.value}
    return _section(request, card, editing=("point", point.id), point_values=values)


@requires(EDIT)
async def point_update(request: Request) -> Response:
    row = _row_id(request)
    return await _write(request, lambda s, k, p, actor, form: edit_point(s, k, p, row, form, actor),
                        state={"editing": ("point", row)})  # fmt: skip


@requires(EDIT)
async def point_remove(request: Request) -> Response:
    row = _row_id(request)
    return await _write(request, lambda s, k, p, actor: remove_point(s, k, p, row, actor))


@requires(EDIT)
async def point_primary(request: Request) -> Response:
    row = _row_id(request)
    return await _write(request, lambda s, k, p, actor: make_primary(s, k, p, row, actor))


@requires(EDIT)
async def address_create(request: Request) -> Response:
    return await _write(request, lambda s, k, p, actor, form: add_address(s, k, p, form, actor),
                        state={"adding": "address"})  # fmt: skip


@requires(EDIT)
async def address_edit(request: Request) -> Response:
    card = load(request)
    found = db(request).scalar(select(Address).where(Address.id == _row_id(request), Address.party_id == card.party.id))
    if found is None:
        raise HTTPException(404, _("This address is gone; someone may have removed it."))
    values = {name: getattr(found, name) for name in ("label", "street", "city", "region", "postcode", "country")}
    return _section(request, card, editing=("address", found.id), point_values=values)


@requires(EDIT)
async def address_update(request: Request) -> Response:
    row = _row_id(request)
    return await _write(request, lambda s, k, p, actor, form: edit_address(s, k, p, row, form, actor),
                        state={"editing": ("address", row)})  # fmt: skip


@requires(EDIT)
async def address_remove(request: Request) -> Response:
    row = _row_id(request)
    return await _write(request, lambda s, k, p, actor: remove_address(s, k, p, row, actor))


@requires(EDIT)
async def address_make_primary(request: Request) -> Response:
    row = _row_id(request)
    return await _write(request, lambda s, k, p, actor: address_primary(s, k, p, row, actor))


routes: list[Any] = [
    Route("/{party_id:int}/points", section, methods=["GET"], name="card_points"),
    Route("/{party_id:int}/points/new", point_new, methods=["GET"], name="card_point_new"),
    Route("/{party_id:int}/points", point_create, methods=["POST"], name="card_point_create"),
    Route("/{party_id:int}/points/{row_id:int}/edit", point_edit, methods=["GET"], name="card_point_edit"),
    Route("/{party_id:int}/points/{row_id:int}", point_update, methods=["POST"], name="card_point_update"),
    Route("/{party_id:int}/points/{row_id:int}/remove", point_remove, methods=["POST"], name="card_point_remove"),
    Route("/{party_id:int}/points/{row_id:int}/primary", point_primary, methods=["POST"], name="card_point_primary"),
    Route("/{party_id:int}/addresses", address_create, methods=["POST"], name="card_address_create"),
    Route("/{party_id:int}/addresses/{row_id:int}/edit", address_edit, methods=["GET"], name="card_address_edit"),
    Route("/{party_id:int}/addresses/{row_id:int}", address_update, methods=["POST"], name="card_address_update"),
    Route("/{party_id:int}/addresses/{row_id:int}/remove", address_remove, methods=["POST"],
          name="card_address_remove"),
    Route("/{party_id:int}/addresses/{row_id:int}/primary", address_make_primary, methods=["POST"],
          name="card_address_primary"),
]  # fmt: skip
