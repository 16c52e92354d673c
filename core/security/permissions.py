"""Permissions are declared by plugins; roles are admin-editable sets of them, with four defaults."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import N_
from ..models import Role, RolePermission, SettingValue
from ..state import bump

ADMIN = "core.admin"


@dataclass(frozen=True)
class Permission:
    """A permission key (namespaced: ``notes.edit``) and the default roles that get it when first seen."""

    key: str
    label: str
    description: str = ""
    default_roles: tuple[str, ...] = ()


# Labels and descriptions are marked with N_() and translated where they are shown (the role editor).
CORE_PERMISSIONS = [
    Permission(ADMIN, N_("Administer Voronka"), N_("Everything: plugins, users, roles, settings."), ("admin",)),
    Permission("core.users.view", N_("See the user directory"), "", ("admin", "manager", "sales", "operator")),
    Permission("core.search", N_("Use the global search"), "", ("admin", "manager", "sales", "operator")),
]

# Stored in English as the roles' labels; the admin screens translate a label that is still the default.
DEFAULT_ROLES: dict[str, tuple[str, str]] = {
    "admin": (N_("Administrator"), "all"),
    "manager": (N_("Sales manager"), "under"),
    "sales": (N_("Sales person"), "own"),
    "operator": (N_("Contact-centre operator"), "team"),
}

VISIBILITY_LABELS = {
    "own": N_("Own records (and their teams' queues)"),
    "team": N_("Records of their teams"),
    "under": N_("Everyone under them in the hierarchy"),
    "all": N_("All records"),
}

_KNOWN_KEY = "known_permissions"


def sync_roles(session: Session, permissions: Iterable[Permission]) -> None:
    """Create missing default roles and grant newly declared permissions to their default roles.

    A permission is granted by default only the first time it is seen, so an admin's later removal
    of it from a role sticks.
    """
    roles = {r.key: r for r in session.scalars(select(Role))}
    for key, (label, visibility) in DEFAULT_ROLES.items():
        if key not in roles:
            role = Role(key=key, label=label, visibility=visibility, builtin=True)
            session.add(role)
            roles[key] = role
    session.flush()
    known_row = session.get(SettingValue, ("core", _KNOWN_KEY))
    known = set(known_row.value if known_row else [])
    grants = {(rp.role_id, rp.permission) for rp in session.scalars(select(RolePermission))}
    changed = False
    for perm in permissions:
        if perm.key in known:
            continue
        for role_key in perm.default_roles:
            role = roles.get(role_key)
            if role is not None and (role.id, perm.key) not in grants:
                session.add(RolePermission(role_id=role.id, permission=perm.key))
                grants.add((role.id, perm.key))
        known.add(perm.key)
        changed = True
    if changed:
        if known_row is None:
            session.add(SettingValue(plugin="core", key=_KNOWN_KEY, value=sorted(known)))
        else:
            known_row.value = sorted(known)
        bump(session, "security")
