"""Admin: roles — permission sets with a visibility scope, edited as checkboxes grouped by plugin."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.handlers import db, runtime
from voronka.core.i18n import gettext as _
from voronka.core.models import Role, RolePermission, User, UserRole
from voronka.core.plugins import PluginHost
from voronka.core.security.markers import requires
from voronka.core.security.permissions import ADMIN, CORE_PERMISSIONS, VISIBILITY_LABELS, Permission
from voronka.core.state import bump

from .admin_base import check_admins_remain, done, get_or_404, page, read_form, text

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


@dataclass
class PermissionGroup:
    key: str
    label: str
    enabled: bool
    permissions: list[Permission] = field(default_factory=list)


def _translated(perm: Permission) -> Permission:
    """``perm`` with its label and description in the admin's language (declared with ``N_()``)."""
    return replace(perm, label=_(perm.label), description=_(perm.description) if perm.description else "")


def declared_permissions(host: PluginHost) -> list[PermissionGroup]:
    """Every permission core and the installed plugins declare, grouped by the plugin that owns its key."""
    core = PermissionGroup("core", _("Core"), True, [_translated(p) for p in CORE_PERMISSIONS])
    groups: dict[str, PermissionGroup] = {"core": core}
    for batch in host.all_hooks.permissions():
        for perm in batch or []:
            owner = perm.key.split(".", 1)[0]
            if owner not in groups:
                info = host.plugins.get(owner)
                groups[owner] = PermissionGroup(owner, info.label if info else owner, host.is_enabled(owner))
            if all(p.key != perm.key for p in groups[owner].permissions):
                groups[owner].permissions.append(_translated(perm))
    ordered = [groups.pop("core"), *sorted(groups.values(), key=lambda g: g.label.casefold())]
    for group in ordered:
        group.permissions.sort(key=lambda p: p.key)
    return ordered


def _visibility_choices() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in VISIBILITY_LABELS.items()]


@requires(ADMIN)
async def roles(request: Request) -> Response:
    session = db(request)
    members = dict(
        session.execute(
            select(UserRole.role_id, func.count())
            .join(User, User.id == UserRole.user_id)
            .where(User.active.is_(True))
            .group_by(UserRole.role_id)
        ).all()
    )
    grants = dict(session.execute(select(RolePermission.role_id, func.count()).group_by(RolePermission.role_id)).all())
    rows = session.scalars(select(Role).order_by(Role.builtin.desc(), Role.label)).all()
    deleted = request.query_params.get("deleted", "")[:120]
    return page(request, "admin/roles.html", {
        "roles": rows, "labels": {r.id: _(r.label) for r in rows},  # the built-in roles' labels translate
        "members": members, "grants": grants, "visibility": dict(_visibility_choices()),
        "message": _("The role %(label)s is deleted.") % {"label": deleted} if deleted else None,
    }, tab="roles", block="role_list")  # fmt: skip


def _role_form(
    request: Request, role: Role | None, values: dict[str, Any], errors: dict[str, str], status_code: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    holders: list[Any] = []
    if role is not None:
        holders = (
            db(request)
            .execute(
                select(User.id, User.display_name, User.active)
                .join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role_id == role.id)
                .order_by(User.name_key)
            )
            .all()
        )
    return page(request, "admin/role_edit.html", {
        "role": role, "role_label": _(role.label) if role is not None else "",
        "values": values, "errors": errors, "groups": declared_permissions(runtime(request).host),
        "visibility": _visibility_choices(), "holders": holders, "delete_error": None,
        "saved": bool(request.query_params.get("saved")), **extra,
    }, tab="roles", status_code=status_code)  # fmt: skip


@requires(ADMIN)
async def role_new(request: Request) -> Response:
    return _role_form(request, None, {"label": "", "key": "", "visibility": "own", "permissions": set()}, {})


@requires(ADMIN)
async def role_edit(request: Request) -> Response:
    role = get_or_404(db(request), Role, request.path_params["role_id"])
    granted = set(db(request).scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id)))
    values = {"label": role.label, "key": role.key, "visibility": role.visibility, "permissions": granted}
    return _role_form(request, role, values, {})


