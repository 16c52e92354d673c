"""Planning's foundation: the kind is registered, the models match the migration, periods are fiscal."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from voronka.core.company import CompanySettings
from voronka.core.db import Base
from voronka.core.errors import ValidationError
from voronka.plugins.pipeline.models import Opportunity
from voronka.plugins.planning import catalogue, periods
from voronka.plugins.planning.figures import BEHIND, MET, MISSED, NO_TARGET, NOT_STARTED, OFF_TRACK, ON_TRACK, status_of


def test_planning_registers_the_plan_kind(app):
    kinds = app.state.voronka.record_kinds
    assert kinds["plan"].plugin == "planning" and kinds["plan"].url_for(7) == "/planning/plans/7"


def test_models_match_the_migrations(app):
    with app.state.voronka.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "planning_" in repr(d)] == []


def test_periods_follow_the_fiscal_year():
    april = CompanySettings(fiscal_year_start_month=4)
    quarter = periods.containing(april, "quarter", dt.date(2026, 11, 27))
    assert (quarter.start, quarter.end) == (dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    assert quarter.label(april) == "Q3 FY2027"
    year = periods.containing(april, "year", dt.date(2026, 2, 1))
    assert (year.start, year.end, year.label(april)) == (dt.date(2025, 4, 1), dt.date(2026, 4, 1), "FY2026")
    assert periods.previous(quarter).start == dt.date(2026, 7, 1)
    assert periods.parse(april, quarter.key) == quarter
    assert periods.containing(CompanySettings(), "month", dt.date(2026, 12, 31)).end == dt.date(2027, 1, 1)


@pytest.mark.parametrize("text", ["quarter:2026-11-01", "week:2026-01-01", "month:2026-13-01", "month:", "x"])
def test_a_period_that_is_not_one_is_refused(text):
    with pytest.raises(ValidationError):
        periods.parse(CompanySettings(), text)


def test_pace_is_the_share_of_the_period_behind_us():
    q = periods.Period(dt.date(2026, 1, 1), dt.date(2026, 4, 1), "quarter")
    assert q.elapsed(dt.date(2025, 12, 31)) == 0 and q.elapsed(dt.date(2026, 3, 31)) == 1
    assert q.elapsed(dt.date(2026, 1, 1)) == pytest.approx(1 / 90)
    assert status_of(100, 50, 0.5) == ON_TRACK
    assert status_of(100, 41, 0.5) == BEHIND
    assert status_of(100, 39, 0.5) == OFF_TRACK
    assert status_of(100, 100, 0.2) == MET
    assert status_of(100, 10, 1.0, ended=True) == MISSED
    assert status_of(100, 95, 1.0) == BEHIND  # the last day: deals still close today
    assert status_of(100, 50, 1.0) == OFF_TRACK
    assert status_of(100, 0, 0.0) == NOT_STARTED
    assert status_of(None, 5, 0.5) == NO_TARGET


def test_metrics_come_from_enabled_plugins_and_a_missing_one_is_explained(app):
    host = app.state.voronka.host
    keys = {m.key for m in catalogue.available(host)}
    assert {"pipeline.revenue_won", "leads.qualified"} <= keys
    gone = catalogue.describe(host, "telephony.calls_made")
    assert not gone.available and "telephony.calls_made" in gone.problem


def test_the_fixture_writes_a_won_deal_in_the_period(planning, app):
    deal = planning.deal("sales", 500_000, closed=dt.date(2026, 2, 10))
    with app.state.voronka.sessions() as session:
        row = session.execute(select(Opportunity.status, Opportunity.closed_on).where(Opportunity.id == deal)).one()
    assert tuple(row) == ("won", dt.date(2026, 2, 10))
