"""The deal page: every section, visibility, click-to-edit with optimistic concurrency, the quick actions
(move on, won, lost with a reason, reopen), delete into the recycle bin, the timeline and the history."""

from __future__ import annotations

import re

from sqlalchemy import select

from voronka.core.models_records import AuditEntry
from voronka.plugins.pipeline.models import Opportunity, StageChange


def version_in(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no version in the form"
    return found.group(1)


def test_the_page_shows_every_section(client, pipeline):
    org = pipeline.organisation("ТОВ «Ромашка»")
    deal_id = pipeline.deal("Ноутбуки для Львова", customer_id=org, amount_minor=1_250_050, expected_close=None)
    pipeline.move(deal_id, "Negotiation")
    client.login("sales")
    page = client.get(f"/pipeline/deals/{deal_id}")
    assert page.status_code == 200
    html = page.text
    assert "Ноутбуки для Львова" in html and "ТОВ «Ромашка»" in html and f'href="/contacts/{org}"' in html
    for section in (
        'id="deal-header"',
        'id="deal-fields"',
        'id="stakeholders"',
        'id="stage-history"',
        'id="timeline"',
        'id="attachments"',
        "/records/opportunity/",
        f"/pipeline/deals/{deal_id}/history",
        f"/contacts/activities/new?type=note&amp;ref=opportunity:{deal_id}",
        "Sofiia Sales",
        'data-outcome="open"',
        "Negotiation",
        "Move to Commitment",
    ):
        assert section in html, section
    # amount 12,500.50 UAH, weighted at 50 %: 6,250.25
    assert "12,500.50" in html and "6,250.25" in html
    # the stage history shows both stays and who moved the deal; the timeline has the stage change
    assert html.count('class="stage-badge"') >= 3 and "Moved to Negotiation" in html


def test_junk_ids_and_hidden_deals_are_404(client, pipeline):
    theirs = pipeline.deal("Theirs", owner="sales2")
    mine = pipeline.deal("Mine")
    client.login("sales")
    assert client.get(f"/pipeline/deals/{mine}").status_code == 200
    for url in (
        f"/pipeline/deals/{theirs}",
        "/pipeline/deals/999999",
        "/pipeline/deals/99999999999",
        "/pipeline/deals/abc",
        "/pipeline/deals/-1",
        f"/pipeline/deals/{theirs}/timeline",
        f"/pipeline/deals/{theirs}/history",
        f"/pipeline/deals/{theirs}/stakeholders",
        f"/pipeline/deals/{mine}/fields/nonsense/edit",
    ):
        assert client.get(url).status_code == 404, url
    assert client.hx_get(f"/pipeline/deals/{theirs}/fields/name/edit").status_code == 404
    assert client.post(f"/pipeline/deals/{theirs}/fields/name", data={"name": "x", "version": "1"}).status_code == 404
    assert client.post(f"/pipeline/deals/{theirs}/won", data={"version": "1"}).status_code == 404
    assert pipeline.get(Opportunity, theirs).name == "Theirs"
    client.login("manager")  # everyone under them
    assert client.get(f"/pipeline/deals/{theirs}").status_code == 200


def test_a_field_saves_in_place_and_a_stale_form_is_a_409(client, pipeline):
    deal_id = pipeline.deal("Old name")
    client.login("sales")
    form = client.hx_get(f"/pipeline/deals/{deal_id}/fields/name/edit")
    assert form.status_code == 200 and 'name="name"' in form.text
    version = version_in(form.text)
    saved = client.hx_post(f"/pipeline/deals/{deal_id}/fields/name", data={"name": "New name", "version": version})
    assert saved.status_code == 200 and "New name" in saved.text and 'hx-swap-oob="true"' in saved.text
    assert pipeline.get(Opportunity, deal_id).name == "New name"
    stale = client.hx_post(f"/pipeline/deals/{deal_id}/fields/name", data={"name": "Lost update", "version": version})
    assert stale.status_code == 409 and "Someone else saved" in stale.text and "New name" in stale.text
    assert pipeline.get(Opportunity, deal_id).name == "New name"
    no_version = client.post(f"/pipeline/deals/{deal_id}/fields/name", data={"name": "x"})
    assert no_version.status_code == 400 and pipeline.get(Opportunity, deal_id).name == "New name"


def test_bad_field_input_is_a_400_next_to_the_field(client, pipeline):
    deal_id = pipeline.deal("Deal", amount_minor=500)
    client.login("sales")
    version = version_in(client.hx_get(f"/pipeline/deals/{deal_id}/fields/amount/edit").text)
    cases = [
        ("amount", {"amount": "-5", "currency": "UAH"}, "cannot be negative"),
        ("amount", {"amount": "lots", "currency": "UAH"}, "as a number"),
        ("amount", {"amount": "1.005", "currency": "UAH"}, "decimal places"),
        ("amount", {"amount": "10", "currency": "ZZZ"}, "not a currency code"),
        ("amount", {"amount": "10", "currency": "<b>"}, "not a currency code"),
        ("probability", {"probability": "140"}, "from 0 to 100"),
        ("probability", {"probability": "-1"}, "from 0 to 100"),
        ("expected_close", {"expected_close": "31.12.2026"}, "YYYY-MM-DD"),
        ("stage", {"stage": "999999"}, "Pick a stage"),
        ("owner", {"owner": "u:999999"}, "active user"),
        ("customer", {"customer": "999999"}, "not yours to see"),
        ("name", {"name": "   "}, "Give the deal a name"),
    ]
    for field, data, message in cases:
        response = client.hx_post(f"/pipeline/deals/{deal_id}/fields/{field}", data={**data, "version": version})
        assert response.status_code == 400, (field, data)
        assert message in response.text and "field-error" in response.text, (field, data)
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.amount_minor, deal.amount_currency, deal.version, deal.name) == (500, "UAH", 1, "Deal")


