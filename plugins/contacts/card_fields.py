"""Click-to-edit of a party's details on the card: one field at a time, through core's write path with the
version the edit form was opened at (409 with the current value when someone saved since, 400 in place on bad
input, nothing written). HTMX swaps the details section; without JavaScript the same URLs are a plain form
on the card page and a 303 back to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from markupsafe import Markup, escape
from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, form_dict, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import owner_choices, parse_owner, parse_version
from voronka.core.models import Team, User
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render
from voronka.core.types import utcnow
from voronka.core.writes import save

from . import points
from .card_base import CardParty, full_card, kind_of, load, reload
from .card_view import datetime_format, tr
from .kinds import EDIT
from .models import ORGANISATION, PERSON, Party


@dataclass(frozen=True)
class Detail:
    """One click-to-edit row: ``key`` in the URL, the columns it writes, how it is entered."""

    key: str
    label: str
    input: str  # text, textarea, date, owner, flag, consent
    kinds: tuple[str, ...] = (PERSON, ORGANISATION)
    columns: tuple[str, ...] = ()
    max_length: int = 200

    @property
    def writes(self) -> tuple[str, ...]:
        return self.columns or (self.key,)


DETAILS = (
    Detail("name", N_("Name"), "text", (ORGANISATION,), max_length=300),
    Detail("first_name", N_("First name"), "text", (PERSON,), max_length=120),
    Detail("middle_name", N_("Middle name"), "text", (PERSON,), max_length=120),
    Detail("last_name", N_("Last name"), "text", (PERSON,), max_length=120),
    Detail("job_title", N_("Job title"), "text", (PERSON,)),
    Detail("birthday", N_("Birthday"), "date", (PERSON,)),
    Detail("legal_name", N_("Legal name"), "text", (ORGANISATION,), max_length=300),
    Detail("registration_no", N_("Registration no."), "text", (ORGANISATION,), max_length=60),
    Detail("industry", N_("Industry"), "text", (ORGANISATION,), max_length=120),
    Detail("description", N_("Description"), "textarea", max_length=10000),
    Detail("owner", N_("Owner"), "owner", columns=("owner_user_id", "owner_team_id")),
    Detail("do_not_contact", N_("Do not contact"), "flag"),
    Detail("consent", N_("Marketing consent"), "consent", columns=("marketing_consent", "consent_source",
                                                                  "consent_at"), max_length=200),
)  # fmt: skip
BY_KEY = {d.key: d for d in DETAILS}


def details_for(party: Party) -> list[Detail]:
    return [d for d in DETAILS if party.kind in d.kinds]


def form_values(party: Party, detail: Detail) -> dict[str, str]:
    """The edit form's values for ``detail`` as the party holds them now."""
    if detail.input == "owner":
        if party.owner_user_id:
            return {"owner": f"u:{party.owner_user_id}"}
        return {"owner": f"t:{party.owner_team_id}" if party.owner_team_id else ""}
    if detail.input == "flag":
        return {detail.key: "yes" if getattr(party, detail.key) else "no"}
    if detail.input == "consent":
        at = party.consent_at
        return {"marketing_consent": "yes" if party.marketing_consent else "no",
                "consent_source": party.consent_source or "",
                "consent_at": at.strftime("%Y-%m-%dT%H:%M") if at else ""}  # fmt: skip
    if detail.input == "date":
        value = getattr(party, detail.key)
        return {detail.key: value.isoformat() if value else ""}
    return {detail.key: getattr(party, detail.key) or ""}


def read(detail: Detail, form: dict[str, str], session: Any) -> tuple[dict[str, Any], str | None]:
    """(values for the write path, an error message or None) from the submitted form."""
    if detail.input in ("text", "textarea"):
        text = form.get(detail.key, "").replace("\r\n", "\n").strip()
        if detail.input == "text":
            text = " ".join(text.split())
        if len(text) > detail.max_length:
            return {}, _("Keep it under %(n)s characters.") % {"n": detail.max_length}
        return {detail.key: text}, None
    if detail.input == "date":
        raw = form.get(detail.key, "").strip()
        if not raw:
            return {detail.key: None}, None
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            return {}, _("Enter a date as YYYY-MM-DD.")
        if not dt.date(1900, 1, 1) <= day <= dt.date.today():
            return {}, _("Enter a date between 1900 and today.")
        return {detail.key: day}, None
    if detail.input == "flag":
        raw = form.get(detail.key, "")
        if raw not in ("yes", "no"):
            return {}, _("Choose yes or no.")
        return {detail.key: raw == "yes"}, None
    if detail.input == "owner":
        return _read_owner(form.get("owner", ""), session)
    return _read_consent(form)


def _read_owner(raw: str, session: Any) -> tuple[dict[str, Any], str | None]:
    parsed = parse_owner(raw)
    if parsed is None:
        return {}, _("Choose a user or a team as the owner.")
    who, number = parsed
    if who == "user":
        found = session.scalar(select(User.id).where(User.id == number, User.active.is_(True)))
        if found is None:
            return {}, _("Choose an active user as the owner.")
        return {"owner_user_id": found, "owner_team_id": None}, None
    found = session.scalar(select(Team.id).where(Team.id == number))
    if found is None:
        return {}, _("That team no longer exists; choose another owner.")
    return {"owner_user_id": None, "owner_team_id": found}, None


