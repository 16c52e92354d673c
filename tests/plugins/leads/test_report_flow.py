"""End to end with the other tasks' services: the qualify service and ``deal_results`` (pipeline's events
as delivered from the outbox) keep the channel report's sums equal to a recount."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from voronka.core.db import write_transaction
from voronka.plugins.leads import channel_rollups, deal_results, qualify
from voronka.plugins.leads.models import Lead, LeadOutcome

from .test_report_rollups import _check, _total


def _event(name: str, **payload: Any) -> Any:
    return SimpleNamespace(name=name, payload=payload)


def test_qualify_and_deal_events_keep_the_sums(leads: Any) -> None:
    lead_id = leads.lead(company="Sonyakh LLC", email="olena@example.com", channel="leads.web_form")
    with write_transaction(leads.runtime.sessions) as session:
        qualify.qualify(session, leads.runtime, leads.uid("sales"), lead_id, outcomes=["leads.person"])
        lead = session.get(Lead, lead_id)
        row = LeadOutcome(lead_id=lead_id, outcome="pipeline.opportunity", kind="opportunity", record_id=77)
        session.add(row)
        session.flush()
        channel_rollups.outcome_added(session, lead, row)
    stored = _check(leads)
    assert _total(stored, "qualified") == 1 and _total(stored, "opportunities") == 1
    today = dt.date.today()
    won = _event("pipeline.deal_won", opportunity_id=77, amount_base={"minor": 9_900_00, "currency": "UAH"},
                 closed_on=(today + dt.timedelta(days=30)).isoformat())  # fmt: skip
    for _twice in range(2):  # delivered at least once: the second delivery changes nothing
        with write_transaction(leads.runtime.sessions) as session:
            deal_results.on_event(session, won)
    stored = _check(leads)
    assert _total(stored, "won") == 1 and _total(stored, "won_base_minor") == 9_900_00
    assert 29 <= _total(stored, "won_days_sum") <= 31
    reopened = _event("pipeline.stage_changed", opportunity_id=77, status="open", from_status="won")
    with write_transaction(leads.runtime.sessions) as session:
        deal_results.on_event(session, reopened)
    stored = _check(leads)
    assert _total(stored, "won") == 0 and _total(stored, "won_days_sum") == 0
    lost = _event("pipeline.deal_lost", opportunity_id=77, status="lost",
                  amount_base={"minor": 5_00, "currency": "UAH"}, closed_on=today.isoformat())  # fmt: skip
    with write_transaction(leads.runtime.sessions) as session:
        deal_results.on_event(session, lost)
    assert _total(_check(leads), "lost") == 1
