"""What the ``card`` macro of ``_custom_fields.html`` shows for one record: core's generic custom-field pages
use it, and so do plugins' own record pages (the customer card, the deal page), which is why it lives in core
and not in web."""

from __future__ import annotations

from typing import Any

from . import custom_fields as cf


def card_context(
    session: Any, kind: Any, record: Any, viewer: Any, *, editing: str | None = None, **extra: Any
) -> dict[str, Any]:
    """What the ``card`` macro of ``_custom_fields.html`` shows for one record (plugins call it too)."""
    fields = cf.definitions(session, kind.name)
    custom = getattr(record, "custom", None) or {}
    ctx: dict[str, Any] = {
        "kind": kind.name,
        "id": record.id,
        "version": getattr(record, "version", ""),
        "rows": [(f, cf.format_value(f, custom.get(f.key))) for f in fields],
        "values": cf.form_values(fields, custom),
        "can_edit": kind.may_edit(viewer),
        "editing": editing,
        "error": None,
        "url": f"/records/{kind.name}/{record.id}/fields",
        "record_url": kind.url_for(record.id),
    }
    ctx.update(extra)
    return ctx
