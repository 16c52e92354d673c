"""The logged-in user as requests see it, and the queries that build it (cached per process)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ValidationError
from ..i18n import gettext as _
from ..models import Role, RolePermission, TeamMember, User, UserRole
from ..search_keys import search_key
from ..state import bump
from ..types import utcnow
from .passwords import hash_password, password_problem
from .permissions import ADMIN

SCOPE_RANK = {"own": 0, "team": 1, "under": 2, "all": 3}


@dataclass(frozen=True)
class CurrentUser:
    """Who is asking: identity, preferences, permissions, teams and the widest visibility scope."""

    id: int
    username: str
    display_name: str
    language: str = "en"
    timezone: str = "Europe/Kyiv"
    permissions: frozenset[str] = field(default_factory=frozenset)
    role_keys: frozenset[str] = field(default_factory=frozenset)
    team_ids: frozenset[int] = field(default_factory=frozenset)
    visibility: str = "own"
    auth_hash: str = ""

    is_authenticated = True

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.permissions

    def can(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions

    @property
    def initials(self) -> str:
        parts = [p for p in self.display_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or self.username[:2].upper()


class AnonymousUser:
    id = None
    username = ""
    display_name = ""
    language = "en"
    timezone = "Europe/Kyiv"
    permissions: frozenset[str] = frozenset()
    team_ids: frozenset[int] = frozenset()
    visibility = "own"
    is_authenticated = False
    is_admin = False

    def can(self, permission: str) -> bool:
        return False


ANONYMOUS = AnonymousUser()


def load_user(session: Session, user_id: int) -> CurrentUser | None:
    """Build the :class:`CurrentUser` for an active user in three small queries; None when inactive."""
    from .passwords import session_auth_hash

    row = session.execute(
        select(User.id, User.username, User.display_name, User.language, User.timezone, User.password_hash).where(
            User.id == user_id, User.active.is_(True)
        )
    ).first()
    if row is None:
        return None
    roles = session.execute(
        select(Role.id, Role.key, Role.visibility)
        .join(UserRole, UserRole.role_id == Role.id)
        .where(UserRole.user_id == user_id)
    ).all()
    role_ids = [r.id for r in roles]
    perms = (
        frozenset(session.scalars(select(RolePermission.permission).where(RolePermission.role_id.in_(role_ids))))
        if role_ids
        else frozenset()
    )
    teams = frozenset(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))
    visibility = max((r.visibility for r in roles), key=lambda v: SCOPE_RANK.get(v, 0), default="own")
    return CurrentUser(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        language=row.language,
        timezone=row.timezone,
        permissions=perms,
        role_keys=frozenset(r.key for r in roles),
        team_ids=teams,
        visibility="all" if ADMIN in perms else visibility,
        auth_hash=session_auth_hash(row.password_hash),
    )


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up casefolded, so "Emma" and "emma" are one account."""
    return username.strip().casefold()


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str = "",
    email: str = "",
    roles: tuple[str, ...] = ("sales",),
    language: str = "en",
    timezone: str = "Europe/Kyiv",
    check_password: bool = True,
) -> User:
    """Create a user with roles by key; raises ``ValidationError`` with messages per field."""
    username = normalize_username(username)
    email = email.strip()
    errors: dict[str, str] = {}
    if not username or len(username) > 150 or any(c.isspace() for c in username):
        errors["username"] = _("A username is 1-150 characters without spaces.")
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = _("The username '%(username)s' is taken.") % {"username": username}
    if email and session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None:
        errors["email"] = _("Another user already has the e-mail address %(email)s.") % {"email": email}
    if check_password and (problem := password_problem(password)):
        errors["password"] = problem
    role_rows = {r.key: r for r in session.scalars(select(Role).where(Role.key.in_(roles)))}
    missing = [r for r in roles if r not in role_rows]
    if missing:
        errors["roles"] = _("Unknown role(s): %(keys)s.") % {"keys": ", ".join(missing)}
    if errors:
        raise ValidationError(errors)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        email=email,
        name_key=search_key(display_name or username),
        password_hash=hash_password(password),
        language=language,
        timezone=timezone,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    for key in roles:
        session.add(UserRole(user_id=user.id, role_id=role_rows[key].id))
    bump(session, "security")
    return user


def today_utc() -> dt.date:
    return utcnow().date()
