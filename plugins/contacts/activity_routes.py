"""Pages of activities: log one on a record (the card's quick actions), open, edit, delete, mark done.

With HTMX the form opens in the card's timeline section and the saved entry appears at the top of it;
without JavaScript the form is a page of its own and saving goes back to the card (303). Every write goes
through core's write path; participants are written in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import StaleRecord, ValidationError
from voronka.core.handlers import db, go_to, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import parse_id, parse_version
from voronka.core.models import Team, User
from voronka.core.records import Ref
from voronka.core.security.markers import requires
from voronka.core.templating import is_htmx, render
from voronka.core.types import utcnow
from voronka.core.writes import delete, save

from . import activity_forms as forms
from . import activity_queries as queries
from .card_base import load
from .kinds import EDIT, PARTY_KIND_NAMES, VIEW
from .lookup import find_parties
from .models import ACTIVITY_TYPES, Activity

TYPE_LABELS = {"note": N_("Note"), "call": N_("Call"), "meeting": N_("Meeting"), "task": N_("Task")}
NEW_LABELS = {"note": N_("New note"), "call": N_("Log a call"), "meeting": N_("New meeting"), "task": N_("New task")}


def kind(request: Request) -> Any:
    return runtime(request).record_kinds["activity"]


def target_of(request: Request) -> tuple[Ref | None, str, str]:
    """The record a new activity attaches to (path party id or ``?ref=kind:id``), its name and address;
    a record the user may not see is a 404."""
    party_id = request.path_params.get("party_id")
    if party_id is not None:
        party = load(request, party_id).party
        return Ref(party.kind, party.id), party.name, f"/contacts/{party.id}"
    raw = request.query_params.get("ref", "").strip()
    if not raw:
        return None, "", ""
    registry = runtime(request).record_kinds
    try:
        if parse_id(raw.partition(":")[2]) is None:  # "²" or 20 digits: not an id, and no query runs
            raise ValidationError(_("“%(ref)s” is not a record reference.") % {"ref": raw})
        ref = registry.check(Ref.parse(raw))
    except ValidationError:
        raise HTTPException(404, _("There is no such record, or it is not yours to see.")) from None
    label = registry.ref_label(db(request), ref, user(request))
    if label is None:
        raise HTTPException(404, _("There is no such record, or it is not yours to see."))
    return ref, label, registry.ref_url(ref)


def form_values(activity: Activity | None, viewer: Any, activity_type: str) -> dict[str, Any]:
    """What the inputs show for a new activity (now, outbound, mine) or an existing one."""
    if activity is None:
        return {"subject": "", "body": "", "occurred_at": forms.local_input(utcnow(), viewer), "ends_at": "",
                "direction": "outbound", "duration_minutes": "", "outcome": "", "location": "", "due_date": "",
                "due_time": "", "owner": f"u:{viewer.id}", "done": False, "version": ""}  # fmt: skip
    due = activity.due_at.astimezone(forms.zone(viewer)) if activity.due_at else None
    owner = f"u:{activity.owner_user_id}" if activity.owner_user_id else f"t:{activity.owner_team_id or ''}"
    return {
        "subject": activity.subject,
        "body": activity.body,
        "occurred_at": forms.local_input(activity.occurred_at, viewer),
        "ends_at": forms.local_input(activity.ends_at, viewer),
        "direction": activity.direction or "outbound",
        "duration_minutes": "" if activity.duration_minutes is None else str(activity.duration_minutes),
        "outcome": activity.outcome,
        "location": activity.location,
        "due_date": due.date().isoformat() if due else "",
        "due_time": due.strftime("%H:%M") if due and due.time() != forms.END_OF_DAY else "",
        "owner": owner,
        "done": activity.done,
        "version": str(activity.version),
    }


def form_context(
    request: Request,
    activity_type: str,
    *,
    ref: Ref | None,
    values: dict[str, Any],
    party_ids: list[int],
    user_ids: list[int],
    errors: dict[str, str] | None = None,
    action: str,
    inline: bool = False,
    activity: Activity | None = None,
    cancel_url: str = "",
    add_query: str = "",
) -> dict[str, Any]:
    """Everything the activity form shows: inputs, participants to tick, owners to choose, errors."""
    session, viewer = db(request), user(request)
    offered = list(party_ids)
    if ref is not None and ref.kind in PARTY_KIND_NAMES and ref.id not in offered:
        offered.insert(0, ref.id)
    names = queries.known_parties(session, viewer, offered)
    return {
        "f": {
            "type": activity_type,
            "type_label": _(TYPE_LABELS[activity_type]),
            "values": values,
            "errors": errors or {},
            "action": action,
            "inline": inline,
            "editing": activity is not None,
            "parties": [(pid, names[pid], pid in party_ids) for pid in offered if pid in names],
            "party_ids": set(party_ids),
            "users": queries.active_users(session),
            "user_ids": set(user_ids),
            "teams": queries.teams(session),
            "types": []
            if activity is not None
            else [(t, _(TYPE_LABELS[t]), new_action(request, t)) for t in ACTIVITY_TYPES],
            "cancel_url": cancel_url,
            "add_query": add_query,
            "add_matches": find_parties(session, viewer, add_query, "person") if add_query else [],
        },
    }


def new_action(request: Request, activity_type: str) -> str:
    party_id = request.path_params.get("party_id")
    base = f"/contacts/{party_id}/activities/new" if party_id is not None else "/contacts/activities/new"
    ref = request.query_params.get("ref", "")
    return f"{base}?type={activity_type}" + (f"&ref={ref}" if ref and party_id is None else "")


def chosen_type(request: Request) -> str:
    activity_type = request.query_params.get("type", "note")
    return activity_type if activity_type in ACTIVITY_TYPES else "note"


@requires(EDIT)
async def activity_new(request: Request) -> Response:
    """The form for a new activity of ``?type=``; HTMX (the card's quick actions) gets the form alone."""
    ref, ref_label, ref_url = target_of(request)
    activity_type, viewer = chosen_type(request), user(request)
    default_parties = [ref.id] if ref is not None and ref.kind == "person" else []
    ctx = form_context(request, activity_type, ref=ref, values=form_values(None, viewer, activity_type),
                       party_ids=default_parties, user_ids=[viewer.id], action=new_action(request, activity_type),
                       inline=is_htmx(request), cancel_url=ref_url or "/contacts/tasks")  # fmt: skip
    ctx.update(ref_label=ref_label, ref_url=ref_url, title=_(NEW_LABELS[activity_type]))
    return render(request, "contacts/activity_new.html", ctx, block="form")


@requires(EDIT)
async def activity_create(request: Request) -> Response:
    ref, ref_label, ref_url = target_of(request)
    activity_type, viewer = chosen_type(request), user(request)
    form = await request.form()
    parsed = forms.parse(form, activity_type, viewer, creating=True)
    check_people(request, parsed)
    values = {**parsed.values, "ref_kind": ref.kind if ref else None, "ref_id": ref.id if ref else None}
    if activity_type != "task" or "owner_user_id" not in values:
        values.update(owner_user_id=viewer.id, owner_team_id=None)
    if not parsed.errors:
        try:
            with write_transaction(runtime(request).sessions) as session:
                activity = save(session, kind(request), None, values, actor=viewer)
                queries.set_participants(session, activity.id, parsed.party_ids, parsed.user_ids)
                entry = queries.to_entry(activity, owner_name(session, activity), utcnow())
        except ValidationError as exc:
            parsed.errors.update(exc.errors)
        else:
            if is_htmx(request) and form.get("inline") == "1":
                return render(request, "contacts/activity_new.html", {"entry": entry}, block="saved")
            return go_to(request, ref_url or "/contacts/tasks")
    shown = {**form_values(None, viewer, activity_type), **{k: v for k, v in form.items() if isinstance(v, str)}}
    ctx = form_context(request, activity_type, ref=ref, values=shown, party_ids=parsed.party_ids,
                       user_ids=parsed.user_ids, errors=parsed.errors, action=new_action(request, activity_type),
                       inline=form.get("inline") == "1", cancel_url=ref_url or "/contacts/tasks",
                       add_query=pending_search(form, parsed))  # fmt: skip
    ctx.update(ref_label=ref_label, ref_url=ref_url, title=_(NEW_LABELS[activity_type]))
    return render(request, "contacts/activity_new.html", ctx, block="form", status_code=400)


def pending_search(form: Any, parsed: forms.Parsed) -> str:
    """The name typed in the participant search but not picked yet: the form comes back with its matches."""
    return str(form.get("party_add_q") or "").strip()[:100] if "party_add" in parsed.errors else ""


def owner_name(session: Any, activity: Activity) -> str:
    if activity.owner_user_id:
        return session.scalar(select(User.display_name).where(User.id == activity.owner_user_id)) or ""
    if activity.owner_team_id:
        return session.scalar(select(Team.name).where(Team.id == activity.owner_team_id)) or ""
    return ""


def check_people(request: Request, parsed: forms.Parsed) -> None:
    """Participants must be people the user may see and active colleagues; a task's owner an active
    colleague or a team."""
    session, viewer = db(request), user(request)
    if parsed.party_ids and len(queries.known_parties(session, viewer, parsed.party_ids)) != len(parsed.party_ids):
        parsed.errors["party_ids"] = _("Some of these people do not exist or are not yours to see.")
    active = {row.id for row in queries.active_users(session, limit=10_000)}
    if any(uid not in active for uid in parsed.user_ids):
        parsed.errors["user_ids"] = _("Pick active colleagues.")
    owner_user = parsed.values.get("owner_user_id")
    owner_team = parsed.values.get("owner_team_id")
    if owner_user is not None and owner_user not in active:
        parsed.errors["owner"] = _("Choose an active colleague or a team.")
    if owner_team is not None and session.get(Team, owner_team) is None:
        parsed.errors["owner"] = _("Choose an active colleague or a team.")


# -- one activity ---------------------------------------------------------------------------------------


def visible_activity(request: Request) -> Activity:
    found = queries.get_activity(db(request), user(request), request.path_params["activity_id"])
    if found is None:
        raise HTTPException(404, _("There is no such activity, or it is not yours to see."))
    return found


def detail_context(request: Request, activity: Activity, **extra: Any) -> dict[str, Any]:
    session, viewer = db(request), user(request)
    registry = runtime(request).record_kinds
    people = queries.participants(session, viewer, [activity.id]).get(activity.id, [])
    ref = Ref(activity.ref_kind, activity.ref_id) if activity.ref_kind and activity.ref_id else None
    label = queries.ref_labels(session, registry, viewer, [(activity.ref_kind, activity.ref_id)]).get(
        (activity.ref_kind, activity.ref_id)
    )
    ctx: dict[str, Any] = {
        "activity": activity,
        "type_label": _(TYPE_LABELS.get(activity.type, "Note")),
        "ref_label": label,
        "ref_url": registry.ref_url(ref) if ref is not None and label is not None and ref.kind in registry else "",
        "owner": owner_name(session, activity),
        "participants": people,
        "can_edit": viewer.can(EDIT),
        "badge": queries.badge(activity, utcnow()),
        "confirm_delete": False,
        "stale": None,
        "action_error": None,
    }
    if viewer.can(EDIT):
        values = extra.pop("values", None) or form_values(activity, viewer, activity.type)
        party_ids = extra.pop("party_ids", None)
        user_ids = extra.pop("user_ids", None)
        add_query = extra.pop("add_query", "")
        ctx.update(form_context(
            request, activity.type, ref=ref, values=values,
            party_ids=party_ids if party_ids is not None else [p.party_id for p in people if p.party_id],
            user_ids=user_ids if user_ids is not None else [p.user_id for p in people if p.user_id],
            errors=extra.pop("errors", None), action=f"/contacts/activities/{activity.id}", activity=activity,
            add_query=add_query,
        ))  # fmt: skip
    ctx.update(extra)
    return ctx


@requires(VIEW)
async def activity_detail(request: Request) -> Response:
    activity = visible_activity(request)
    return render(request, "contacts/activity.html", detail_context(request, activity))


@requires(EDIT)
async def activity_update(request: Request) -> Response:
    """The edit form, through the write path with the version it was opened at (a stale form is a 409)."""
    activity = visible_activity(request)
    viewer = user(request)
    form = await request.form()
    parsed = forms.parse(form, activity.type, viewer, creating=False)
    check_people(request, parsed)
    version = parse_version(form.get("version"))
    if version is None:
        parsed.errors[""] = _("The form is incomplete; reload the page and try again.")
    shown = {**form_values(activity, viewer, activity.type), **{k: v for k, v in form.items() if isinstance(v, str)}}
    shown["done"] = parsed.values.get("done", activity.done)
    again = {"values": shown, "party_ids": parsed.party_ids, "user_ids": parsed.user_ids,
             "add_query": pending_search(form, parsed)}  # fmt: skip
    if not parsed.errors:
        values = {k: v for k, v in parsed.values.items() if k != "type"}
        try:
            with write_transaction(runtime(request).sessions) as session:
                saved = save(session, kind(request), activity.id, values, actor=viewer, expected_version=version)
                unseen = [p.party_id for p in queries.participants(session, viewer, [saved.id]).get(saved.id, [])
                          if p.party_id is not None and not p.visible]  # fmt: skip
                queries.set_participants(session, saved.id, [*parsed.party_ids, *unseen], parsed.user_ids)
        except StaleRecord as exc:
            db(request).rollback()  # a fresh read: the write was another session's
            fresh = visible_activity(request)
            ctx = detail_context(request, fresh, stale=str(exc), **again)
            ctx["f"]["values"]["version"] = str(fresh.version)
            return render(request, "contacts/activity.html", ctx, block="edit", status_code=409)
        except ValidationError as exc:
            parsed.errors.update(exc.errors)
        else:
            return go_to(request, f"/contacts/activities/{activity.id}")
    db(request).rollback()  # a fresh read: the write was another session's
    ctx = detail_context(request, visible_activity(request), errors=parsed.errors, **again)
    return render(request, "contacts/activity.html", ctx, block="edit", status_code=400)


@requires(EDIT)
async def activity_delete_confirm(request: Request) -> Response:
    activity = visible_activity(request)
    return render(request, "contacts/activity.html", detail_context(request, activity, confirm_delete=True))


@requires(EDIT)
async def activity_delete(request: Request) -> Response:
    """Into the recycle bin through the write path; back to the record it was attached to."""
    activity = visible_activity(request)
    ctx = detail_context(request, activity)
    try:
        with write_transaction(runtime(request).sessions) as session:
            delete(session, kind(request), activity.id, actor=user(request))
    except ValidationError as exc:
        ctx.update(confirm_delete=True, action_error="; ".join(exc.errors.values()))
        return render(request, "contacts/activity.html", ctx, status_code=400)
    return go_to(request, ctx["ref_url"] or "/contacts/tasks")


routes = [
    Route("/activities/new", activity_new, methods=["GET"], name="activity_new"),
    Route("/activities/new", activity_create, methods=["POST"], name="activity_create"),
    Route("/activities/{activity_id:int}", activity_detail, methods=["GET"], name="activity"),
    Route("/activities/{activity_id:int}", activity_update, methods=["POST"], name="activity_update"),
    Route("/activities/{activity_id:int}/delete", activity_delete_confirm, methods=["GET"], name="activity_delete_ask"),
    Route("/activities/{activity_id:int}/delete", activity_delete, methods=["POST"], name="activity_delete"),
    Route("/{party_id:int}/activities/new", activity_new, methods=["GET"], name="party_activity_new"),
    Route("/{party_id:int}/activities/new", activity_create, methods=["POST"], name="party_activity_create"),
]
