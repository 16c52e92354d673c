"""The create forms for a person and an organisation.

Before saving, likely duplicates (``duplicates.hints``, system scope) are shown and the form comes back
until the user ticks "create anyway". The values go through core's write path, where contacts'
``before_save`` composes names and normalises e-mail and phone; its per-field messages come back next to
the fields.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from voronka.core import custom_fields
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, go_to, runtime, user
from voronka.core.i18n import N_
from voronka.core.i18n import gettext as _
from voronka.core.ids import existing_owner, owner_choices
from voronka.core.security.markers import requires
from voronka.core.templating import render
from voronka.core.writes import save

from . import duplicates
from .kinds import EDIT, card_url

INPUTS = {
    "person": ("first_name", "middle_name", "last_name", "job_title", "primary_email", "primary_phone", "city"),
    "organisation": ("name", "legal_name", "registration_no", "industry", "primary_email", "primary_phone", "city"),
}
LABELS = {
    "first_name": N_("First name"), "middle_name": N_("Middle name"), "last_name": N_("Last name"),
    "job_title": N_("Job title"), "name": N_("Name"), "legal_name": N_("Legal name"),
    "registration_no": N_("Registration number"), "industry": N_("Industry"), "primary_email": N_("E-mail"),
    "primary_phone": N_("Phone"), "city": N_("City"),
}  # fmt: skip
TITLES = {"person": N_("New person"), "organisation": N_("New organisation")}
LISTS = {"person": "/contacts/people", "organisation": "/contacts/organisations"}


def form_context(request: Request, kind_name: str, form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    ctx = {
        "kind_name": kind_name,
        "title": _(TITLES[kind_name]),
        "list_url": LISTS[kind_name],
        "action": LISTS[kind_name] + "/new",
        "inputs": [(name, _(LABELS[name])) for name in INPUTS[kind_name]],
        "form": form,
        "errors": {},
        "general_error": "",
        "hints": [],
        "cf_fields": custom_fields.definitions(db(request), kind_name),
        **owner_choices(db(request)),
    }
    ctx.update(extra)
    return ctx


def form_route(kind_name: str) -> Any:
    @requires(EDIT)
    async def new(request: Request) -> Response:
        viewer = user(request)
        if request.method == "GET":
            return render(request, "contacts/new.html", form_context(request, kind_name, {"owner": f"u:{viewer.id}"}),
                          block="form")  # fmt: skip
        raw = await request.form()
        shown: dict[str, Any] = {k: v for k, v in raw.multi_items() if isinstance(v, str)}
        values = {name: str(raw.get(name) or "").strip() for name in INPUTS[kind_name]}
        errors: dict[str, str] = {}
        owner = existing_owner(db(request), raw.get("owner"))
        if owner is None:
            errors["owner"] = _("Choose an active user or a team as the owner.")
        fields = custom_fields.definitions(db(request), kind_name)
        custom, custom_errors = custom_fields.read_form(fields, raw)
        errors.update(custom_errors)
        for field in fields:
            if field.type == "multichoice":
                shown[field.name] = raw.getlist(field.name)
        hints: list[Any] = []
        if not errors and not raw.get("create_anyway"):
            hints = list(duplicates.hints(db(request), viewer, kind_name, values) or [])
        if not errors and not hints:
            try:
                with write_transaction(runtime(request).sessions) as session:
                    record = save(session, runtime(request).record_kinds[kind_name], None,
                                  {**values, **custom, **(owner or {})}, actor=viewer)  # fmt: skip
                    party_id = record.id
            except ValidationError as exc:
                errors = {str(k): str(v) for k, v in exc.errors.items()} or {"": str(exc)}
            else:
                return go_to(request, card_url(party_id))
        known = {*INPUTS[kind_name], "owner", "name", *(f.name for f in fields)}
        general = "; ".join(v for k, v in errors.items() if k not in known)
        if "name" in errors and kind_name == "person":
            errors.setdefault("first_name", errors["name"])
        ctx = form_context(request, kind_name, shown, errors=errors, general_error=general, hints=hints)
        return render(request, "contacts/new.html", ctx, block="form", status_code=400)

    new.__name__ = f"{kind_name}_new"
    return new
