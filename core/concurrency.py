"""Optimistic concurrency: a stale form never silently overwrites someone else's save."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from .errors import StaleRecord
from .i18n import gettext as _


def save_versioned(session: Session, model: Any, record_id: int, seen_version: int, values: dict[str, Any]) -> int:
    """UPDATE ``values`` only if the row is still at ``seen_version``; return the new version.

    Raises :class:`StaleRecord` when someone saved in between, so the form can show both versions.
    """
    new_version = seen_version + 1
    result = session.execute(
        update(model)
        .where(model.id == record_id, model.version == seen_version)
        .values(**values, version=new_version)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleRecord(
            _("Someone else saved this record after you opened it. Reload to see their changes, then apply yours.")
        )
    return new_version
