"""The rules every write of a deal obeys: defaults from the stage, status from the stage's outcome, the
stage history, closed deals that do not move, and the events that follow."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.errors import ValidationError
from voronka.core.models_jobs import OutboxEvent
from voronka.plugins.pipeline.models import Opportunity, StageChange


def _history(pipeline: Any, deal_id: int) -> list[tuple[int, int | None, bool, int | None]]:
    with pipeline.runtime.sessions() as session:
        rows = session.scalars(
            select(StageChange).where(StageChange.opportunity_id == deal_id).order_by(StageChange.id)
        )
        return [(r.stage_id, r.from_stage_id, r.left_at is None, r.by_user_id) for r in rows]


def _events(pipeline: Any, deal_id: int) -> list[tuple[str, dict[str, Any]]]:
    with pipeline.runtime.sessions() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.name.like("pipeline.%")).order_by(OutboxEvent.id))
        return [(e.name, e.payload) for e in rows if e.payload.get("opportunity_id") == deal_id]


def test_a_new_deal_starts_at_the_first_stage_with_its_probability(pipeline: Any) -> None:
    stages = pipeline.stages()
    deal_id = pipeline.deal("Laptops for the Kyiv office")
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.stage_id, deal.status, deal.probability, deal.forecast_category) == (
        stages["Initial contact"], "open", 10, "pipeline")  # fmt: skip
    assert deal.probability_manual is False and deal.closed_on is None
    assert _history(pipeline, deal_id) == [(stages["Initial contact"], None, True, pipeline.uid("sales"))]
    names = [name for name, _payload in _events(pipeline, deal_id)]
    assert names == ["pipeline.stage_changed"]


def test_moving_sets_probability_and_category_and_keeps_the_history(pipeline: Any) -> None:
    stages = pipeline.stages()
    deal_id = pipeline.deal()
    pipeline.move(deal_id, "Negotiation")
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.probability, deal.forecast_category, deal.version) == (50, "best_case", 2)
    assert _history(pipeline, deal_id) == [
        (stages["Initial contact"], None, False, pipeline.uid("sales")),
        (stages["Negotiation"], stages["Initial contact"], True, pipeline.uid("sales")),
    ]


def test_a_probability_set_by_hand_holds_until_the_next_move(pipeline: Any) -> None:
    deal_id = pipeline.deal()
    pipeline.save("opportunity", deal_id, {"probability": 25})
    assert (pipeline.get(Opportunity, deal_id).probability, pipeline.get(Opportunity, deal_id).probability_manual) == (
        25, True)  # fmt: skip
    pipeline.move(deal_id, "Qualified")
    assert pipeline.get(Opportunity, deal_id).probability == 35


def test_winning_closes_the_deal_and_emits_deal_won(pipeline: Any) -> None:
    deal_id = pipeline.deal(amount_minor=250_000)
    pipeline.move(deal_id, "Won")
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.status, deal.probability, deal.forecast_category) == ("won", 100, "won")
    assert deal.closed_on is not None and deal.expected_close == deal.closed_on
    events = _events(pipeline, deal_id)
    assert [name for name, _p in events] == ["pipeline.stage_changed", "pipeline.stage_changed", "pipeline.deal_won"]
    won = events[-1][1]
    assert won["amount"] == {"minor": 250_000, "currency": "UAH"}
    assert won["amount_base"] == {"minor": 250_000, "currency": "UAH"}
    assert won["closed_on"] == deal.closed_on.isoformat() and won["from_status"] == "open"


def test_a_closed_deal_does_not_move_until_reopened(pipeline: Any) -> None:
    deal_id = pipeline.deal()
    pipeline.move(deal_id, "Lost", lost_reason="Price")
    with pytest.raises(ValidationError) as refused:
        pipeline.move(deal_id, "Negotiation")
    assert "reopen" in refused.value.errors["stage_id"]
    pipeline.move(deal_id, "Negotiation", status="open")
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.status, deal.closed_on, deal.probability) == ("open", None, 50)


def test_setting_the_status_alone_moves_to_the_closing_stage(pipeline: Any) -> None:
    stages = pipeline.stages()
    deal_id = pipeline.deal()
    pipeline.save("opportunity", deal_id, {"status": "lost", "lost_reason": "No budget", "competitor": "Acme"})
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.stage_id, deal.status, deal.lost_reason) == (stages["Lost"], "lost", "No budget")
    assert [n for n, _p in _events(pipeline, deal_id)][-1] == "pipeline.deal_lost"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount_minor": -1}, "amount_minor"),
        ({"amount_currency": "XYZ"}, "amount_currency"),
        ({"probability": 101}, "probability"),
        ({"name": "  "}, "name"),
        ({"forecast_category": "maybe"}, "forecast_category"),
    ],
)
def test_bad_values_are_refused_with_a_message_and_nothing_is_written(
    pipeline: Any, values: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        pipeline.deal(**values)
    assert field in refused.value.errors
    with pipeline.runtime.sessions() as session:
        assert session.scalar(select(Opportunity.id)) is None
        assert session.scalar(select(StageChange.id)) is None


def test_a_bad_change_to_a_saved_deal_is_refused_and_leaves_it_as_it_was(pipeline: Any) -> None:
    deal_id = pipeline.deal(amount_minor=5_000)
    for values in ({"amount_minor": -5}, {"probability": -1}, {"stage_id": 999_999}):
        with pytest.raises(ValidationError):
            pipeline.save("opportunity", deal_id, values)
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.amount_minor, deal.probability, deal.version) == (5_000, 10, 1)
