"""What a qualification script step may do (leads' own answers to ``qualification_actions``) and the
delivery of actions that run after the answer's transaction.

- ``leads.set_field`` (inside): set a lead field or custom field (``custom.<key>``) to a value, or to the
  answer of a step (``answer``: its key), through the write path (rules, audit, events).
- ``leads.create_task`` (after, through the outbox): a contacts task attached to the lead, owned by
  ``owner`` (a username; default: the lead's owner, else whoever answered), due in ``due_days``.
- ``leads.assign_round_robin`` (inside): the lead goes to the next member of ``team`` (a name), or to the
  team's queue when nobody in it is active.
- ``leads.start_script`` (inside): start ``script`` (a key) on the lead as a run of its own, waiting on
  the lead page (the ``script`` outcome, by contrast, switches to the other script at once).

``after`` actions arrive as event :data:`EVENT` (payload: action, params, lead_id, qualification_id,
step, index, actor_id, answers). The outbox runs each handler once per event in the transaction that
marks it done; on top of that leads' own actions are safe to repeat (setting a value twice changes
nothing, a task with the same subject still open on the lead is not created again).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select

from voronka.core.errors import ValidationError
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.models import Team, TeamMember, User
from voronka.core.security.users import load_user
from voronka.core.types import utcnow
from voronka.core.writes import save
from voronka.plugins.contacts.api import Activity

from . import assignment, contract, runner
from .kinds import LEAD_FIELDS
from .models import Lead, Qualification

log = logging.getLogger(__name__)

EVENT = runner.EVENT
SETTABLE = tuple(
    f
    for f in LEAD_FIELDS
    if f
    not in (
        "payload",
        "status",
        "disqualify_reason",
        "closed_at",
        "closed_by_id",
        "campaign_id",
        "channel",
        "consent_at",
        "owner_user_id",
        "owner_team_id",
    )
)
RUN_KEY = runner.CURRENT_RUN


def own_actions() -> list[dict[str, Any]]:
    return [
        {
            "key": "leads.set_field",
            "label": N_("Set a lead field"),
            "phase": contract.INSIDE,
            "run": set_field,
            "params": [
                ("field", N_("Field (or custom.<key>)"), "field"),
                ("value", N_("Value"), "text"),
                ("answer", N_("Or the answer of step (its key)"), "text"),
            ],
        },
        {
            "key": "leads.create_task",
            "label": N_("Create a task"),
            "phase": contract.AFTER,
            "run": create_task,
            "params": [
                ("subject", N_("Subject"), "text"),
                ("body", N_("Details"), "text"),
                ("due_days", N_("Due in days"), "int"),
                ("owner", N_("Owner (username)"), "user"),
            ],
        },
        {
            "key": "leads.assign_round_robin",
            "label": N_("Assign round-robin to a team"),
            "phase": contract.INSIDE,
            "run": assign_round_robin,
            "params": [("team", N_("Team"), "team")],
        },
        {
            "key": "leads.start_script",
            "label": N_("Start another script"),
            "phase": contract.INSIDE,
            "run": start_script,
            "params": [("script", N_("Script"), "script")],
        },
    ]


def _kinds(session: Any) -> Any:
    return runner.runtime_of(session).record_kinds


def _lead(ctx: Any) -> Lead:
    lead = ctx.session.get(Lead, ctx.lead_id)
    if lead is None or lead.deleted_at is not None:
        raise ValidationError(_("The lead no longer exists."))
    return lead


def set_field(ctx: Any, params: dict[str, Any]) -> None:
    field = str(params.get("field") or "").strip()
    if field.startswith("custom."):
        field = "cf." + field[len("custom.") :]
    if not (field in SETTABLE or (field.startswith("cf.") and len(field) > 3)):
        raise ValidationError(_("“%(field)s” is not a lead field a script may set.") % {"field": field})
    source = str(params.get("answer") or "").strip()
    value = ctx.answers.get(source) if source else params.get("value")
    if field == "marketing_consent":
        value = value if isinstance(value, bool) else str(value or "").strip().lower() in ("1", "yes", "true")
    elif not field.startswith("cf."):
        value = "" if value is None else str(value)
    save(ctx.session, _kinds(ctx.session)["lead"], ctx.lead_id, {field: value}, actor=ctx.actor)


def _user_id(session: Any, raw: Any) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    column = User.id if text.isdigit() else User.username
    return session.scalar(
        select(User.id).where(column == (int(text) if text.isdigit() else text), User.active.is_(True))
    )


def _team_id(session: Any, raw: Any) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    column = Team.id if text.isdigit() else Team.name
    return session.scalar(select(Team.id).where(column == (int(text) if text.isdigit() else text)))


def create_task(ctx: Any, params: dict[str, Any]) -> None:
    session = ctx.session
    lead = _lead(ctx)
    subject = str(params.get("subject") or "").strip() or _("Follow up on the lead")
    already = session.scalar(
        select(Activity.id).where(
            Activity.ref_kind == "lead",
            Activity.ref_id == lead.id,
            Activity.type == "task",
            Activity.subject == subject[:300],
            Activity.done.is_(False),
            Activity.deleted_at.is_(None),
        )
    )
    if already is not None:
        return
    owner = _user_id(session, params.get("owner")) or lead.owner_user_id or runner._actor_id(ctx.actor)
    try:
        days = int(str(params.get("due_days") or 0).strip() or 0)
    except ValueError:
        days = 0
    values: dict[str, Any] = {
        "type": "task",
        "subject": subject[:300],
        "body": str(params.get("body") or ""),
        "ref_kind": "lead",
        "ref_id": lead.id,
    }
    if days > 0:
        values["due_at"] = utcnow() + dt.timedelta(days=min(days, 3650))
    if owner:
        values["owner_user_id"] = owner
    elif lead.owner_team_id:
        values["owner_team_id"] = lead.owner_team_id
    save(session, _kinds(session)["activity"], None, values, actor=ctx.actor)


def assign_round_robin(ctx: Any, params: dict[str, Any]) -> None:
    session = ctx.session
    team_id = _team_id(session, params.get("team"))
    if team_id is None:
        raise ValidationError(_("There is no team “%(team)s”.") % {"team": params.get("team")})
    lead = _lead(ctx)
    user_id = assignment.assign_round_robin(session, lead, team_id)
    values = {"owner_team_id": team_id, "owner_user_id": user_id}
    if user_id is not None and not session.scalar(
        select(TeamMember.user_id).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    ):
        values["owner_team_id"] = None
    if (lead.owner_user_id, lead.owner_team_id) != (values["owner_user_id"], values["owner_team_id"]):
        save(session, _kinds(session)["lead"], lead.id, values, actor=ctx.actor)


def start_script(ctx: Any, params: dict[str, Any]) -> None:
    from . import scripts

    session = ctx.session
    script = scripts.by_key(session, str(params.get("script") or ""))
    if script is None or script.archived:
        raise ValidationError(_("There is no script “%(key)s” to start.") % {"key": params.get("script")})
    parent = session.info.get(RUN_KEY)
    runner.start(
        session, _lead(ctx), script.id, ctx.actor, parent=parent if isinstance(parent, Qualification) else None
    )


def startup(app: Any) -> None:
    """Remember the app for its database, so the outbox handler below can reach the plugins' actions."""
    runner.remember(app.state.voronka)


def on_event(session: Any, event: Any) -> None:
    """Called for every ``leads.action`` event: run an ``after`` action (once; see the module's docstring)."""
    payload = event.payload or {}
    runtime = runner.runtime_of(session)
    action = contract.actions(runtime.host).get(payload.get("action"))
    if action is None:
        log.warning("leads.action %s is not offered now (plugin disabled?); skipped", payload.get("action"))
        return
    lead = session.get(Lead, payload.get("lead_id"))
    if lead is None or lead.deleted_at is not None:
        return
    actor_id = payload.get("actor_id")
    actor = load_user(session, actor_id) if actor_id else None
    ctx = contract.Context(
        session=session,
        actor=actor if actor is not None else actor_id,
        lead=runner.lead_values(session, lead),
        answers=dict(payload.get("answers") or {}),
        lead_id=lead.id,
    )
    action.run(ctx, dict(payload.get("params") or {}))