def test_amount_probability_and_stage_edit(client, pipeline):
    stages = pipeline.stages()
    deal_id = pipeline.deal("Deal")
    client.login("sales")

    def post(field: str, **data: str) -> int:
        version = str(pipeline.get(Opportunity, deal_id).version)
        return client.post(f"/pipeline/deals/{deal_id}/fields/{field}", data={**data, "version": version}).status_code

    assert post("amount", amount="1 234,56", currency="eur") == 200  # plain form: 303 back to the page
    assert post("probability", probability="42") == 200
    assert post("stage", stage=str(stages["Qualified"])) == 200
    assert post("expected_close", expected_close="2026-12-31") == 200
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.amount_minor, deal.amount_currency, deal.stage_id, deal.probability) == (
        123_456,
        "EUR",
        stages["Qualified"],
        35,
    )
    assert str(deal.expected_close) == "2026-12-31"
    assert post("stage", stage=str(stages["Won"])) == 400  # closing goes through Won / Lost…, not the stage list


def test_move_on_won_lost_and_reopen(client, pipeline):
    stages = pipeline.stages()
    deal_id = pipeline.deal("Deal")
    client.login("sales")
    page = client.get(f"/pipeline/deals/{deal_id}").text
    moved = client.hx_post(
        f"/pipeline/deals/{deal_id}/advance",
        data={"version": version_in(page), "stage": str(stages["Interest confirmed"])},
    )
    assert moved.status_code == 204 and moved.headers["HX-Redirect"] == f"/pipeline/deals/{deal_id}"
    assert pipeline.get(Opportunity, deal_id).stage_id == stages["Interest confirmed"]
    # the same (now stale) button again: refused, the deal stays where it is
    again = client.hx_post(
        f"/pipeline/deals/{deal_id}/advance",
        data={"version": version_in(page), "stage": str(stages["Interest confirmed"])},
    )
    assert again.status_code == 409 and pipeline.get(Opportunity, deal_id).stage_id == stages["Interest confirmed"]

    version = str(pipeline.get(Opportunity, deal_id).version)
    asked = client.hx_get(f"/pipeline/deals/{deal_id}/lost")
    assert asked.status_code == 200 and 'name="lost_reason"' in asked.text
    no_reason = client.hx_post(f"/pipeline/deals/{deal_id}/lost", data={"version": version, "lost_reason": " "})
    assert no_reason.status_code == 400 and "Say why" in no_reason.text
    assert pipeline.get(Opportunity, deal_id).status == "open"
    lost = client.hx_post(
        f"/pipeline/deals/{deal_id}/lost", data={"version": version, "lost_reason": "Price", "competitor": "Acme"}
    )
    assert lost.status_code == 204
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.status, deal.stage_id, deal.lost_reason, deal.competitor) == ("lost", stages["Lost"], "Price", "Acme")
    html = client.get(f"/pipeline/deals/{deal_id}").text
    assert "Reopen" in html and "Price" in html and "Acme" in html and 'data-field="stage"' not in html

    reopened = client.hx_post(f"/pipeline/deals/{deal_id}/reopen", data={"version": str(deal.version)})
    assert reopened.status_code == 204
    deal = pipeline.get(Opportunity, deal_id)
    assert (deal.status, deal.stage_id, deal.lost_reason, deal.closed_on) == (
        "open",
        stages["Interest confirmed"],
        "",
        None,
    )
    won = client.post(f"/pipeline/deals/{deal_id}/won", data={"version": str(deal.version)})
    assert won.status_code == 200 and pipeline.get(Opportunity, deal_id).status == "won"
    stale = client.hx_post(f"/pipeline/deals/{deal_id}/reopen", data={"version": str(deal.version)})
    assert stale.status_code == 409 and "Someone else saved" in stale.text
    assert pipeline.get(Opportunity, deal_id).status == "won"


