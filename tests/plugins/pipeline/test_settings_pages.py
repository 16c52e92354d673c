"""Pipeline settings: pipelines and stages defined by managers, stages that have held deals kept for the
history (archived, never deleted), open deals moved out through the write path, bad input refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from voronka.plugins.pipeline.models import Opportunity, Pipeline, Stage, StageChange


def _stage(pipeline: Any, name: str, pipeline_id: int | None = None) -> Stage:
    with pipeline.runtime.sessions() as session:
        query = select(Stage).where(Stage.name == name)
        if pipeline_id is not None:
            query = query.where(Stage.pipeline_id == pipeline_id)
        found = session.scalars(query).one()
        session.expunge(found)
        return found


def test_the_default_pipeline_is_listed_with_its_stages(client: Any) -> None:
    client.login("manager")
    page = client.get("/pipeline/settings")
    assert page.status_code == 200
    for name in ("Initial contact", "Interest confirmed", "Qualified", "Negotiation", "Commitment", "Won", "Lost"):
        assert name in page.text
    assert "85 %" in page.text


def test_sales_people_may_not_change_the_pipeline(client: Any) -> None:
    client.login("sales")
    assert client.get("/pipeline/settings").status_code == 403
    assert client.post("/pipeline/settings/pipelines", data={"name": "Mine"}).status_code == 403


def test_a_new_pipeline_starts_with_new_won_and_lost(client: Any, pipeline: Any) -> None:
    client.login("manager")
    response = client.post("/pipeline/settings/pipelines", data={"name": "Renewals"}, follow_redirects=False)
    assert response.status_code == 303
    with pipeline.runtime.sessions() as session:
        renewals = session.scalars(select(Pipeline).where(Pipeline.name == "Renewals")).one()
        query = select(Stage).where(Stage.pipeline_id == renewals.id).order_by(Stage.position)
        stages = [(s.name, s.outcome, s.probability) for s in session.scalars(query)]
    assert stages == [("New", "open", 10), ("Won", "won", 100), ("Lost", "lost", 0)]


def test_an_open_stage_is_added_before_the_closing_ones(client: Any, pipeline: Any) -> None:
    client.login("manager")
    default_id = _stage(pipeline, "Won").pipeline_id
    form = {"pipeline_id": str(default_id), "name": "Proposal sent", "outcome": "open", "probability": "60",
            "forecast_category": "best_case", "expected_days": "10"}  # fmt: skip
    assert client.post("/pipeline/settings/stages", data=form, follow_redirects=False).status_code == 303
    with pipeline.runtime.sessions() as session:
        names = list(
            session.scalars(select(Stage.name).where(Stage.pipeline_id == default_id).order_by(Stage.position))
        )
    assert names.index("Proposal sent") == names.index("Commitment") + 1
    assert names[-2:] == ["Won", "Lost"]


def test_bad_stage_values_say_what_to_fix_and_save_nothing(client: Any, pipeline: Any) -> None:
    client.login("manager")
    default_id = _stage(pipeline, "Won").pipeline_id
    bad = {"pipeline_id": str(default_id), "name": "", "outcome": "open", "probability": "150",
           "forecast_category": "maybe", "expected_days": "-3"}  # fmt: skip
    response = client.hx_post("/pipeline/settings/stages", data=bad)
    assert response.status_code == 400
    for message in ("Give the stage a name.", "Write a whole number from 0 to 100.",
                    "Pick a forecast category from the list.", "Write a number of days from 1 to 3650"):  # fmt: skip
        assert message in response.text
    with pipeline.runtime.sessions() as session:
        assert session.scalar(select(Stage.id).where(Stage.name == "")) is None
    assert client.post("/pipeline/settings/stages", data={**bad, "pipeline_id": "x"}).status_code == 404
    assert client.post("/pipeline/settings/stages/999999", data=bad).status_code == 404


def test_a_stage_that_holds_deals_is_not_deleted_and_its_open_deals_can_be_moved(client: Any, pipeline: Any) -> None:
    first, deal_id = _stage(pipeline, "Initial contact"), pipeline.deal("Boilers")
    target = _stage(pipeline, "Qualified")
    client.login("manager")
    refused = client.post(f"/pipeline/settings/stages/{first.id}/delete")
    assert refused.status_code == 409
    assert "1 deals are in this stage" in refused.text
    moved = client.post(f"/pipeline/settings/stages/{first.id}/empty", data={"target": str(target.id)},
                        follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    assert pipeline.get(Opportunity, deal_id).stage_id == target.id
    with pipeline.runtime.sessions() as session:
        history = list(session.scalars(select(StageChange.stage_id).where(StageChange.opportunity_id == deal_id)
                                       .order_by(StageChange.id)))  # fmt: skip
    assert history == [first.id, target.id]
    still = client.post(f"/pipeline/settings/stages/{first.id}/delete")
    assert still.status_code == 409 and "archive it instead" in still.text
    assert client.post(f"/pipeline/settings/stages/{first.id}/archive", data={"archived": "1"},
                       follow_redirects=False).status_code == 303  # fmt: skip
    assert _stage(pipeline, "Initial contact").archived is True


def test_an_unused_stage_is_deleted_and_the_last_won_stage_is_kept(client: Any, pipeline: Any) -> None:
    client.login("manager")
    default_id = _stage(pipeline, "Won").pipeline_id
    client.post("/pipeline/settings/stages", data={"pipeline_id": str(default_id), "name": "Spare", "outcome": "open",
                                                  "probability": "5", "forecast_category": "pipeline"})  # fmt: skip
    spare = _stage(pipeline, "Spare")
    assert client.post(f"/pipeline/settings/stages/{spare.id}/delete", follow_redirects=False).status_code == 303
    with pipeline.runtime.sessions() as session:
        assert session.get(Stage, spare.id) is None
    won = _stage(pipeline, "Won")
    refused = client.post(f"/pipeline/settings/stages/{won.id}/archive", data={"archived": "1"})
    assert refused.status_code == 409 and "needs a live stage of this kind" in refused.text


def test_stages_reorder_with_buttons(client: Any, pipeline: Any) -> None:
    client.login("manager")
    qualified = _stage(pipeline, "Qualified")
    client.post(f"/pipeline/settings/stages/{qualified.id}/move", data={"direction": "up"})
    with pipeline.runtime.sessions() as session:
        names = list(session.scalars(select(Stage.name).where(Stage.pipeline_id == qualified.pipeline_id)
                                     .order_by(Stage.position)))  # fmt: skip
    assert names[:3] == ["Initial contact", "Qualified", "Interest confirmed"]


def test_changing_a_stage_probability_leaves_deals_in_it_alone(client: Any, pipeline: Any) -> None:
    deal_id = pipeline.deal()
    first = _stage(pipeline, "Initial contact")
    client.login("manager")
    form = {"name": "Initial contact", "outcome": "open", "probability": "15", "forecast_category": "pipeline"}
    assert client.post(f"/pipeline/settings/stages/{first.id}", data=form, follow_redirects=False).status_code == 303
    assert _stage(pipeline, "Initial contact").probability == 15
    assert pipeline.get(Opportunity, deal_id).probability == 10
    assert pipeline.get(Opportunity, pipeline.deal("Next")).probability == 15


def test_the_deal_list_narrows_to_one_customer(client: Any, pipeline: Any) -> None:
    acme, other = pipeline.organisation("Acme Boilers"), pipeline.organisation("Other Works")
    pipeline.deal("Acme boiler room", customer_id=acme)
    pipeline.deal("Other boiler room", customer_id=other)
    client.login("sales")
    page = client.get(f"/pipeline/deals?owner=all&customer={acme}").text
    assert "Acme boiler room" in page and "Other boiler room" not in page
    assert client.get("/pipeline/deals?customer=x").status_code == 200
