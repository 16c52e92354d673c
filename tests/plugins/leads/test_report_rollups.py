"""The channel report's sums (``leads_channel_day``) stay equal to a full recount through every kind of
write: creates, status changes, reopenings, channel and campaign changes, outcomes, deal results,
deletions, restores, merges and purges, on both engines."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from typing import Any

from voronka.core import recycle
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.writes import save
from voronka.plugins.leads import channel_rollups, merging, rules
from voronka.plugins.leads.models import ChannelDay, Lead, LeadOutcome


def _check(leads: Any) -> dict[Any, list[int]]:
    with leads.runtime.sessions() as session:
        stored = channel_rollups.stored(session)
        counted = channel_rollups.counted(session)
    assert stored == counted
    return stored


def _total(sums: dict[Any, list[int]], column: str) -> int:
    index = channel_rollups.VALUES.index(column)
    return sum(v[index] for v in sums.values())


def _qualify(leads: Any, lead_id: int, deal_id: int | None = None) -> int | None:
    """What the qualify service does, as far as the sums go: status qualified and an opportunity row."""
    with write_transaction(leads.runtime.sessions) as session:
        lead = session.get(Lead, lead_id)
        session.info.setdefault(rules.QUALIFYING, set()).add(lead)
        save(session, leads.kind("lead"), lead_id, {"status": "qualified"}, actor=leads.uid("sales"))
        if deal_id is None:
            return None
        row = LeadOutcome(lead_id=lead_id, outcome="pipeline.opportunity", kind="opportunity", record_id=deal_id)
        session.add(row)
        session.flush()
        channel_rollups.outcome_added(session, lead, row)
        return row.id


def _deal_result(leads: Any, outcome_id: int, status: str, amount: int | None, closed: dt.date | None) -> None:
    """What ``deal_results`` does when pipeline says a deal was won, lost or reopened."""
    with write_transaction(leads.runtime.sessions) as session:
        row = session.get(LeadOutcome, outcome_id)
        old_status, old_amount = row.deal_status, row.deal_amount_base_minor
        row.deal_status, row.deal_amount_base_minor, row.deal_closed_on = status, amount, closed
        row.deal_base_currency = "UAH" if amount is not None else ""
        session.flush()  # as deal_results does: the row's history is gone when the sums hear of it
        channel_rollups.deal_result(session, row, old_status, old_amount)


def _recycle(leads: Any, action: str, *ids: int) -> None:
    kind = leads.kind("lead")
    with write_transaction(leads.runtime.sessions) as session:
        if action == "merge":
            recycle.merge(session, kind, ids[0], ids[1], actor=leads.uid("admin"))
        elif action == "purge":
            recycle.purge(session, kind, list(ids), actor=leads.uid("admin"))
        else:
            getattr(recycle, action)(session, kind, ids[0], actor=leads.uid("admin"))


def test_a_lead_counts_in_its_cohort_and_moves_with_its_status_and_campaign(leads: Any) -> None:
    spring = leads.campaign()
    autumn = leads.campaign("Autumn fair", "autumn", channel="leads.web_form")
    a = leads.lead(campaign_id=spring)
    b = leads.lead("Petro", "Ivanenko", channel="leads.phone")
    stored = _check(leads)
    assert _total(stored, "leads") == 2
    today = dt.date.today()
    keys = {(k[1], k[2]) for k in stored}
    assert keys == {("leads.campaign", spring), ("leads.phone", 0)}
    assert all(abs((k[0] - today).days) <= 1 for k in stored)
    leads.save("lead", b, {"status": "disqualified", "disqualify_reason": "lost"})
    outcome = _qualify(leads, a, deal_id=501)
    assert outcome is not None
    _deal_result(leads, outcome, "won", 12_000_00, today + dt.timedelta(days=10))
    stored = _check(leads)
    assert [_total(stored, c) for c in ("qualified", "disqualified", "opportunities", "won")] == [1, 1, 1, 1]
    assert _total(stored, "won_base_minor") == 12_000_00 and _total(stored, "won_days_sum") in (9, 10, 11)
    # the campaign moves, and the deal's result goes with the lead to the other row
    leads.save("lead", a, {"campaign_id": autumn, "channel": "leads.web_form"})
    stored = _check(leads)
    assert {(k[1], k[2]) for k, v in stored.items() if v[4]} == {("leads.web_form", autumn)}
    leads.save("lead", b, {"status": "contacted"})  # reopened: no longer disqualified
    _deal_result(leads, outcome, "", None, None)  # the deal reopened
    stored = _check(leads)
    assert _total(stored, "disqualified") == 0 and _total(stored, "won") == 0 and _total(stored, "opportunities") == 1


def test_deleted_leads_count_nowhere_and_purges_take_back_what_they_added(leads: Any) -> None:
    a, b, c = leads.lead(), leads.lead("Ivan", "Franko"), leads.lead("Lesia", "Ukrainka", channel="leads.email")
    won = _qualify(leads, a, deal_id=7)
    assert won is not None
    _deal_result(leads, won, "won", 5_00, dt.date.today())
    _recycle(leads, "delete", a)
    stored = _check(leads)
    assert _total(stored, "leads") == 2 and _total(stored, "won") == 0
    _recycle(leads, "restore", a)
    assert _total(_check(leads), "won") == 1
    _recycle(leads, "merge", b, c)  # c goes to the bin
    assert _total(_check(leads), "leads") == 2
    _recycle(leads, "purge", c)  # from the bin: taken back already
    _recycle(leads, "purge", a)  # live: its deal goes with it
    stored = _check(leads)
    assert _total(stored, "leads") == 1 and _total(stored, "won") == 0 and _total(stored, "won_base_minor") == 0
    with leads.runtime.sessions() as session:
        assert session.query(ChannelDay).count() == 1  # rows that fell to zero are gone


def test_a_refused_write_changes_no_sum(leads: Any) -> None:
    lead_id = leads.lead()
    before = _check(leads)
    with contextlib.suppress(ValidationError):
        leads.save("lead", lead_id, {"status": "disqualified", "channel": "leads.phone"})  # no reason
    with contextlib.suppress(ValidationError):
        leads.lead("", "")
    assert _check(leads) == before


def test_sums_equal_a_recount_after_a_random_series_of_writes(leads: Any) -> None:
    rng = random.Random(6)
    campaigns = [leads.campaign(f"Campaign {n}", f"c{n}", channel=ch)
                 for n, ch in enumerate(("leads.campaign", "leads.web_form", "leads.email"))]  # fmt: skip
    channels = ["leads.phone", "leads.web_form", "leads.referral", "leads.manual"]
    live: list[int] = []
    outcomes: list[int] = []
    binned: list[int] = []
    for step in range(70):
        action = rng.choice(("create", "create", "status", "campaign", "qualify", "result", "delete", "restore",
                             "purge", "record_purged"))  # fmt: skip
        if action == "create" or not live:
            values: dict[str, Any] = {"channel": rng.choice(channels)}
            if rng.random() < 0.5:
                values = {"campaign_id": rng.choice(campaigns)}
            live.append(leads.lead(f"Lead{step}", "X", **values))
        elif action == "status":
            lead_id = rng.choice(live)
            status = rng.choice(("contacted", "new", "disqualified"))
            with contextlib.suppress(ValidationError):
                leads.save("lead", lead_id, {"status": status, "disqualify_reason": "cannot_contact"
                                             if status == "disqualified" else ""})  # fmt: skip
        elif action == "campaign":
            lead_id = rng.choice(live)
            if rng.random() < 0.5:
                leads.save("lead", lead_id, {"campaign_id": rng.choice(campaigns), "channel": rng.choice(channels)})
            else:
                leads.save("lead", lead_id, {"campaign_id": None, "channel": rng.choice(channels)})
        elif action == "qualify":
            lead_id = rng.choice(live)
            if leads.get(Lead, lead_id).status != "qualified":
                found = _qualify(leads, lead_id, deal_id=1000 + step)
                if found is not None:
                    outcomes.append(found)
        elif action == "result" and outcomes:
            status = rng.choice(("won", "lost", ""))
            amount = rng.randrange(1, 10_000_00) if status == "won" else None
            closed = dt.date.today() + dt.timedelta(days=rng.randrange(0, 90)) if status else None
            _deal_result(leads, rng.choice(outcomes), status, amount, closed)
        elif action == "delete":
            lead_id = live.pop(rng.randrange(len(live)))
            _recycle(leads, "delete", lead_id)
            binned.append(lead_id)
        elif action == "restore" and binned:
            lead_id = binned.pop(rng.randrange(len(binned)))
            _recycle(leads, "restore", lead_id)
            live.append(lead_id)
        elif action == "purge":
            pool = binned if binned and rng.random() < 0.5 else live
            lead_id = pool.pop(rng.randrange(len(pool)))
            _recycle(leads, "purge", lead_id)
            with leads.runtime.sessions() as session:
                gone = set(session.scalars(LeadOutcome.__table__.select().with_only_columns(LeadOutcome.id)))
            outcomes = [o for o in outcomes if o in gone]
        elif action == "record_purged" and outcomes:
            outcome_id = outcomes.pop(rng.randrange(len(outcomes)))
            record = leads.get(LeadOutcome, outcome_id).record_id
            with write_transaction(leads.runtime.sessions) as session:
                merging.records_deleted(session, "opportunity", [record])
        if step % 10 == 9:
            _check(leads)
    stored = _check(leads)
    assert _total(stored, "leads") == len(live)
    with write_transaction(leads.runtime.sessions) as session:
        channel_rollups.recount(session)
    assert _check(leads) == stored


def test_concurrent_writers_add_to_the_same_rows(leads: Any) -> None:
    """Two writers creating leads of the same cohort at once: the upsert adds both, none is lost."""
    import threading

    campaign = leads.campaign()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                leads.lead(f"W{n}", str(i), campaign_id=campaign if i % 2 else None, channel="leads.phone")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _total(_check(leads), "leads") == 24


def test_the_recount_puts_leads_on_their_company_local_day_across_clock_changes(leads: Any) -> None:
    """The recount computes local days in SQL (an offset per daylight-saving span on SQLite): it must agree
    with the write path's Python conversion around midnights and clock changes."""
    from sqlalchemy import update

    from voronka.core.company import company_settings

    moments = [dt.datetime(2026, 3, 28, 21, 59, tzinfo=dt.UTC), dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC),
               dt.datetime(2026, 3, 29, 20, 59, 59, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 21, 0, tzinfo=dt.UTC),
               dt.datetime(2026, 10, 24, 20, 59, tzinfo=dt.UTC), dt.datetime(2026, 10, 24, 21, 0, tzinfo=dt.UTC),
               dt.datetime(2026, 10, 25, 21, 59, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 22, 0, tzinfo=dt.UTC),
               dt.datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)]  # fmt: skip
    ids = [leads.lead(f"Lead{n}", "X", channel="leads.phone") for n in range(len(moments))]
    with write_transaction(leads.runtime.sessions) as session:
        for lead_id, moment in zip(ids, moments, strict=True):
            session.execute(update(Lead).where(Lead.id == lead_id).values(created_at=moment))
        zone = company_settings(session).zone
        expected: dict[dt.date, int] = {}
        for moment in moments:
            day = channel_rollups.cohort(moment, "leads.phone", None, zone)[0]
            expected[day] = expected.get(day, 0) + 1
        counted = channel_rollups.counted(session)
        assert {k[0]: v[0] for k, v in counted.items()} == expected
        assert dt.date(2026, 3, 29) in expected and expected[dt.date(2026, 3, 28)] == 1
        channel_rollups.recount(session)
    _check(leads)


