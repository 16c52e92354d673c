"""The shell's own hook implementations, registered as "core": always on."""

from __future__ import annotations

from typing import Any

from voronka.core.i18n import gettext as _
from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


@hookimpl
def nav_items(request: Any) -> list[NavItem]:
    user = request.scope.get("user")
    items = [NavItem("core.home", _("Home"), "/", icon="home", order=0)]
    if user is not None and user.is_admin:
        items.append(NavItem("core.admin", _("Administration"), "/admin", icon="settings", order=1000))
    return items