def test_delete_goes_to_the_recycle_bin(client, pipeline):
    org = pipeline.organisation("Customer")
    deal_id = pipeline.deal("To delete", customer_id=org)
    client.login("sales")
    assert "Delete “To delete”?" in client.get(f"/pipeline/deals/{deal_id}/delete").text
    gone = client.hx_post(f"/pipeline/deals/{deal_id}/delete")
    assert gone.status_code == 204 and gone.headers["HX-Redirect"] == f"/contacts/{org}"
    assert pipeline.get(Opportunity, deal_id).deleted_at is not None
    assert client.get(f"/pipeline/deals/{deal_id}").status_code == 404
    with pipeline.runtime.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.kind == "opportunity", AuditEntry.record_id == deal_id)
        ).all()
    assert "delete" in actions


def test_sales_without_edit_rights_see_no_actions(client, pipeline):
    deal_id = pipeline.deal("Deal", owner="operator")
    client.login("operator")  # pipeline.view, not pipeline.edit
    html = client.get(f"/pipeline/deals/{deal_id}").text
    assert "Won</button>" not in html and "/fields/name/edit" not in html
    assert client.post(f"/pipeline/deals/{deal_id}/won", data={"version": "1"}).status_code == 403
    assert pipeline.get(Opportunity, deal_id).status == "open"


def test_timeline_shows_activities_on_the_deal_and_pages(client, pipeline):
    deal_id = pipeline.deal("Deal")
    for stage in ("Interest confirmed", "Qualified", "Negotiation"):
        pipeline.move(deal_id, stage)
    client.login("sales")
    note = client.post(
        f"/contacts/activities/new?type=note&ref=opportunity:{deal_id}",
        data={"subject": "Called the buyer", "body": "", "occurred_at": "2026-01-05T10:00"},
    )
    assert note.status_code == 200
    html = client.get(f"/pipeline/deals/{deal_id}").text
    assert "Called the buyer" in html and "Moved to Qualified" in html and "Deal opened at Initial contact" in html
    timeline = client.hx_get(f"/pipeline/deals/{deal_id}/timeline?kinds=contacts.note")
    assert timeline.status_code == 200 and "Called the buyer" in timeline.text and "Moved to" not in timeline.text
    junk = client.hx_get(f"/pipeline/deals/{deal_id}/timeline?before=junk&kinds=nope")
    assert junk.status_code == 200 and "Called the buyer" in junk.text


def test_history_lists_changes_in_words(client, pipeline):
    deal_id = pipeline.deal("Deal")
    pipeline.save("opportunity", deal_id, {"name": "Renamed"})
    pipeline.move(deal_id, "Negotiation", actor="manager")
    client.login("sales")
    page = client.get(f"/pipeline/deals/{deal_id}/history")
    assert page.status_code == 200 and "Renamed" in page.text and "Sofiia Sales" in page.text
    row = page.text[page.text.index('data-field="stage_id" data-action="update"') :]
    row = row[: row.index("</tr>")]
    assert "Initial contact" in row and "Negotiation" in row and "Maksym Manager" in row
    assert "Best case" in page.text  # the forecast category that followed the stage, in words


def test_stage_history_rows_match_the_table(client, pipeline):
    deal_id = pipeline.deal("Deal")
    pipeline.move(deal_id, "Qualified", actor="manager")
    client.login("sales")
    html = client.get(f"/pipeline/deals/{deal_id}").text
    section = html[html.index('id="stage-history"') :]
    with pipeline.runtime.sessions() as session:
        count = len(session.scalars(select(StageChange).where(StageChange.opportunity_id == deal_id)).all())
    assert count == 2 and section.count('class="deal-stay"') == count and "Maksym Manager" in section
    assert "still there" in section


def test_custom_fields_show_and_save_on_the_deal(client, pipeline):
    from voronka.core import custom_fields_admin as cfa
    from voronka.core.db import write_transaction

    with write_transaction(pipeline.runtime.sessions) as session:
        cfa.create_field(
            session, pipeline.kind("opportunity"), {"label": "Tender number", "key": "tender", "type": "text"}
        )
    deal_id = pipeline.deal("Deal")
    client.login("sales")
    html = client.get(f"/pipeline/deals/{deal_id}").text
    assert "Tender number" in html and f"/records/opportunity/{deal_id}/fields/tender/edit" in html
    saved = client.hx_post(
        f"/records/opportunity/{deal_id}/fields/tender", data={"cf.tender": "UA-2026-01-15-000123", "version": "1"}
    )
    assert saved.status_code == 200 and "UA-2026-01-15-000123" in saved.text
    assert pipeline.get(Opportunity, deal_id).custom == {"tender": "UA-2026-01-15-000123"}
