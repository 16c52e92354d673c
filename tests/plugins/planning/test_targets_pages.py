"""The targets page and the plan page: they render, save in one go, show the gap live, refuse junk with a
400 and a message, hide other people's plans (404) and keep sales users out (403)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from voronka.plugins.planning.models import Plan

from .conftest import Q1_2026

PAGE = f"/planning/targets?period={Q1_2026.key}&metric=pipeline.revenue_won"


def form(planning: Any, root: str = "manager", method: str = "even", **amounts: str) -> dict[str, str]:
    data = {"period": Q1_2026.key, "metric": "pipeline.revenue_won", "root": str(planning.uid(root)),
            "root_target": "30000.01", "root_stretch": "", "root_version": "0", "method": method}  # fmt: skip
    for name in ("operator", "sales", "sales2"):
        data[f"version_{planning.uid(name)}"] = "0"
        data[f"amount_{planning.uid(name)}"] = amounts.get(name, "")
    return data


def stored(planning: Any) -> dict[int, int]:
    with planning.runtime.sessions() as session:
        return dict(session.execute(select(Plan.owner_user_id, Plan.target)).all())


def test_the_targets_page_shows_the_team_and_the_distribution_form(client, planning):
    client.login("admin")
    page = client.get(PAGE + f"&root={planning.uid('manager')}")
    assert page.status_code == 200
    for text in ("Maksym Manager", "Sofiia Sales", "Taras Sales", "Oksana Operator", "Evenly", "By hand",
                 "By last period", "UAH"):  # fmt: skip
        assert text in page.text
    assert "Distribute further" not in page.text  # nobody reports to the sales people
    top = client.get(PAGE)  # an administrator starts at the top of the hierarchy: themselves here
    assert "Olena Admin" in top.text and "Maksym Manager" in top.text
    assert f'root={planning.uid("manager")}">Distribute further' in top.text


def test_saving_an_even_split_writes_the_root_and_the_team(client, planning):
    client.login("admin")
    response = client.post("/planning/targets", data=form(planning))
    assert response.status_code == 200 and "Targets saved" in response.text
    plans = stored(planning)
    assert plans[planning.uid("manager")] == 3_000_001
    assert sorted(plans[planning.uid(n)] for n in ("operator", "sales", "sales2")) == [1_000_000, 1_000_000, 1_000_001]


def test_the_preview_shows_the_gap_and_writes_nothing(client, planning):
    client.login("admin")
    data = form(planning, method="hand", sales="10000", sales2="5000", operator="0")
    preview = client.hx_post("/planning/targets/preview", data=data)
    assert preview.status_code == 200
    assert "not distributed" in preview.text and "15,000.01" in preview.text.replace("\u00a0", ",")
    too_much = client.hx_post("/planning/targets/preview", data={**data, f"amount_{planning.uid('sales')}": "40000"})
    assert "too much" in too_much.text
    even = client.hx_post("/planning/targets/preview", data=form(planning))
    assert "all of it is distributed" in even.text and 'hx-swap-oob="true"' in even.text
    assert stored(planning) == {}


def test_by_hand_with_a_bad_amount_comes_back_with_the_message_and_the_input(client, planning):
    client.login("admin")
    data = form(planning, method="hand", sales="12 000", sales2="-4", operator="lots")
    response = client.post("/planning/targets", data=data)
    assert response.status_code == 400
    assert "cannot be negative" in response.text and "“lots” is not" in response.text
    assert 'value="12 000"' in response.text  # nothing the user typed is lost
    assert stored(planning) == {}


def test_a_stale_form_keeps_the_users_input(client, planning):
    client.login("admin")
    planning.plan("sales", 123)
    data = form(planning, method="hand", sales="777", sales2="1", operator="2")
    response = client.post("/planning/targets", data=data)
    assert response.status_code == 409
    assert "after you opened" in response.text and 'value="777"' in response.text
    assert stored(planning) == {planning.uid("sales"): 123}


def test_a_share_split_without_history_is_explained(client, planning):
    client.login("admin")
    response = client.post("/planning/targets", data=form(planning, method="share"))
    assert response.status_code == 400 and "evenly or by hand" in response.text


def test_a_manager_distributes_their_target_but_does_not_set_it(client, planning):
    planning.plan("manager", 900)
    client.login("manager")
    page = client.get(PAGE)
    assert page.status_code == 200 and "set by your manager" in page.text
    data = form(planning)
    data.pop("root_target")
    response = client.post("/planning/targets", data=data)
    assert response.status_code == 200, response.text
    assert stored(planning)[planning.uid("sales")] == 300


def test_a_sales_user_may_not_set_targets(client, planning):
    client.login("sales")
    assert client.get(PAGE).status_code == 403
    assert client.post("/planning/targets", data=form(planning)).status_code == 403
    plan = planning.plan("sales", 5)
    assert client.get(f"/planning/plans/{plan}").status_code == 403


@pytest.mark.parametrize("query", ["period=quarter:2026-02-01", "period=week:2026-01-01", "period=quarter:junk",
                                   "metric=nope.nothing", "root=abc", "root=99999999999999999999",
                                   "period=month:0001-01-01"])  # fmt: skip
def test_junk_in_the_url_is_a_400(client, query):
    client.login("admin")
    response = client.get(f"/planning/targets?{query}")
    assert response.status_code == 400, response.text


def test_someone_outside_the_team_is_a_404(client, planning):
    planning.user("outsider", manager="admin")
    client.login("manager")
    assert client.get(PAGE + f"&root={planning.uid('outsider')}").status_code == 404
    theirs = planning.plan("outsider", 5)
    assert client.get(f"/planning/plans/{theirs}").status_code == 404
    for junk in ("0", "abc", "99999999999", "-1"):
        assert client.get(f"/planning/plans/{junk}").status_code == 404


def test_the_plan_page_edits_with_its_version_and_shows_the_mismatch(client, planning):
    parent = planning.plan("manager", 100_000)
    planning.plan("sales", 30_000)
    client.login("admin")
    page = client.get(f"/planning/plans/{parent}")
    assert page.status_code == 200
    assert "Maksym Manager" in page.text and "Sofiia Sales" in page.text and "not distributed" in page.text
    assert f"/planning/plans/{parent}/history" in page.text
    data = {"target": "2000", "stretch": "2500", "note": "Stretch for the fair", "version": "1"}
    saved = client.post(f"/planning/plans/{parent}", data=data)
    assert saved.status_code == 200 and "Saved" in saved.text
    assert stored(planning)[planning.uid("manager")] == 200_000
    stale = client.post(f"/planning/plans/{parent}", data={**data, "target": "3000"})
    assert stale.status_code == 409 and 'value="3000"' in stale.text
    history = client.get(f"/planning/plans/{parent}/history")
    assert history.status_code == 200 and "Stretch for the fair" in history.text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("target", "", "Enter a number"), ("target", "-1", "negative"), ("target", "1e400", "not"),
    ("target", "9" * 30, "too large"), ("target", "9" * 50, "not a number"), ("target", "99999999999999", "too large"),
    ("stretch", "5", "at least the target"), ("target", "1.234", "decimal places"),
    ("target", "1e99999999", "too large"), ("stretch", "9e999990", "too large"),  # int() of these takes hours
])  # fmt: skip
def test_bad_numbers_on_the_plan_page_are_a_400(client, planning, field, value, message):
    plan = planning.plan("sales", 100_000)
    client.login("admin")
    data = {"target": "1000", "stretch": "", "note": "", "version": "1", field: value}
    response = client.post(f"/planning/plans/{plan}", data=data)
    assert response.status_code == 400 and message in response.text
    assert stored(planning)[planning.uid("sales")] == 100_000


def test_a_plan_whose_plugin_is_off_is_marked_and_still_editable(client, planning, app):
    from voronka.core.db import write_transaction
    from voronka.core.plugin_state import switch_plugins

    plan = planning.plan("sales", 30, metric="leads.qualified")
    with write_transaction(planning.runtime.sessions) as session:
        switch_plugins(session, planning.host, ["leads"], enable=False)
    client.login("admin")
    page = client.get(f"/planning/plans/{plan}")
    assert page.status_code == 200 and "switched off" in page.text and "Unavailable" in page.text
    response = client.post(f"/planning/plans/{plan}", data={"target": "45", "stretch": "", "note": "", "version": "1"})
    assert response.status_code == 200 and stored(planning)[planning.uid("sales")] == 45


def test_deleting_a_plan(client, planning):
    plan = planning.plan("sales", 10)
    client.login("manager")
    response = client.post(f"/planning/plans/{plan}/delete")
    assert response.status_code == 200 and "The plan was deleted" in response.text
    assert stored(planning) == {}


def test_the_period_picker_steps_through_periods(client, planning):
    client.login("admin")
    page = client.get(PAGE)
    assert "period=quarter%3A2025-10-01" in page.text and "period=quarter%3A2026-04-01" in page.text
    assert "period=month%3A2026-01-01" in page.text and "period=year%3A2026-01-01" in page.text
    assert client.get(f"/planning/targets?period=month:{dt.date(2026, 2, 1).isoformat()}").status_code == 200


def test_a_form_without_its_versions_is_refused(client, planning):
    client.login("admin")
    data = {**form(planning), f"version_{planning.uid('sales')}": "x"}
    response = client.post("/planning/targets", data=data)
    assert response.status_code == 400 and "form is incomplete" in response.text
    assert stored(planning) == {}


def test_the_page_shows_the_targets_as_saved(client, planning):
    planning.plan("manager", 1000)
    for name, target in (("sales", 700), ("sales2", 200)):
        planning.plan(name, target, method="share")
    client.login("admin")
    page = client.get(PAGE + f"&root={planning.uid('manager')}")
    assert 'value="7.00"' in page.text and 'value="2.00"' in page.text and 'value="10.00"' in page.text
    # the operator has no plan yet: 1.00 of the 10.00 is left
    assert "adds up to UAH9.00 of UAH10.00 — UAH1.00 not distributed" in page.text


def test_a_money_plan_reads_as_money_while_its_plugin_is_off(client, planning, app):
    from voronka.core.db import write_transaction
    from voronka.core.plugin_state import switch_plugins

    plan = planning.plan("sales", 125_000_000)  # ₴1,250,000.00 of revenue won
    with write_transaction(planning.runtime.sessions) as session:
        switch_plugins(session, planning.host, ["leads", "pipeline"], enable=False)
    client.login("admin")
    page = client.get(f"/planning/plans/{plan}")
    assert page.status_code == 200 and "switched off" in page.text
    assert "1250000.00" in page.text or "1,250,000" in page.text or "1 250 000" in page.text
    response = client.post(f"/planning/plans/{plan}",
                           data={"target": "1300000", "stretch": "", "note": "", "version": "1"})  # fmt: skip
    assert response.status_code == 200 and stored(planning)[planning.uid("sales")] == 130_000_000  # hryvnias
