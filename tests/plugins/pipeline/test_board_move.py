"""Moving a card on the board: drag/drop and the keyboard form post the same move; the rules decide the rest.
Bad input (junk ids, a closed deal, an archived or foreign stage, a stale card) is a 4xx with a message and
nothing stored; two people moving one card at once: one wins, the other gets a 409."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from voronka.core.db import write_transaction
from voronka.plugins.pipeline.models import Opportunity, Pipeline, Stage, StageChange
from voronka.plugins.pipeline.stages import forget
from voronka.web.testkit.client import VoronkaClient

MOVE = "/pipeline/board/move"


def move(client: Any, deal_id: Any, stage_id: Any, version: Any, shown_in: Any = None, hx: bool = True,
         **extra: Any) -> Any:  # fmt: skip
    data = {"deal": str(deal_id), "stage": str(stage_id), "version": str(version), **extra}
    if shown_in is not None:
        data["from"] = str(shown_in)
    if hx:
        return client.hx_post(MOVE, data=data)
    return client.post(MOVE, data=data, follow_redirects=False)


def state(pipeline: Any, deal_id: int) -> tuple[int, str, int]:
    deal = pipeline.get(Opportunity, deal_id)
    return deal.stage_id, deal.status, deal.version


def history_count(pipeline: Any, deal_id: int) -> int:
    with pipeline.runtime.sessions() as session:
        return session.scalar(select(func.count()).where(StageChange.opportunity_id == deal_id))


def test_a_move_saves_through_the_rules_and_answers_with_the_card_and_both_headers(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal("Laptops", amount_minor=2_000_000)
    client.login("sales")
    response = move(client, deal, stages["Qualified"], 1, stages["Initial contact"])
    assert response.status_code == 200, response.text[:500]
    assert state(pipeline, deal) == (stages["Qualified"], "open", 2)
    assert pipeline.get(Opportunity, deal).probability == 35
    with pipeline.runtime.sessions() as session:
        last = session.scalars(select(StageChange).where(StageChange.opportunity_id == deal)
                               .order_by(StageChange.id.desc())).first()  # fmt: skip
    assert (last.stage_id, last.from_stage_id, last.by_user_id) == (
        stages["Qualified"], stages["Initial contact"], pipeline.uid("sales"))  # fmt: skip
    text = response.text
    # the card goes to the top of its new column, out of band; the main answer (the old place) is empty
    assert f'hx-swap-oob="afterbegin:#cards-{stages["Qualified"]}"' in text
    assert f'id="deal-{deal}"' in text and 'data-version="2"' in text
    assert f'id="col-head-{stages["Initial contact"]}" hx-swap-oob="true"' in text
    assert f'id="col-head-{stages["Qualified"]}" hx-swap-oob="true"' in text
    assert 'id="board-message" class="board-message" hx-swap-oob="true"' in text and "moved to Qualified" in text


def test_a_move_without_htmx_redirects_back_to_the_filtered_board(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    client.login("sales")
    response = client.post(MOVE + "?owner=all&q=De", data={"deal": deal, "stage": stages["Negotiation"],
                                                            "version": 1}, follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"].startswith("/pipeline/board?") and "owner=all" in response.headers["location"]
    assert state(pipeline, deal)[0] == stages["Negotiation"]


def test_won_updates_the_won_zone_and_takes_the_card_off_the_board(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal(amount_minor=300_000)
    client.login("sales")
    response = move(client, deal, stages["Won"], 1, stages["Initial contact"])
    assert response.status_code == 200
    assert state(pipeline, deal) == (stages["Won"], "won", 2)
    assert f'id="zone-{stages["Won"]}"' in response.text and "afterbegin" not in response.text
    assert f'id="deal-{deal}"' not in response.text  # the card is gone from the board


def test_lost_asks_for_a_reason_before_saving(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal("Printers")
    client.login("sales")
    asked = move(client, deal, stages["Lost"], 1, stages["Initial contact"])
    assert asked.status_code == 200 and "<dialog" in asked.text and 'name="lost_reason"' in asked.text
    assert "Why was “Printers” lost?" in asked.text
    assert state(pipeline, deal) == (stages["Initial contact"], "open", 1)  # nothing stored yet
    empty = move(client, deal, stages["Lost"], 1, stages["Initial contact"], asked="1", lost_reason="  ")
    assert empty.status_code == 400 and "Say why the deal was lost." in empty.text
    assert state(pipeline, deal)[2] == 1
    long = move(client, deal, stages["Lost"], 1, stages["Initial contact"], lost_reason="x" * 201)
    assert long.status_code == 400 and state(pipeline, deal)[2] == 1
    done = move(client, deal, stages["Lost"], 1, stages["Initial contact"], asked="1", lost_reason="Price",
                competitor="Acme")  # fmt: skip
    assert done.status_code == 200
    saved = pipeline.get(Opportunity, deal)
    assert (saved.status, saved.lost_reason, saved.competitor) == ("lost", "Price", "Acme")
    assert '<div id="board-dialog" hx-swap-oob="true"></div>' in done.text  # the dialog is closed


def test_a_stale_card_gets_409_and_is_shown_where_it_really_is(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    pipeline.move(deal, "Negotiation", actor="sales2")  # someone else moved it: version 2
    client.login("sales")
    response = move(client, deal, stages["Qualified"], 1, stages["Initial contact"])
    assert response.status_code == 409
    assert "Someone else changed this deal" in response.text
    assert f'hx-swap-oob="afterbegin:#cards-{stages["Negotiation"]}"' in response.text
    for stage in ("Initial contact", "Qualified", "Negotiation"):
        assert f'id="col-head-{stages[stage]}"' in response.text
    assert state(pipeline, deal) == (stages["Negotiation"], "open", 2)
    assert history_count(pipeline, deal) == 2


def test_a_stale_card_still_in_its_column_is_swapped_in_place(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    pipeline.save("opportunity", deal, {"amount_minor": 5})  # edited, not moved: version 2, same column
    client.login("sales")
    response = move(client, deal, stages["Qualified"], 1, stages["Initial contact"])
    assert response.status_code == 409
    assert "afterbegin" not in response.text
    assert response.text.lstrip().startswith('<article class="deal-card') and 'data-version="2"' in response.text


def test_a_closed_deal_does_not_move(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    pipeline.move(deal, "Won")
    client.login("sales")
    response = move(client, deal, stages["Qualified"], 2, stages["Initial contact"])
    assert response.status_code == 400
    assert "reopen it before you move it" in response.text
    assert state(pipeline, deal) == (stages["Won"], "won", 2)


def test_an_archived_stage_is_refused(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    with write_transaction(pipeline.runtime.sessions) as session:
        session.execute(update(Stage).where(Stage.id == stages["Qualified"]).values(archived=True))
    client.login("sales")
    response = move(client, deal, stages["Qualified"], 1, stages["Initial contact"])
    assert response.status_code == 400 and "no longer used" in response.text
    assert response.headers.get("hx-reswap") == "none"  # the card stays where it is
    assert state(pipeline, deal) == (stages["Initial contact"], "open", 1)


def test_a_stage_of_another_pipeline_is_refused(client: Any, pipeline: Any) -> None:
    deal = pipeline.deal()
    with write_transaction(pipeline.runtime.sessions) as session:
        other = session.execute(insert(Pipeline).values(name="Renewals", position=5).returning(Pipeline.id)).scalar()
        foreign = session.execute(insert(Stage).values(pipeline_id=other, name="Talking", position=0,
                                                       probability=30).returning(Stage.id)).scalar()  # fmt: skip
        forget(session)
    client.login("sales")
    response = move(client, deal, foreign, 1)
    assert response.status_code == 400 and "Pick a stage of the" in response.text
    assert state(pipeline, deal)[2] == 1


@pytest.mark.parametrize(
    "deal, stage, version",
    [("abc", "1", "1"), ("1", "1e3", "1"), ("1", "1", "-1"), ("99999999999", "1", "1"), ("", "", ""),
     ("1", "²", "1"), ("1", "1", "1.5"), ("1\x00", "1", "1")],
)  # fmt: skip
def test_junk_in_the_move_is_a_400_and_stores_nothing(client: Any, pipeline: Any, deal: str, stage: str,
                                                      version: str) -> None:  # fmt: skip
    real = pipeline.deal()
    client.login("sales")
    response = client.hx_post(MOVE, data={"deal": deal, "stage": stage, "version": version})
    assert response.status_code == 400, response.text[:300]
    assert "alert" in response.text
    assert state(pipeline, real)[2] == 1


def test_unknown_or_invisible_deals_and_stages(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    theirs = pipeline.deal("Not yours", owner="sales2")
    client.login("sales")
    assert move(client, 2_000_000_000, stages["Qualified"], 1).status_code == 404
    hidden = move(client, theirs, stages["Qualified"], 1)
    assert hidden.status_code == 404 and "not yours to see" in hidden.text
    assert state(pipeline, theirs)[2] == 1
    assert move(client, theirs, 2_000_000_000, 1).status_code == 400
    plain = move(client, theirs, stages["Qualified"], 1, hx=False)
    assert plain.status_code == 404 and "not yours to see" in plain.text


def test_moving_needs_edit_permission(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal(owner="operator")
    client.login("operator")
    assert client.get("/pipeline/board").status_code == 200
    assert move(client, deal, stages["Qualified"], 1).status_code == 403
    assert state(pipeline, deal)[2] == 1


def test_moving_to_the_same_stage_changes_nothing(client: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal()
    client.login("sales")
    response = move(client, deal, stages["Initial contact"], 1, stages["Initial contact"])
    assert response.status_code == 200
    assert state(pipeline, deal) == (stages["Initial contact"], "open", 1)
    assert history_count(pipeline, deal) == 1


def test_two_people_moving_the_same_card_at_once(app: Any, pipeline: Any) -> None:
    stages = pipeline.stages()
    deal = pipeline.deal("Contested", owner="manager")
    first, second = VoronkaClient(app), VoronkaClient(app)
    first.login("manager")
    second.login("admin")
    barrier = threading.Barrier(2)
    answers: dict[str, int] = {}

    def run(name: str, client: Any, target: str) -> None:
        barrier.wait()
        answers[name] = move(client, deal, stages[target], 1, stages["Initial contact"]).status_code

    threads = [threading.Thread(target=run, args=("first", first, "Qualified")),
               threading.Thread(target=run, args=("second", second, "Negotiation"))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    first.close()
    second.close()
    assert sorted(answers.values()) == [200, 409], answers
    winner = "Qualified" if answers["first"] == 200 else "Negotiation"
    assert state(pipeline, deal) == (stages[winner], "open", 2)
    assert history_count(pipeline, deal) == 2  # one stay closed, one opened: no double move