def _validate(
    session: Session, host: PluginHost, form: Any, role: Role | None
) -> tuple[dict[str, Any], dict[str, str]]:
    values = {
        "label": text(form, "label", 200),
        "key": role.key if role is not None and role.builtin else text(form, "key", 100),
        "visibility": text(form, "visibility", 20),
        "permissions": {p for p in form.getlist("permissions") if isinstance(p, str)},
    }
    errors: dict[str, str] = {}
    if not values["label"]:
        errors["label"] = _("Enter a name for the role.")
    elif len(values["label"]) > 120:
        errors["label"] = _("Keep the name under 120 characters.")
    if not KEY_RE.match(values["key"]):
        errors["key"] = _("A key is 2-60 lower-case letters, digits or underscores, starting with a letter.")
    else:
        taken = session.scalar(select(Role.id).where(Role.key == values["key"]))
        if taken is not None and (role is None or taken != role.id):
            errors["key"] = _("Another role already has the key %(key)s.") % {"key": values["key"]}
    if values["visibility"] not in VISIBILITY_LABELS:
        errors["visibility"] = _("Choose one of the listed scopes.")
    declared = {p.key for g in declared_permissions(host) for p in g.permissions}
    unknown = sorted(values["permissions"] - declared)
    if unknown:
        errors["permissions"] = _("No plugin declares these permissions: %(keys)s.") % {"keys": ", ".join(unknown)}
    return values, errors


def _write_permissions(session: Session, role: Role, chosen: set[str], declared: set[str]) -> None:
    """Replace the role's declared permissions; keep grants of plugins that are not installed right now."""
    session.execute(
        delete(RolePermission).where(RolePermission.role_id == role.id, RolePermission.permission.in_(declared))
    )
    session.add_all([RolePermission(role_id=role.id, permission=p) for p in sorted(chosen)])


@requires(ADMIN)
async def role_save(request: Request) -> Response:
    role_id = request.path_params.get("role_id")
    role = get_or_404(db(request), Role, role_id) if role_id is not None else None
    form = await read_form(request)
    rt = runtime(request)
    declared = {p.key for g in declared_permissions(rt.host) for p in g.permissions}
    values: dict[str, Any] = {}
    try:
        with write_transaction(rt.sessions) as session:
            bump(session, "security")  # first: its row lock serialises admin changes (the last-admin rule)
            values, errors = _validate(session, rt.host, form, role)
            if errors:
                raise ValidationError(errors)
            if role is None:
                row = Role(key=values["key"], label=values["label"], visibility=values["visibility"], builtin=False)
                session.add(row)
                session.flush()
            else:
                row = get_or_404(session, Role, role.id)
                row.key, row.label, row.visibility = values["key"], values["label"], values["visibility"]
            _write_permissions(session, row, values["permissions"], declared)
            check_admins_remain(session)
            saved_id = row.id
    except ValidationError as exc:
        return _role_form(request, role, values, exc.errors, 400)
    except IntegrityError:
        return _role_form(request, role, values, {"key": _("Another role already has that key.")}, 400)
    rt.sync(force=True)
    return done(request, f"/admin/roles/{saved_id}", saved="1")


@requires(ADMIN)
async def role_delete(request: Request) -> Response:
    role = get_or_404(db(request), Role, request.path_params["role_id"])
    granted = set(db(request).scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id)))
    values = {"label": role.label, "key": role.key, "visibility": role.visibility, "permissions": granted}
    rt = runtime(request)
    try:
        with write_transaction(rt.sessions) as session:
            bump(session, "security")
            row = get_or_404(session, Role, role.id)
            if row.builtin:
                label = _(row.label)
                raise ValidationError(_("%(label)s is a built-in role and cannot be deleted.") % {"label": label})
            holders = session.scalars(
                select(User.display_name).join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role_id == row.id).order_by(User.name_key)
            ).all()  # fmt: skip
            if holders:
                shown = ", ".join(holders[:5]) + ("…" if len(holders) > 5 else "")
                raise ValidationError(
                    _("%(count)d users hold this role (%(names)s); take it away from them before deleting it.")
                    % {"count": len(holders), "names": shown}
                )
            session.delete(row)
    except ValidationError as exc:
        message = next(iter(exc.errors.values()))
        return _role_form(request, role, values, {}, 409, delete_error=message)
    rt.sync(force=True)
    return done(request, "/admin/roles", deleted=role.label)


routes = [
    Route("/admin/roles", roles, methods=["GET"], name="admin_roles"),
    Route("/admin/roles/new", role_new, methods=["GET"], name="admin_role_new"),
    Route("/admin/roles/new", role_save, methods=["POST"], name="admin_role_create"),
    Route("/admin/roles/{role_id:int}", role_edit, methods=["GET"], name="admin_role"),
    Route("/admin/roles/{role_id:int}", role_save, methods=["POST"], name="admin_role_save"),
    Route("/admin/roles/{role_id:int}/delete", role_delete, methods=["POST"], name="admin_role_delete"),
]
