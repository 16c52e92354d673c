"""The e-mail channel: outlook's ``mail_from_unknown_sender`` event becomes a lead, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.events import emit
from voronka.core.jobs_outbox import Dispatcher
from voronka.core.models import SettingValue
from voronka.plugins.leads import mail_channel
from voronka.plugins.leads.models import Lead


@pytest.fixture
def runtime(make_app: Any) -> Any:
    rt = make_app(run_jobs_in_server=False).state.voronka  # no request has passed: capture finds the kinds
    with write_transaction(rt.sessions) as session:
        session.add(SettingValue(plugin="leads", key="mailboxes", value=" Sales@Example.com ; info@example.com",
                                 changed_at=dt.datetime.now(dt.UTC)))  # fmt: skip
    return rt


def mail(**changes: Any) -> dict[str, Any]:
    return {"mailbox": "sales@example.com", "message_id": "<abc@mail.example.org>", "from_name": "Olena Koval",
            "from_address": "olena@example.org", "to": ["sales@example.com"], "cc": [],
            "subject": "Price for 40 seats?", "date": "2026-11-28T09:15:00+00:00",
            "text_excerpt": "Hello, we are looking for a CRM.", "attachments": ["brief.pdf"], **changes}  # fmt: skip


def deliver(runtime: Any, *payloads: dict[str, Any]) -> None:
    with write_transaction(runtime.sessions) as session:
        for payload in payloads:
            emit(session, mail_channel.EVENT, payload)
    result = Dispatcher(runtime.sessions, runtime.host).drain()
    assert result.failed == 0


def leads_of(runtime: Any) -> list[Lead]:
    with runtime.sessions() as session:
        found = list(session.scalars(select(Lead).order_by(Lead.id)))
        session.expunge_all()
        return found


def test_a_mail_to_a_named_mailbox_becomes_a_lead(runtime):
    deliver(runtime, mail())
    (lead,) = leads_of(runtime)
    assert (lead.name, lead.email, lead.channel) == ("Olena Koval", "olena@example.org", "leads.email")
    assert lead.message == "Price for 40 seats?\n\nHello, we are looking for a CRM."
    assert lead.external_ref == "<abc@mail.example.org>"
    assert lead.payload == mail()


def test_the_same_message_never_makes_two_leads(runtime):
    deliver(runtime, mail(), mail(mailbox="info@example.com"))
    deliver(runtime, mail())
    assert len(leads_of(runtime)) == 1


def test_other_mailboxes_are_ignored_and_junk_is_skipped_not_retried(runtime):
    deliver(runtime, mail(mailbox="hr@example.com", message_id="<1@x>"), mail(mailbox=None, message_id="<2@x>"),
            mail(from_name="", from_address="", subject="", message_id="<3@x>"), {"nothing": True})  # fmt: skip
    assert leads_of(runtime) == []


def test_a_malformed_sender_address_is_left_out_and_kept_in_the_payload(runtime):
    deliver(runtime, mail(from_address="olena at example", message_id="<4@x>"))
    (lead,) = leads_of(runtime)
    assert lead.email == "" and lead.payload["from_address"] == "olena at example"
    deliver(runtime, mail(from_name="", message_id="<5@x>", from_address="ivan@example.org"))
    assert leads_of(runtime)[-1].first_name == "ivan"


def test_a_very_long_message_id_is_hashed():
    assert mail_channel.message_ref("<" + "x" * 300 + ">").startswith("sha256:")
    assert mail_channel.message_ref(" <a@b> ") == "<a@b>"
