"""``/leads/settings/mapping``: admins choose, per outcome target (a field or custom field of the record a
qualified lead becomes), which lead field, lead custom field or script answer fills it. Every enabled
outcome is listed with its built-in mapping shown beside the choice; the whole page saves in one
transaction, and an unknown target or source refuses the save with the message next to it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, go_to, runtime
from voronka.core.i18n import gettext as _
from voronka.core.security.markers import requires
from voronka.core.templating import render

from . import contract, mapping
from .kinds import MANAGE

PAGE = "/leads/settings/mapping"
TEMPLATE = "leads/mapping_page.html"
FIELD_LIMIT = 2000
"""Form fields read at most: more is not a mapping page posting."""


def _label(labels: dict[str, str], source: str) -> str:
    """A source as people read it; an answer no current script asks for still says which step it is."""
    if source in labels:
        return labels[source]
    if source.startswith(mapping.ANSWER):
        return _("Answer “%(step)s” (no script asks it yet)") % {"step": source[len(mapping.ANSWER) :]}
    return source


def _rows(
    session: Any, outcome: contract.Outcome, current: dict[str, str], labels: dict[str, str]
) -> list[dict[str, Any]]:
    try:
        targets = outcome.fields(session)
    except Exception:  # another plugin's broken fields() must not take the page down
        targets = []
    rows = []
    for target, label in targets:
        default = outcome.defaults.get(target, "")
        source = current.get(target, default)
        rows.append({"target": target, "label": label, "default": default, "source": source,
                     "default_label": _label(labels, default), "source_label": _label(labels, source)})  # fmt: skip
    return rows


def _page(request: Request, *, status_code: int = 200, posted: dict[str, dict[str, str]] | None = None,
          errors: dict[str, str] | None = None) -> Response:  # fmt: skip
    session = db(request)
    saved = mapping.overrides(session)
    groups = mapping.sources(session)
    labels = {source: label for _group, items in groups for source, label in items}
    outcomes = []
    for outcome in contract.outcome_order(list(contract.outcomes(runtime(request).host).values())):
        current = (posted or {}).get(outcome.key) or saved.get(outcome.key, {})
        outcomes.append(
            {"key": outcome.key, "label": _(outcome.label), "rows": _rows(session, outcome, current, labels)}
        )
    ctx = {
        "outcomes": outcomes,
        "groups": groups,
        "source_labels": labels,
        "errors": errors or {},
        "saved": request.query_params.get("saved") == "1" and not errors,
        "extra_css": ["qualify.css"],
    }
    return render(request, TEMPLATE, ctx, block="mapping", status_code=status_code)


@requires(MANAGE)
async def mapping_page(request: Request) -> Response:
    return _page(request)


@requires(MANAGE)
async def mapping_save(request: Request) -> Response:
    raw = await request.form()
    chosen: dict[str, dict[str, str]] = {}
    for n, (name, value) in enumerate(raw.multi_items()):
        if n >= FIELD_LIMIT:
            break
        if not name.startswith("map:") or not isinstance(value, str):
            continue
        _prefix, key, target = [*name.split(":", 2), "", ""][:3]
        chosen.setdefault(key[:60], {})[target[:200]] = value[:200]
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            mapping.save_mapping(session, contract.outcomes(rt.host), chosen)
    except ValidationError as exc:
        return _page(request, status_code=400, posted=chosen, errors=exc.errors)
    return go_to(request, f"{PAGE}?saved=1")


routes: list[Any] = [
    Route("/settings/mapping", mapping_page, methods=["GET"], name="leads_mapping"),
    Route("/settings/mapping", mapping_save, methods=["POST"], name="leads_mapping_save"),
]
