"""Leads' metrics obey the host's contract and count leads created and qualified per owner and period,
under the viewer's visibility."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from voronka.core.db import write_transaction
from voronka.plugins.leads.metrics import CREATED, METRICS, QUALIFIED_LEADS
from voronka.plugins.leads.models import Lead
from voronka.web.testkit.conformance import check_metric

from .test_report_rollups import _qualify

UTC = dt.UTC


def _values(leads: Any, metric: Any, viewer: str, owners: list[str], start: Any, end: Any) -> dict[str, Any]:
    ids = {leads.uid(o): o for o in owners}
    with leads.runtime.sessions() as session:
        found = metric.values(session, leads.viewer(viewer), list(ids), start, end)
    return {ids[k]: v for k, v in found.items()}


def test_metrics_pass_the_contract_check(app: Any, leads: Any) -> None:
    a = leads.lead()
    leads.lead("Ivan", "Franko", owner="sales2")
    leads.lead("Queue", "Lead", owner=None, owner_team_id=leads.team_id())
    _qualify(leads, a)
    owners = [leads.uid("sales"), leads.uid("sales2"), leads.uid("manager")]
    with app.state.voronka.sessions() as session:
        for metric in METRICS:
            for viewer in ("admin", "sales"):
                assert check_metric(metric, session, leads.viewer(viewer), owners, "leads") == []
    keys = {m.key for found in app.state.voronka.host.hook.metrics() for m in found}
    assert {"leads.created", "leads.qualified"} <= keys


def test_created_and_qualified_per_owner_and_period(leads: Any) -> None:
    now = dt.datetime.now(UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=1)
    a, b = leads.lead(), leads.lead("Petro", "Ivanenko")
    leads.lead("Taras", "Sales", owner="sales2")
    old = leads.lead("Old", "Lead")
    _qualify(leads, a)
    _qualify(leads, old)
    leads.save("lead", b, {"status": "disqualified", "disqualify_reason": "lost"})
    with write_transaction(leads.runtime.sessions) as session:  # created last year, qualified today
        session.execute(update(Lead).where(Lead.id == old).values(created_at=now - dt.timedelta(days=400)))
    owners = ["sales", "sales2"]
    assert _values(leads, CREATED, "manager", owners, start, end) == {"sales": (2, 0), "sales2": (1, 1)}
    assert _values(leads, QUALIFIED_LEADS, "manager", owners, start, end) == {"sales": (2, 0), "sales2": (0, 1)}
    # sales sees only their own leads: sales2's figures are not theirs to see
    assert "sales2" not in _values(leads, CREATED, "sales", owners, start, end)
    with leads.runtime.sessions() as session:
        rows = QUALIFIED_LEADS.records(session, leads.viewer("manager"), leads.uid("sales"), start, end, "actual", 10)
    assert sorted(r.url for r in rows) == sorted([f"/leads/{a}", f"/leads/{old}"])
    earlier = _values(leads, CREATED, "manager", owners, now - dt.timedelta(days=500), now - dt.timedelta(days=300))
    assert earlier == {"sales": (1, 0)}
