"""Fixtures for the pipeline plugin's tests: a factory that writes deals through core's write path."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.models import User
from voronka.core.security.users import load_user
from voronka.core.writes import save
from voronka.plugins.pipeline.stages import catalogue


class Pipeline:
    """Writes and reads deals (and the customers they need) on one app, as a form would."""

    def __init__(self, app: Any):
        self.app = app
        self.runtime = app.state.voronka

    def uid(self, username: str) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(User.id).where(User.username == username))

    def viewer(self, username: str) -> Any:
        with self.runtime.sessions() as session:
            return load_user(session, self.uid(username))

    def kind(self, name: str) -> Any:
        return self.runtime.record_kinds[name]

    def save(self, kind: str, record_id: int | None, values: dict[str, Any], actor: str = "sales", **kw: Any) -> int:
        with write_transaction(self.runtime.sessions) as session:
            return save(session, self.kind(kind), record_id, values, actor=self.uid(actor), **kw).id

    def organisation(self, name: str, owner: str = "sales", **values: Any) -> int:
        return self.save("organisation", None, {"name": name, "owner_user_id": self.uid(owner), **values}, actor=owner)

    def person(self, first: str, last: str = "", owner: str = "sales", **values: Any) -> int:
        values = {"first_name": first, "last_name": last, "owner_user_id": self.uid(owner), **values}
        return self.save("person", None, values, actor=owner)

    def stages(self) -> dict[str, int]:
        """The default pipeline's stage ids by English name."""
        with self.runtime.sessions() as session:
            pipeline = catalogue(session).default()
            assert pipeline is not None
            return {stage.name: stage.id for stage in pipeline.stages}

    def deal(self, name: str = "Deal", owner: str = "sales", **values: Any) -> int:
        values = {"name": name, "owner_user_id": self.uid(owner), "amount_minor": 100_000, "amount_currency": "UAH",
                  **values}  # fmt: skip
        return self.save("opportunity", None, values, actor=owner)

    def move(self, deal_id: int, stage: str, actor: str = "sales", **values: Any) -> int:
        return self.save("opportunity", deal_id, {"stage_id": self.stages()[stage], **values}, actor=actor)

    def get(self, model: Any, record_id: int) -> Any:
        with self.runtime.sessions() as session:
            found = session.get(model, record_id)
            if found is not None:
                session.expunge(found)
            return found


@pytest.fixture
def pipeline(app: Any) -> Pipeline:
    return Pipeline(app)
