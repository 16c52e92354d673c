"""The funnel and forecast sums stay equal to a full recount through every kind of write of a deal."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest

from voronka.core import recycle
from voronka.core.currency import set_rate
from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.markers import hookimpl
from voronka.plugins.pipeline import deal_rollups
from voronka.plugins.pipeline.analytics_models import DealRollup


class _PurgeHook:
    """What pipeline's hooks.py is asked to answer (``records_deleted`` → ``deal_rollups.purged``); registered
    here until it does (a second call for the same deals does nothing, so both may run)."""

    @hookimpl
    def records_deleted(self, session: Any, kind: str, ids: list[int]) -> None:
        deal_rollups.purged(session, kind, ids)


@pytest.fixture(autouse=True)
def _purge_hook(pipeline: Any) -> Any:
    pm = pipeline.runtime.host.pm
    pm.register(_PurgeHook(), name="test-pipeline-purge")
    yield
    pm.unregister(name="test-pipeline-purge")


def _check(pipeline: Any) -> tuple[dict[Any, list[int]], dict[Any, list[int]]]:
    with pipeline.runtime.sessions() as session:
        stored = deal_rollups.stored(session)
        counted = deal_rollups.recount(session)
        totals = deal_rollups.stored_totals(session)
    assert stored[0] == counted[0]
    assert stored[1] == counted[1]
    assert totals == deal_rollups.totals_of(*counted)
    return stored


def _recycle(pipeline: Any, action: str, *ids: int) -> None:
    kind = pipeline.kind("opportunity")
    with write_transaction(pipeline.runtime.sessions) as session:
        if action == "merge":
            recycle.merge(session, kind, ids[0], ids[1], actor=pipeline.uid("admin"))
        elif action == "purge":
            recycle.purge(session, kind, list(ids), actor=pipeline.uid("admin"))
        else:
            getattr(recycle, action)(session, kind, ids[0], actor=pipeline.uid("admin"))


def test_sums_equal_a_recount_after_a_mix_of_writes(pipeline: Any) -> None:
    with write_transaction(pipeline.runtime.sessions) as session:
        set_rate(session, "EUR", dt.date(2020, 1, 1), "45")
    soon = dt.date.today() + dt.timedelta(days=40)
    a = pipeline.deal("A", expected_close=soon.isoformat() and soon)
    b = pipeline.deal("B", amount_minor=250_000, amount_currency="EUR")
    c = pipeline.deal("C", owner="manager")
    d = pipeline.deal("D")
    e = pipeline.deal("E", amount_minor=7_000)
    stored = _check(pipeline)
    assert sum(v[0] for v in stored[0].values()) == 5
    pipeline.move(a, "Qualified")
    pipeline.move(a, "Negotiation")
    pipeline.move(a, "Interest confirmed")  # back: Qualified stays "advanced", Negotiation does not
    pipeline.move(b, "Commitment")
    pipeline.move(b, "Won")
    pipeline.move(c, "Lost", actor="manager", lost_reason="Price")
    _check(pipeline)
    pipeline.save("opportunity", d, {"amount_minor": 999_999, "amount_currency": "EUR", "probability": 70})
    pipeline.save("opportunity", a, {"owner_user_id": pipeline.uid("manager")})
    pipeline.save("opportunity", e, {"expected_close": soon, "forecast_category": "commit"})
    pipeline.save("opportunity", c, {"status": "open"}, actor="manager")  # reopened
    _check(pipeline)
    _recycle(pipeline, "delete", d)
    stored = _check(pipeline)
    assert sum(v[0] for v in stored[0].values()) == 4
    _recycle(pipeline, "restore", d)
    _recycle(pipeline, "merge", a, e)
    stored = _check(pipeline)
    assert sum(v[0] for v in stored[0].values()) == 4
    _recycle(pipeline, "purge", c)  # a live deal, purged for good
    _recycle(pipeline, "purge", e)  # one from the bin
    stored = _check(pipeline)
    assert sum(v[0] for v in stored[0].values()) == 3
    won = [values for key, values in stored[0].items() if key[0] == "won"]
    assert won and won[0][1] == 250_000 and won[0][2] == 250_000 * 100


def test_history_sums_count_entries_advances_and_finished_stays(pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    pipeline.move(deal, "Qualified")
    pipeline.move(deal, "Initial contact")
    pipeline.move(deal, "Won")
    _deals, history = _check(pipeline)
    by_stage: dict[int, list[int]] = {}
    for key, values in history.items():
        found = by_stage.setdefault(key[4], [0, 0, 0, 0])
        for i, v in enumerate(values):
            found[i] += v
    assert by_stage[stages["Initial contact"]][:3] == [1, 1, 2]
    assert by_stage[stages["Qualified"]][:3] == [1, 1, 1]
    assert by_stage[stages["Won"]][:3] == [1, 0, 0]


def test_a_refused_write_changes_no_sum(pipeline: Any) -> None:
    deal = pipeline.deal()
    before = _check(pipeline)
    with contextlib.suppress(ValidationError):
        pipeline.save("opportunity", deal, {"name": "  ", "amount_minor": 5, "stage_id": pipeline.stages()["Won"]})
    assert _check(pipeline) == before


def test_the_first_write_of_a_month_keeps_the_open_pipeline_as_it_was(pipeline: Any) -> None:
    pipeline.deal("Kept", amount_minor=500)
    with write_transaction(pipeline.runtime.sessions) as session:
        deal_rollups.take_snapshot(session, dt.date(2031, 1, 1))
        assert deal_rollups.take_snapshot(session, dt.date(2031, 1, 1)) is False
    with pipeline.runtime.sessions() as session:
        rows = session.query(DealRollup).count()
    assert rows == 1
