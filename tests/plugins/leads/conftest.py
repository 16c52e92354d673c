"""Fixtures for the leads plugin's tests: a factory that writes leads, campaigns and customers through
core's write path, as the forms would."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models import Team, User
from voronka.core.security.users import load_user
from voronka.core.writes import save


class Leads:
    """Writes and reads leads (and the customers and campaigns they need) on one app."""

    def __init__(self, app: Any):
        self.app = app
        self.runtime = app.state.voronka

    def uid(self, username: str) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(User.id).where(User.username == username))

    def team_id(self, name: str = "Inbound sales") -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(Team.id).where(Team.name == name))

    def viewer(self, username: str) -> Any:
        with self.runtime.sessions() as session:
            return load_user(session, self.uid(username))

    def kind(self, name: str) -> Any:
        return self.runtime.record_kinds[name]

    def save(self, kind: str, record_id: int | None, values: dict[str, Any], actor: str = "sales", **kw: Any) -> int:
        with write_transaction(self.runtime.sessions) as session:
            return save(session, self.kind(kind), record_id, values, actor=self.uid(actor), **kw).id

    def lead(self, first: str = "Olena", last: str = "Koval", owner: str | None = "sales", **values: Any) -> int:
        values = {"first_name": first, "last_name": last, **values}
        if owner is not None:
            values.setdefault("owner_user_id", self.uid(owner))
        return self.save("lead", None, values, actor=owner or "admin")

    def campaign(self, name: str = "Spring webinar", code: str = "spring", channel: str = "leads.campaign",
                 **values: Any) -> int:  # fmt: skip
        values = {"name": name, "tracking_code": code, "channel": channel, **values}
        return self.save("campaign", None, values, actor="admin")

    def person(self, first: str, last: str = "", owner: str = "sales", **values: Any) -> int:
        values = {"first_name": first, "last_name": last, "owner_user_id": self.uid(owner), **values}
        return self.save("person", None, values, actor=owner)

    def organisation(self, name: str, owner: str = "sales", **values: Any) -> int:
        return self.save("organisation", None, {"name": name, "owner_user_id": self.uid(owner), **values}, actor=owner)

    def get(self, model: Any, record_id: int) -> Any:
        with self.runtime.sessions() as session:
            found = session.get(model, record_id)
            if found is not None:
                session.expunge(found)
            return found


@pytest.fixture
def leads(app: Any) -> Leads:
    return Leads(app)
