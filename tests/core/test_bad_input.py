"""Junk in addresses and values is a clear 4xx, never a 500: ids past 32 bits, NUL characters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.models import User
from voronka.core.routing import ID_MAX
from voronka.core.writes import save

NOTES = "notes=voronka_test_notes"
pytestmark = pytest.mark.voronka(plugins=[NOTES], entry_points=False)


def test_an_id_past_32_bits_is_a_404_on_every_engine(client):
    client.login("admin")
    for path in (f"/notes/{ID_MAX + 1}", "/notes/99999999999", "/records/note/9999999999/attachments"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/notes/{ID_MAX}").status_code == 404  # the largest id is still an id: just no such note


def test_a_nul_in_the_address_is_a_400(client):
    client.login("admin")
    answer = client.get("/notes/?q=a%00b")
    assert answer.status_code == 400 and "NUL" in answer.text


def test_the_write_path_refuses_a_nul_in_text(app):
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        admin = session.scalar(select(User.id).where(User.username == "admin"))
        with pytest.raises(ValidationError) as refused:
            save(session, runtime.record_kinds["note"], None, {"title": "a\x00b", "owner_user_id": admin}, actor=admin)
    assert "title" in refused.value.errors
