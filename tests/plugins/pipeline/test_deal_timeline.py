"""Stage changes, wins and losses on timelines: the customer's (of its deals) and the deal's own, by kind,
under the viewer's visibility, paged by the (time, key) cursor without skipping or repeating an entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from voronka.core.records import Ref
from voronka.plugins.pipeline import deal_timeline
from voronka.plugins.pipeline.deal_timeline import entries


def _entries(pipeline: Any, viewer: str, ref: Ref, kinds=None, before=None, limit=50) -> list[Any]:
    with pipeline.runtime.sessions() as session:
        return entries(session, pipeline.viewer(viewer), ref, kinds, before, limit)


def test_kinds_are_namespaced_and_labelled():
    assert [k for k, _label in deal_timeline.kinds()] == ["pipeline.stage", "pipeline.won", "pipeline.lost"]


def test_a_customers_timeline_has_its_deals_moves_wins_and_losses(pipeline):
    org = pipeline.organisation("Customer")
    won = pipeline.deal("Won one", customer_id=org)
    pipeline.move(won, "Negotiation")
    pipeline.move(won, "Won")
    lost = pipeline.deal("Lost one", customer_id=org)
    pipeline.move(lost, "Lost", lost_reason="Price", competitor="Acme")
    pipeline.deal("Another customer's")
    found = _entries(pipeline, "sales", Ref("organisation", org))
    kinds = [e.kind for e in found]
    assert kinds.count("pipeline.won") == 1 and kinds.count("pipeline.lost") == 1 and kinds.count("pipeline.stage") == 3
    by_kind = {e.kind: e for e in found}
    assert by_kind["pipeline.won"].title == "Deal won: Won one" and by_kind["pipeline.won"].link.endswith(f"/{won}")
    assert by_kind["pipeline.lost"].body == "Price · to Acme" and by_kind["pipeline.lost"].actor == "Sofiia Sales"
    assert all(e.at.tzinfo is not None for e in found)
    assert [e.cursor for e in found] == sorted((e.cursor for e in found), reverse=True)
    only = _entries(pipeline, "sales", Ref("organisation", org), kinds=["pipeline.won", "pipeline.lost"])
    assert sorted(e.kind for e in only) == ["pipeline.lost", "pipeline.won"]
    assert _entries(pipeline, "sales", Ref("organisation", org), kinds=["contacts.note"]) == []


def test_deals_the_viewer_may_not_see_stay_off(pipeline):
    org = pipeline.organisation("Shared customer")
    pipeline.deal("Mine", customer_id=org)
    theirs = pipeline.deal("Theirs", customer_id=org, owner="sales2")
    titles = [e.title for e in _entries(pipeline, "sales", Ref("organisation", org))]
    assert titles == ["New deal: Mine"]
    assert _entries(pipeline, "sales", Ref("opportunity", theirs)) == []
    assert len(_entries(pipeline, "manager", Ref("organisation", org))) == 2


def test_a_deals_own_timeline_is_its_stage_history(pipeline):
    deal_id = pipeline.deal("Deal")
    pipeline.move(deal_id, "Qualified")
    titles = [e.title for e in _entries(pipeline, "sales", Ref("opportunity", deal_id))]
    assert titles == ["Moved to Qualified", "Deal opened at Initial contact"]
    assert _entries(pipeline, "sales", Ref("note", deal_id)) == []


def test_paging_by_cursor_with_equal_times_skips_and_repeats_nothing(pipeline):
    org = pipeline.organisation("Busy customer")
    at = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    later = at + dt.timedelta(hours=1)
    for n in range(7):
        deal_id = pipeline.deal(f"Deal {n}", customer_id=org, stage_entered_at=at)
        pipeline.move(deal_id, "Qualified", stage_entered_at=later)
    everything = _entries(pipeline, "sales", Ref("organisation", org))
    assert len(everything) == 14 and {e.at for e in everything} == {at, later}
    seen, before = [], None
    while True:
        page = _entries(pipeline, "sales", Ref("organisation", org), before=before, limit=3)
        seen.extend(page)
        if len(page) < 3:
            break
        before = page[-1].cursor
    assert [e.key for e in seen] == [e.key for e in everything]
    # another plugin's cursor at the same instant: its key sorts before ours, so ours are all newer
    older = _entries(pipeline, "sales", Ref("organisation", org), before=(later, "contacts.activity:000000000001"))
    assert len(older) == 7 and all(e.at == at for e in older)
    newer_key = _entries(pipeline, "sales", Ref("organisation", org), before=(later, "zzz"))
    assert len(newer_key) == 14
    assert _entries(pipeline, "sales", Ref("organisation", org), before=(at - dt.timedelta(seconds=1), "x")) == []


def test_the_card_shows_the_deals_on_its_timeline(client, pipeline):
    org = pipeline.organisation("Card customer")
    deal_id = pipeline.deal("Big deal", customer_id=org)
    pipeline.move(deal_id, "Won")
    client.login("sales")
    html = client.get(f"/contacts/{org}").text
    assert "Deal won: Big deal" in html and "New deal: Big deal" in html
    assert 'value="pipeline.won"' in html  # the type filter lists pipeline's kinds
    filtered = client.hx_get(f"/contacts/{org}/timeline?kinds=pipeline.won")
    assert "Deal won: Big deal" in filtered.text and "New deal" not in filtered.text
