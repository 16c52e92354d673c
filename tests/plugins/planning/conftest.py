"""Fixtures for the planning plugin's tests: a factory that writes plans (through core's write path, as the
forms do), deals through pipeline's, and dated manager links through core's hierarchy service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models import ManagerLink, User
from voronka.core.security.users import create_user, load_user
from voronka.core.writes import save
from voronka.plugins.pipeline.stages import catalogue
from voronka.plugins.planning.periods import Period

Q1_2026 = Period(dt.date(2026, 1, 1), dt.date(2026, 4, 1), "quarter")


class Planning:
    """Writes and reads plans, deals and the hierarchy on one app. The test users: admin ← manager ← sales,
    sales2, operator (links valid from 2020)."""

    def __init__(self, app: Any):
        self.app = app
        self.runtime = app.state.voronka
        self.host = self.runtime.host

    def uid(self, username: str) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(User.id).where(User.username == username))

    def viewer(self, username: str) -> Any:
        with self.runtime.sessions() as session:
            return load_user(session, self.uid(username))

    def user(self, username: str, manager: str | None = None, roles: tuple[str, ...] = ("sales",),
             since: dt.date = dt.date(2020, 1, 1)) -> int:  # fmt: skip
        """A new user reporting to ``manager`` from ``since`` (password "test-password")."""
        with write_transaction(self.runtime.sessions) as session:
            user_id = create_user(session, username, "test-password", display_name=username.title(), roles=roles).id
            if manager is not None:
                session.add(ManagerLink(user_id=user_id, manager_id=self.uid(manager), valid_from=since))
        return user_id

    def move(self, username: str, new_manager: str, on: dt.date) -> None:
        """From ``on``, ``username`` reports to ``new_manager`` (the open link ends the day before)."""
        with write_transaction(self.runtime.sessions) as session:
            user_id = self.uid(username)
            link = session.scalar(select(ManagerLink).where(ManagerLink.user_id == user_id,
                                                            ManagerLink.valid_to.is_(None)))  # fmt: skip
            if link is not None:
                link.valid_to = on
            session.add(ManagerLink(user_id=user_id, manager_id=self.uid(new_manager), valid_from=on))

    def plan(self, username: str, target: int, metric: str = "pipeline.revenue_won", period: Period = Q1_2026,
             actor: str = "admin", **values: Any) -> int:  # fmt: skip
        values = {"owner_user_id": self.uid(username), "metric_key": metric, "period_kind": period.kind,
                  "period_start": period.start, "period_end": period.end, "target": target, **values}  # fmt: skip
        with write_transaction(self.runtime.sessions) as session:
            return save(session, self.runtime.record_kinds["plan"], None, values, actor=self.uid(actor)).id

    def deal(self, owner: str, amount_minor: int, stage: str = "Won", closed: dt.date | None = None,
             expected: dt.date | None = None, name: str = "Deal") -> int:  # fmt: skip
        """A deal of ``owner`` in UAH moved to ``stage`` (Won: closed on ``closed``)."""
        kinds = self.runtime.record_kinds
        with write_transaction(self.runtime.sessions) as session:
            stages = {s.name: s.id for s in catalogue(session).default().stages}
            org = save(session, kinds["organisation"], None, {"name": f"{name} Ltd", "owner_user_id": self.uid(owner)},
                       actor=self.uid(owner))  # fmt: skip
            values: dict[str, Any] = {"name": name, "owner_user_id": self.uid(owner), "amount_minor": amount_minor,
                                      "amount_currency": "UAH", "customer_id": org.id,
                                      "expected_close": expected or closed or dt.date(2026, 3, 15)}  # fmt: skip
            values["stage_id"] = stages[stage]
            if closed is not None:
                values["closed_on"] = closed
            deal = save(session, kinds["opportunity"], None, values, actor=self.uid(owner))
            return deal.id


@pytest.fixture
def planning(app: Any) -> Planning:
    return Planning(app)
