"""The demo plans: the seeded organisation gets targets for three quarters, handed down so that every
manager's team adds up to the manager's target."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.models import User
from voronka.core.seeding import SeedContext
from voronka.plugins.planning import periods, plans
from voronka.plugins.planning.models import Plan
from voronka.web import seed_core


def test_the_seed_plans_the_organisation_top_down(app):
    runtime = app.state.voronka
    with write_transaction(runtime.sessions) as session:
        ctx = SeedContext(engine=runtime.engine, session=session, scale=1, host=runtime.host)
        summary = seed_core.seed_core(ctx)
        results = dict(runtime.host.call_ordered("seed", ctx=ctx))
    assert results["planning"]["plans"] == len(ctx.ids["planning.plans"]) > 0
    with runtime.sessions() as session:
        settings = company_settings(session)
        current = periods.current(settings, "quarter")
        rows = list(session.scalars(select(Plan)))
        director = session.scalar(select(User.id).where(User.username == summary.director))
        by_key = defaultdict(dict)
        for plan in rows:
            by_key[(plan.metric_key, plan.period_start)][plan.owner_user_id] = plan
        quarters = {periods.previous(current).start, current.start, periods.shift(current, 1).start}
        assert {start for _metric, start in by_key} == quarters
        assert {metric for metric, _start in by_key} == {"pipeline.revenue_won", "pipeline.deals_won",
                                                         "leads.qualified"}  # fmt: skip
        checked = 0
        for (metric, start), owned in by_key.items():
            quarter = periods.containing(settings, "quarter", start)
            assert owned[director].target > 0 and owned[director].stretch >= owned[director].target
            for owner, plan in owned.items():
                reports = plans.direct_reports(session, owner, quarter)
                children = [owned[r.user_id].target for r in reports if r.user_id in owned]
                assert plan.target > 0  # someone with no share last quarter gets no plan, not a zero one
                if children:
                    assert sum(children) == plan.target, (metric, start, owner)
                    checked += 1
                if metric == "pipeline.revenue_won":
                    assert plan.target % 100 == 0  # whole hryvnias
        assert checked >= 9
