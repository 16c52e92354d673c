"""Importing the organisation: users, teams and the manager hierarchy, through the same core functions the
admin screens use (``create_user``, ``add_manager_link``), so their rules hold for imported rows too.

These are administrators' targets. Each row runs in its own savepoint: a refused row (a taken e-mail, a
link that would make a loop) is a failed row and the rest of the batch goes on.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .company import time_zones
from .errors import ValidationError
from .i18n import LANGUAGES, N_
from .i18n import gettext as _
from .imports_targets import Lookups, Target, parse_bool, parse_date
from .models import ManagerLink, Role, Team, TeamMember, User, UserRole
from .search_keys import search_key
from .security.hierarchy import add_manager_link, end_manager_link
from .security.users import create_user, normalize_username
from .state import bump


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _language(text: str) -> str:
    code = text.strip().lower()
    if code not in LANGUAGES:
        raise ValidationError(_("Write a language code: %(codes)s.") % {"codes": ", ".join(LANGUAGES)})
    return code


def _timezone(text: str) -> str:
    zone = text.strip()
    if zone != "UTC" and zone not in time_zones():
        raise ValidationError(_("“%(zone)s” is not a time zone; write one like Europe/Kyiv.") % {"zone": zone})
    return zone


def _plain(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if len(value) > limit:
            raise ValidationError(
                _("Keep it under %(n)s characters (this has %(len)s).") % {"n": limit, "len": len(value)}
            )
        return value

    return parse


@dataclass
class Outcome:
    outcome: str
    record_id: int | None = None
    message: str = ""


class PeopleTarget:
    """A built-in target: its columns, how to find an existing row, and how to write one."""

    name = ""
    label = ""

    def targets(self, session: Session, lookups: Lookups) -> list[Target]:
        raise NotImplementedError

    def write(self, session: Session, values: dict[str, Any], mode: str, lookups: Lookups) -> Outcome:
        raise NotImplementedError


class Users(PeopleTarget):
    name = "users"
    label = N_("Users")

    def targets(self, session: Session, lookups: Lookups) -> list[Target]:
        labels: dict[str, str] = {}
        for key, label in session.execute(select(Role.key, Role.label)):
            labels.setdefault(label.casefold(), key)
            labels[key.casefold()] = key

        def parse_roles(text: str) -> list[str]:
            found = []
            for part in _split(text):
                key = labels.get(part.casefold())
                if key is None:
                    raise ValidationError(_("There is no role “%(role)s”.") % {"role": part})
                found.append(key)
            return found

        def parse_teams(text: str) -> list[int]:
            return [lookups.team(part) for part in _split(text)]

        return [
            Target("username", _("Username"), _plain(150), required=True, aliases=("login", "логін", "user")),
            Target("display_name", _("Name"), _plain(200), aliases=("name", "full name", "ім'я", "піб")),
            Target("email", _("E-mail"), _plain(254), aliases=("email", "mail", "пошта")),
            Target("roles", _("Roles (comma-separated)"), parse_roles, aliases=("role", "ролі", "роль")),
            Target("teams", _("Teams (comma-separated)"), parse_teams, aliases=("team", "команди", "команда")),
            Target("language", _("Language"), _language, aliases=("lang", "мова")),
            Target("timezone", _("Time zone"), _timezone, aliases=("time zone", "tz", "часовий пояс")),
            Target("active", _("Active (yes/no)"), parse_bool, aliases=("активний",)),
            Target("password", _("Password"), _plain(1024), aliases=("пароль",),
                   help=_("Without a password the user cannot log in until an administrator sets one.")),
        ]  # fmt: skip

    def write(self, session: Session, values: dict[str, Any], mode: str, lookups: Lookups) -> Outcome:
        username = normalize_username(values.get("username") or "")
        existing = session.scalars(select(User).where(User.username == username)).first() if username else None
        if existing is not None and mode != "create":
            if mode == "skip":
                return Outcome("skipped", existing.id, _("A user with this username exists."))
            return self._update(session, existing, values, fill=mode == "fill")
        password = values.get("password") or ""
        user = create_user(
            session, username, password or secrets.token_urlsafe(32),
            display_name=values.get("display_name") or "", email=values.get("email") or "",
            roles=tuple(values.get("roles") or ("sales",)),
            language=values.get("language") or "en", timezone=values.get("timezone") or "Europe/Kyiv",
            check_password=bool(password),
        )  # fmt: skip
        if not password:
            user.password_hash = ""  # nobody knows the random one: the account waits for an admin to set one
        if values.get("active") is False:
            user.active = False
        session.add_all([TeamMember(team_id=t, user_id=user.id) for t in dict.fromkeys(values.get("teams") or [])])
        session.flush()
        lookups.users[user.username] = user.id
        return Outcome("created", user.id)

    def _update(self, session: Session, user: User, values: dict[str, Any], *, fill: bool) -> Outcome:
        changed = False
        email = values.get("email")
        if email and email.casefold() != user.email.casefold() and (not fill or not user.email):
            taken = session.scalar(select(User.id).where(func.lower(User.email) == email.lower(), User.id != user.id))
            if taken is not None:
                raise ValidationError({"email": _("Another user already has the e-mail address %(email)s.")
                                       % {"email": email}})  # fmt: skip
            user.email, changed = email, True
        name = values.get("display_name")
        if name and name != user.display_name and (not fill or user.display_name in ("", user.username)):
            user.display_name, user.name_key, changed = name, search_key(name), True
        for key, empty in (("language", None), ("timezone", None)):
            value = values.get(key)
            if value and value != getattr(user, key) and (not fill or getattr(user, key) == empty):
                setattr(user, key, value)
                changed = True
        have_roles = set(session.scalars(select(Role.key).join(UserRole).where(UserRole.user_id == user.id)))
        wanted_roles = [r for r in values.get("roles") or [] if r not in have_roles]
        if wanted_roles:
            ids = dict(session.execute(select(Role.key, Role.id).where(Role.key.in_(wanted_roles))).all())
            session.add_all([UserRole(user_id=user.id, role_id=ids[r]) for r in wanted_roles])
            changed = True
        have_teams = set(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id)))
        new_teams = [t for t in dict.fromkeys(values.get("teams") or []) if t not in have_teams]
        if new_teams:
            session.add_all([TeamMember(team_id=t, user_id=user.id) for t in new_teams])
            changed = True
        if not changed:
            return Outcome("unchanged", user.id)
        bump(session, "security")
        session.flush()
        return Outcome("updated", user.id)


class Teams(PeopleTarget):
    name = "teams"
    label = N_("Teams")

    def targets(self, session: Session, lookups: Lookups) -> list[Target]:
        return [
            Target("name", _("Team name"), _plain(120), required=True, aliases=("team", "назва", "команда")),
            Target("is_queue", _("Queue (yes/no)"), parse_bool, aliases=("queue", "черга")),
            Target("members", _("Members (usernames, comma-separated)"),
                   lambda text: [lookups.user(p) for p in _split(text)], aliases=("users", "учасники")),
        ]  # fmt: skip

    def write(self, session: Session, values: dict[str, Any], mode: str, lookups: Lookups) -> Outcome:
        name = values.get("name") or ""
        if not name:
            raise ValidationError({"name": _("Enter a name for the team.")})
        team_id = lookups.teams.get(name.casefold())
        team = session.get(Team, team_id) if team_id is not None else None
        bump(session, "security")
        if team is None:
            team = Team(name=name, is_queue=bool(values.get("is_queue")))
            session.add(team)
            session.flush()
            lookups.teams[name.casefold()] = team.id
            outcome = "created"
        elif mode in ("skip", "create"):
            if mode == "create":
                raise ValidationError({"name": _("There is already a team called %(name)s.") % {"name": team.name}})
            return Outcome("skipped", team.id, _("A team with this name exists."))
        else:
            outcome = "unchanged"
            if "is_queue" in values and values["is_queue"] != team.is_queue and mode == "update":
                team.is_queue, outcome = values["is_queue"], "updated"
        have = set(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
        new = [u for u in dict.fromkeys(values.get("members") or []) if u not in have]
        session.add_all([TeamMember(team_id=team.id, user_id=u) for u in new])
        session.flush()
        if new and outcome == "unchanged":
            outcome = "updated"
        return Outcome(outcome, team.id)


class Managers(PeopleTarget):
    """Manager links: who reports to whom from which date. In "update" mode a user's open link to another
    manager ends on the new link's start date (a reorganisation); otherwise an overlap fails the row."""

    name = "managers"
    label = N_("Manager hierarchy")

    def targets(self, session: Session, lookups: Lookups) -> list[Target]:
        return [
            Target("user", _("User (username or e-mail)"), lookups.user, required=True,
                   aliases=("username", "employee", "співробітник", "працівник")),
            Target("manager", _("Manager (username or e-mail)"), lookups.user, required=True,
                   aliases=("reports to", "boss", "керівник", "менеджер")),
            Target("valid_from", _("From (date)"), parse_date, aliases=("from", "start", "з", "від")),
            Target("valid_to", _("Until (date, exclusive)"), parse_date, aliases=("to", "until", "end", "до")),
        ]  # fmt: skip

    def write(self, session: Session, values: dict[str, Any], mode: str, lookups: Lookups) -> Outcome:
        user_id, manager_id = values.get("user"), values.get("manager")
        if user_id is None or manager_id is None:
            raise ValidationError(_("Name both the user and their manager."))
        start = values.get("valid_from") or dt.date.today()
        end = values.get("valid_to")
        same = session.scalars(
            select(ManagerLink).where(ManagerLink.user_id == user_id, ManagerLink.manager_id == manager_id,
                                      ManagerLink.valid_from == start)
        ).first()  # fmt: skip
        if same is not None:
            return Outcome("skipped", same.id, _("This link exists."))
        if mode == "update":
            current = session.scalars(
                select(ManagerLink).where(ManagerLink.user_id == user_id, ManagerLink.valid_to.is_(None),
                                          ManagerLink.valid_from < start)
            ).first()  # fmt: skip
            if current is not None and current.manager_id != manager_id:
                end_manager_link(session, current, start)
        link = add_manager_link(session, user_id, manager_id, start, end)
        return Outcome("created", link.id)


PEOPLE: dict[str, PeopleTarget] = {t.name: t for t in (Users(), Teams(), Managers())}

__all__ = ["PEOPLE", "Outcome", "PeopleTarget"]