def test_outcomes_moved_to_another_lead_take_their_counts_along(leads: Any) -> None:
    from sqlalchemy import update

    kept = leads.lead(channel="leads.phone")
    merged = leads.lead("Ivan", "Franko", channel="leads.email")
    outcome = _qualify(leads, merged, deal_id=31)
    assert outcome is not None
    _deal_result(leads, outcome, "won", 7_00, dt.date.today())
    with write_transaction(leads.runtime.sessions) as session:  # what a merge of leads would do
        channel_rollups.outcomes_moved(session, [outcome], kept)
        session.execute(update(LeadOutcome).where(LeadOutcome.id == outcome).values(lead_id=kept))
    stored = _check(leads)
    assert {k[1] for k, v in stored.items() if v[4]} == {"leads.phone"}


def test_a_merged_or_purged_campaign_hands_its_leads_on_and_the_sums_follow(leads: Any) -> None:
    spring = leads.campaign()
    autumn = leads.campaign("Autumn fair", "autumn", channel="leads.campaign")
    winter = leads.campaign("Winter fair", "winter", channel="leads.campaign")
    a, b = leads.lead(campaign_id=spring), leads.lead("Ivan", "Franko", campaign_id=autumn)
    binned = leads.lead("Lesia", "Ukrainka", campaign_id=autumn)
    _recycle(leads, "delete", binned)
    kind = leads.kind("campaign")
    with write_transaction(leads.runtime.sessions) as session:
        recycle.merge(session, kind, winter, spring, actor=leads.uid("admin"))
    assert leads.get(Lead, a).campaign_id == winter
    with write_transaction(leads.runtime.sessions) as session:
        recycle.purge(session, kind, [autumn], actor=leads.uid("admin"))
    assert leads.get(Lead, b).campaign_id is None and leads.get(Lead, binned).campaign_id is None
    stored = _check(leads)
    assert {k[2] for k in stored} == {winter, 0}
