"""The shell's own hook implementations, registered as "core": always on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from voronka.core.i18n import gettext as _
from voronka.core.imports import target_choices
from voronka.core.markers import hookimpl
from voronka.core.models import User
from voronka.core.search_keys import prefix_bounds, prefix_filter
from voronka.core.ui import NavItem, SearchHit


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    user = request.scope.get("user")
    items = [NavItem("core.home", _("Home"), "/", icon="home", order=0)]
    if user is not None and user.is_admin:
        items.append(NavItem("core.admin", _("Administration"), "/admin", icon="settings", order=1000))
    kinds = getattr(request.app.state.voronka, "record_kinds", None)
    if user is not None and kinds is not None and target_choices(kinds, user):
        items.append(NavItem("core.import", _("Import"), "/import", icon="file", order=900))
    return items


@hookimpl
def search(session: Session, user: Any, query: str, limit: int) -> list[SearchHit]:
    """Colleagues by name or username, for people allowed to see the directory."""
    if not user.can("core.users.view"):
        return []
    by_name = prefix_filter(User.name_key, query)
    by_username = prefix_bounds(query.strip().casefold())  # usernames are stored casefolded
    if by_name is None or by_username is None:
        return []
    low, high = by_username
    rows = session.execute(
        select(User.id, User.display_name, User.username)
        .where(User.active.is_(True), or_(by_name, and_(User.username >= low, User.username < high)))
        .order_by(User.display_name)
        .limit(limit)
    ).all()
    return [SearchHit(r.display_name, f"/users/{r.id}", _("Colleague"), f"@{r.username}", 0.5) for r in rows]