def _read_consent(form: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    given = form.get("marketing_consent", "")
    if given not in ("yes", "no"):
        return {}, _("Choose yes or no.")
    source = " ".join(form.get("consent_source", "").split())
    if len(source) > 200:
        return {}, _("Keep the source under %(n)s characters.") % {"n": 200}
    raw_at = form.get("consent_at", "").strip()
    at: dt.datetime | None = None
    if raw_at:
        try:
            at = dt.datetime.fromisoformat(raw_at)
        except ValueError:
            return {}, _("Enter when consent was given as a date and time.")
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        if at > utcnow() + dt.timedelta(days=1):
            return {}, _("Consent cannot be given in the future.")
    elif given == "yes":
        at = utcnow()
    return {"marketing_consent": given == "yes", "consent_source": source, "consent_at": at}, None


def shown(party: Party, detail: Detail, owner_name: str | None, team_name: str | None, when: Any) -> Markup:
    """A detail's value as the card shows it (``when`` formats a time in the viewer's zone)."""
    if detail.input == "owner":
        text = escape(owner_name or team_name or "")
        if team_name and not owner_name:
            text += Markup(' <span class="muted">({})</span>').format(tr(N_("team")))
        return text
    if detail.input == "flag":
        return tr(N_("Yes")) if getattr(party, detail.key) else tr(N_("No"))
    if detail.input == "consent":
        if not party.marketing_consent:
            return tr(N_("No"))
        text = tr(N_("Yes"))
        if party.consent_source:
            text += " · " + escape(party.consent_source)
        if party.consent_at:
            text += " · " + escape(when(party.consent_at))
        return text
    value = getattr(party, detail.key)
    if detail.input == "date":
        return escape(value.isoformat() if value else "")
    return escape(value or "")


class DetailRow(NamedTuple):
    """One row of the details section as shown: ``value`` as is, ``text`` trimmed for display."""

    d: Detail
    label: Markup
    value: Markup
    text: Markup
    edit_label: Markup


def detail_rows(request: Request, card: CardParty) -> list[DetailRow]:
    """Each detail row's label, value and edit link label, worked out once here rather than in the template."""
    when = datetime_format(user(request).timezone)
    rows = []
    for detail in details_for(card.party):
        label = tr(detail.label)
        value = shown(card.party, detail, card.owner_name, card.team_name, when)
        rows.append(DetailRow(detail, label, value, value.strip(), tr(N_("Edit %(field)s"), field=label)))
    return rows


def details_context(
    request: Request,
    card: CardParty,
    *,
    editing: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    stale: str | None = None,
) -> dict[str, Any]:
    """What ``contacts/_details.html`` shows; ``editing`` is the key of the row open as a form."""
    party = card.party
    detail = BY_KEY.get(editing or "")
    return {
        "details": detail_rows(request, card),
        "owner_name": card.owner_name,
        "team_name": card.team_name,
        "can_edit": user(request).can(EDIT),
        "editing": editing,
        "edit_values": values if values is not None else (form_values(party, detail) if detail else {}),
        "edit_error": error,
        "edit_stale": stale,
        "owners": owner_choices(db(request)) if editing == "owner" else {"users": [], "teams": []},
    }


def _detail(request: Request, card: CardParty) -> Detail:
    detail = BY_KEY.get(request.path_params["field"])
    if detail is None or card.party.kind not in detail.kinds:
        raise HTTPException(404, _("This contact has no such field."))
    return detail


def _section(request: Request, card: CardParty, status_code: int = 200, oob_header: bool = False, **state: Any):
    """The details section as a fragment (HTMX) or the whole card with it in that state."""
    if not is_htmx(request):
        return full_card(request, card, status_code, **details_context(request, card, **state))
    ctx = {"party": card.party, **details_context(request, card, **state)}
    if oob_header:
        from .cards import header_context  # the header shows the name and owner just changed

        found = points.points_of(db(request), card.party.id)
        primary = {p.channel: p for p in reversed(found) if p.is_primary}
        ctx.update({**header_context(request, card), **ctx, "oob_header": True, "primary_points": primary})
    return render(request, "contacts/_details.html", ctx, status_code=status_code)


@requires(EDIT)
async def detail_edit(request: Request) -> Response:
    card = load(request)
    return _section(request, card, editing=_detail(request, card).key)


@requires(EDIT)
async def details_show(request: Request) -> Response:
    """The details as they are (what Cancel and Esc bring back)."""
    card = load(request)
    if not is_htmx(request):
        return RedirectResponse(f"/contacts/{card.party.id}", status_code=303)
    return _section(request, card)


@requires(EDIT)
async def detail_save(request: Request) -> Response:
    card = load(request)
    detail = _detail(request, card)
    form = await form_dict(request)
    shown = {k: form.get(k, "") for k in (*detail.writes, detail.key)}
    values, error = read(detail, form, db(request))
    version = parse_version(form.get("version"))
    if error is None and version is None:
        error = _("The form is incomplete; reload the page and try again.")
    if error is None:
        try:
            with write_transaction(runtime(request).sessions) as session:
                save(session, kind_of(request, card.party), card.party.id, values, actor=user(request),
                     expected_version=version)  # fmt: skip
        except StaleRecord as exc:
            fresh = reload(request)
            return _section(request, fresh, 409, editing=detail.key, stale=str(exc))
        except ValidationError as exc:
            error = "; ".join(exc.errors.values())
        else:
            if not is_htmx(request):
                return RedirectResponse(f"/contacts/{card.party.id}", status_code=303)
            return _section(request, reload(request), oob_header=True)
    db(request).rollback()
    fresh = load(request)
    return _section(request, fresh, 400, editing=detail.key, values={**form_values(fresh.party, detail), **shown},
                    error=error)  # fmt: skip


routes: list[Any] = [
    Route("/{party_id:int}/fields", details_show, methods=["GET"], name="card_details"),
    Route("/{party_id:int}/fields/{field}/edit", detail_edit, methods=["GET"], name="card_detail_edit"),
    Route("/{party_id:int}/fields/{field}", detail_save, methods=["POST"], name="card_detail_save"),
]
