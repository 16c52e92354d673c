"""Pipeline's answers to leads' hooks (plugins/pipeline/leads_answers.py): offered while leads is on,
harmless while it is off, and pipeline never needs leads to work."""

from __future__ import annotations

from typing import Any

import pytest

from voronka.core.db import write_transaction
from voronka.plugins.pipeline import leads_answers


def _offered(app: Any, hook: str) -> dict[str, Any]:
    """What enabled plugins answer to one of leads' hooks, read as leads reads it (plain dicts)."""
    host = app.state.voronka.host
    found: dict[str, Any] = {}
    for impl in getattr(host.pm.hook, hook).get_hookimpls():
        if host.is_enabled(impl.plugin_name):
            for item in impl.function() or []:
                found[item["key"]] = {**item, "plugin": impl.plugin_name}
    return found


def test_the_hooks_are_pipelines_and_optional(app: Any) -> None:
    host = app.state.voronka.host
    for hook in ("qualification_outcomes", "qualification_lookups"):
        impls = [i for i in getattr(host.pm.hook, hook).get_hookimpls() if i.plugin_name == "pipeline"]
        assert len(impls) == 1 and impls[0].optionalhook


def test_with_leads_on_the_opportunity_and_the_lookup_are_offered(app: Any) -> None:
    outcome = _offered(app, "qualification_outcomes")["pipeline.opportunity"]
    assert outcome["plugin"] == "pipeline" and outcome["kind"] == "opportunity" and outcome["default"] is True
    assert tuple(outcome["after"]) == ("leads.organisation", "leads.person") and callable(outcome["create"])
    with app.state.voronka.sessions() as session:
        targets = dict(outcome["fields"](session))
    assert {"name", "amount", "amount_currency", "expected_close", "description"} <= set(targets)
    lookup = _offered(app, "qualification_lookups")["pipeline.open_deals"]
    assert lookup["type"] == "number" and callable(lookup["run"])
    from voronka.plugins.leads import contract  # the leads side reads it without complaint

    assert contract.outcomes(app.state.voronka.host)["pipeline.opportunity"].plugin == "pipeline"
    assert "pipeline.open_deals" in contract.lookups(app.state.voronka.host)


def test_custom_fields_of_deals_are_mapping_targets(app: Any, pipeline: Any) -> None:
    from voronka.core.models_fields import CustomField

    with write_transaction(app.state.voronka.sessions) as session:
        session.add(CustomField(kind="opportunity", key="seats", label="Seats", type="number", options={}))
    from voronka.core import custom_fields

    with app.state.voronka.sessions() as session:
        custom_fields.invalidate(session)
        assert ("custom.seats", "Seats") in leads_answers.fields(session)


def test_open_deals_counts_by_company_name_and_email_whoever_owns_them(app: Any, pipeline: Any) -> None:
    acme = pipeline.organisation("ТОВ «Акме»", owner="sales2")
    pipeline.deal("One", customer_id=acme, owner="sales2")
    pipeline.deal("Two", customer_id=acme, owner="sales2")
    won = pipeline.deal("Won", customer_id=acme, owner="sales2")
    pipeline.move(won, "Won", actor="sales2")
    olena = pipeline.person("Olena", "Koval", primary_email="Olena@Example.com")
    pipeline.deal("Hers", customer_id=olena)
    with app.state.voronka.sessions() as session:
        assert leads_answers.open_deals(session, {"company": "Акме", "email": ""}) == 2
        assert leads_answers.open_deals(session, {"company": "", "email": "olena@example.com"}) == 1
        assert leads_answers.open_deals(session, {"company": "ТОВ Акме", "email": "olena@example.com"}) == 3
        assert leads_answers.open_deals(session, {"company": "Nobody", "email": "x@y.z"}) == 0
        assert leads_answers.open_deals(session, {}) == 0


def test_deal_names_come_from_the_lead() -> None:
    assert leads_answers.deal_name({"company": "Acme", "name": "Olena", "channel_label": "Web site form"}) == (
        "Acme — Web site form")  # fmt: skip
    assert (
        leads_answers.deal_name({"name": "Olena Koval", "message_excerpt": "40 laptops"}) == "Olena Koval — 40 laptops"
    )
    assert leads_answers.deal_name({}) == "New deal"


@pytest.mark.voronka(disabled=("leads",))
def test_pipeline_works_with_leads_disabled(app: Any, client: Any, pipeline: Any) -> None:
    org = pipeline.organisation("Acme")
    deal_id = pipeline.deal("Laptops", customer_id=org)
    pipeline.move(deal_id, "Won")
    client.login("sales")
    assert client.get("/pipeline/board").status_code == 200
    assert client.get(f"/pipeline/deals/{deal_id}").status_code == 200
    assert client.get(f"/contacts/{org}").status_code == 200
    assert client.get("/leads/").status_code == 404
    # leads is off: nothing asks, and answering costs pipeline nothing (no leads' outcomes are around)
    assert set(_offered(app, "qualification_outcomes")) == {"pipeline.opportunity"}
