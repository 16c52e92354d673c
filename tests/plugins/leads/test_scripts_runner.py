"""The script runner through the HTTP client: lookups, back and forward, resume, conflicts, actions, outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from voronka.plugins.contacts.api import Activity
from voronka.plugins.leads.models import Lead, Qualification

from .scripts_fixtures import answer, deliver, run_of, save_script, start


def definition() -> dict[str, Any]:
    return {"start": "known", "steps": [
        {"key": "known", "type": "lookup", "title": "Known?",
         "branches": {"lookup": "leads.existing_customer", "cases": [{"when": True, "next": "welcome_back"}],
                      "else": "role"}},
        {"key": "welcome_back", "type": "yes_no", "title": "Welcome back", "text": "You already work with us!",
         "options": [{"value": "yes", "label": "New project", "next": "role"},
                     {"value": "no", "label": "Support", "next": "support"}]},
        {"key": "role", "type": "text", "title": "Role", "text": "What is your role?",
         "actions": [{"action": "leads.set_field", "params": {"field": "job_title", "answer": "role"}}],
         "next": "budget"},
        {"key": "budget", "type": "number", "title": "Budget", "text": "What budget is planned?",
         "actions": [{"action": "leads.create_task", "params": {"subject": "Send the price list", "due_days": "2"}}],
         "branches": {"cases": [{"when": {"op": ">=", "value": 50000}, "next": "qualified"}], "else": "small"}},
        {"key": "qualified", "type": "outcome", "title": "Qualified", "result": "qualify"},
        {"key": "small", "type": "outcome", "title": "Too small", "result": "disqualify", "reason": "lost",
         "note": "Budget too small"},
        {"key": "support", "type": "outcome", "title": "Support", "result": "script", "script": "support"},
    ]}  # fmt: skip


def support_script() -> dict[str, Any]:
    return {"start": "issue", "steps": [
        {"key": "issue", "type": "text", "title": "Issue", "text": "What is the problem?", "next": "done"},
        {"key": "done", "type": "outcome", "title": "Passed on", "result": "disqualify", "reason": "canceled"},
    ]}  # fmt: skip


@pytest.fixture
def wizard(app: Any, client: Any, leads: Any) -> Any:
    save_script(app, support_script(), key="support", name="Support", default=False)
    save_script(app, definition())
    client.login("sales")
    return client


def test_a_lookup_picks_the_branch_through_the_system_scope(app: Any, wizard: Any, leads: Any) -> None:
    leads.person("Iryna", "Bondar", owner="sales2", primary_email="iryna@bondar.example")  # not the caller's to see
    known = leads.lead("Iryna", "Bondar", email="Iryna@Bondar.example")
    stranger = leads.lead("Petro", "Shevchenko", email="petro@new.example")
    known_run = run_of(app, start(wizard, known))
    assert known_run.step == "welcome_back" and known_run.answers == {"known": True}
    stranger_run = run_of(app, start(wizard, stranger))
    assert stranger_run.step == "role" and stranger_run.answers == {"known": False}
    page = wizard.get(f"/leads/{stranger}/run/{stranger_run.id}")
    assert "What is your role?" in page.text and 'id="run-question">Role</h2>' in page.text
    assert "<dt>Known?</dt><dd>No</dd>" in page.text  # the lookup is not asked; its finding is shown


def test_answers_go_back_and_forward_and_take_the_other_branch(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead(email="olena@example.com")
    run_id = start(wizard, lead_id)
    assert answer(wizard, app, lead_id, run_id, "Chief buyer").status_code == 200
    assert run_of(app, run_id).step == "budget"
    back = answer(wizard, app, lead_id, run_id, op="back")
    assert back.status_code == 200 and "Chief buyer" in back.text  # the earlier answer is filled in
    run = run_of(app, run_id)
    assert run.step == "role" and run.path == ["known", "role"]
    answer(wizard, app, lead_id, run_id, "Director")
    answer(wizard, app, lead_id, run_id, "12 000")
    run = run_of(app, run_id)
    assert run.step == "small" and run.path == ["known", "role", "budget", "small"]
    assert run.answers["budget"] == 12000 and run.answers["role"] == "Director"
    assert leads.get(Lead, lead_id).job_title == "Director"  # the inside action ran with the new answer


def test_a_wrong_answer_is_refused_in_place_and_nothing_moves(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    answer(wizard, app, lead_id, run_id, "CEO")
    before = run_of(app, run_id)
    refused = answer(wizard, app, lead_id, run_id, "a lot")
    assert refused.status_code == 400 and "Write a number" in refused.text
    after = run_of(app, run_id)
    assert (after.step, after.version, after.answers) == (before.step, before.version, before.answers)


def test_a_run_is_resumed_from_the_lead_and_not_started_twice(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    answer(wizard, app, lead_id, run_id, "CTO")
    panel = wizard.get(f"/leads/{lead_id}/scripts")
    assert panel.status_code == 200 and "Continue script" in panel.text and f"/run/{run_id}" in panel.text
    assert start(wizard, lead_id) == run_id  # the start button continues the unfinished run
    page = wizard.get(f"/leads/{lead_id}/run/{run_id}")
    assert "What budget is planned?" in page.text and "CTO" in page.text
    restarted = start(wizard, lead_id, restart="1")
    assert restarted != run_id and run_of(app, run_id).status == "abandoned"


def test_two_people_answering_at_once_the_second_gets_409_and_the_current_screen(app: Any, wizard: Any, leads: Any,
                                                                                 make_app: Any) -> None:  # fmt: skip
    from voronka.web.testkit.client import VoronkaClient

    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    opened = run_of(app, run_id)
    with VoronkaClient(make_app()) as other:
        other.login("sales")
        assert answer(other, app, lead_id, run_id, "Owner").status_code == 200
    late = answer(wizard, app, lead_id, run_id, "Buyer", version=opened.version, step=opened.step)
    assert late.status_code == 409
    assert "Someone else answered" in late.text and "What budget is planned?" in late.text
    assert run_of(app, run_id).answers["role"] == "Owner"


def test_the_version_column_refuses_a_stale_write_on_the_engine(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    sessions = app.state.voronka.sessions
    with sessions() as stale:
        mine = stale.get(Qualification, run_id)
        stale.commit()  # keeps the loaded values (expire_on_commit off), as a page opened earlier would
        answer(wizard, app, lead_id, run_id, "Owner")
        mine.step = "budget"
        with pytest.raises(StaleDataError):
            stale.flush()
        stale.rollback()


def test_actions_run_inside_and_after_through_the_outbox(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    answer(wizard, app, lead_id, run_id, "Head of sales")
    assert leads.get(Lead, lead_id).job_title == "Head of sales"
    answer(wizard, app, lead_id, run_id, "90000")

    def tasks() -> list[Activity]:
        with app.state.voronka.sessions() as session:
            return list(
                session.scalars(select(Activity).where(Activity.ref_kind == "lead", Activity.ref_id == lead_id))
            )

    assert tasks() == []  # not in the answer's transaction: after it, through the outbox
    deliver(app)
    made = tasks()
    assert [(t.type, t.subject, t.owner_user_id) for t in made] == [("task", "Send the price list", leads.uid("sales"))]
    assert made[0].due_at is not None
    answer(wizard, app, lead_id, run_id, op="back")
    answer(wizard, app, lead_id, run_id, "95000")  # changed answer: the action is queued again …
    deliver(app)
    assert len(tasks()) == 1  # … and finds the same task still open


def test_a_failing_inside_action_refuses_the_answer(app: Any, client: Any, leads: Any) -> None:
    broken = definition()
    broken["steps"][2]["actions"] = [{"action": "leads.set_field", "params": {"field": "status", "value": "x"}}]
    save_script(app, support_script(), key="support", name="Support", default=False)
    save_script(app, broken)
    client.login("sales")
    lead_id = leads.lead()
    run_id = start(client, lead_id)
    refused = answer(client, app, lead_id, run_id, "CEO")
    assert refused.status_code == 400 and "not a lead field" in refused.text
    assert run_of(app, run_id).step == "role" and "role" not in run_of(app, run_id).answers


def test_the_disqualify_outcome_closes_the_lead_with_its_reason(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    answer(wizard, app, lead_id, run_id, "CEO")
    screen = answer(wizard, app, lead_id, run_id, "100")
    assert "Disqualify the lead" in screen.text
    run = run_of(app, run_id)
    done = wizard.post(f"/leads/{lead_id}/run/{run_id}/finish", data={"step": run.step, "version": run.version},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/leads/{lead_id}"
    lead = leads.get(Lead, lead_id)
    assert (lead.status, lead.disqualify_reason, lead.disqualify_note) == ("disqualified", "lost", "Budget too small")
    finished = run_of(app, run_id)
    assert (finished.status, finished.outcome) == ("finished", "disqualify")
    again = answer(wizard, app, lead_id, run_id, op="back", version=finished.version, step=finished.step)
    assert again.status_code == 409


def test_the_qualify_outcome_hands_the_run_to_the_qualify_screen(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    answer(wizard, app, lead_id, run_id, "CEO")
    answer(wizard, app, lead_id, run_id, "70000")
    answer(wizard, app, lead_id, run_id, op="back")
    answer(wizard, app, lead_id, run_id, "80000")
    run = run_of(app, run_id)
    done = wizard.post(f"/leads/{lead_id}/run/{run_id}/finish", data={"step": run.step, "version": run.version},
                       follow_redirects=False)  # fmt: skip
    assert done.headers["location"] == f"/leads/{lead_id}/qualify?run={run_id}"
    finished = run_of(app, run_id)
    assert finished.outcome == "qualify" and finished.answers == {"known": False, "role": "CEO", "budget": 80000}
    assert leads.get(Lead, lead_id).status == "new"  # qualifying is the qualify screen's, in one click


def test_the_script_outcome_starts_the_other_script_as_a_child(app: Any, wizard: Any, leads: Any) -> None:
    leads.person("Iryna", "Bondar", primary_email="iryna@bondar.example")
    lead_id = leads.lead("Iryna", "Bondar", email="iryna@bondar.example")
    run_id = start(wizard, lead_id)
    answer(wizard, app, lead_id, run_id, "no")
    run = run_of(app, run_id)
    done = wizard.post(f"/leads/{lead_id}/run/{run_id}/finish", data={"step": run.step, "version": run.version})
    assert done.status_code == 200 and "What is the problem?" in done.text
    with app.state.voronka.sessions() as session:
        child = session.scalars(select(Qualification).where(Qualification.parent_id == run_id)).one()
        assert child.status == "running" and child.step == "issue"


def test_a_running_qualification_keeps_its_version_after_an_edit(app: Any, wizard: Any, leads: Any) -> None:
    lead_id = leads.lead()
    run_id = start(wizard, lead_id)
    edited = definition()
    edited["steps"][2]["text"] = "Which department are you in?"
    edited["steps"][3]["branches"]["cases"][0]["when"]["value"] = 1
    save_script(app, edited)
    first = run_of(app, run_id)
    page = wizard.get(f"/leads/{lead_id}/run/{run_id}")
    assert "What is your role?" in page.text and "Which department" not in page.text
    answer(wizard, app, lead_id, run_id, "CEO")
    answer(wizard, app, lead_id, run_id, "100")
    assert run_of(app, run_id).step == "small"  # the old threshold, 50 000
    newer = start(wizard, leads.lead("Taras", "Melnyk"))
    assert run_of(app, newer).script_version_id != first.script_version_id


def test_junk_ids_and_strangers_get_clear_4xx(app: Any, wizard: Any, leads: Any, client: Any) -> None:
    lead_id = leads.lead(owner="sales2")
    assert wizard.post(f"/leads/{lead_id}/script").status_code == 404  # not hers to see
    mine = leads.lead()
    run_id = start(wizard, mine)
    assert wizard.get(f"/leads/{mine}/run/99999999").status_code == 404
    assert wizard.get(f"/leads/{lead_id}/run/{run_id}").status_code == 404
    assert wizard.post(f"/leads/{mine}/script", data={"script_id": "abc"}).status_code == 400
    assert wizard.post(f"/leads/{mine}/script", data={"script_id": "9999"}).status_code == 400
    closed = leads.lead()
    leads.save("lead", closed, {"status": "disqualified", "disqualify_reason": "lost"})
    refused = wizard.post(f"/leads/{closed}/script")
    assert refused.status_code == 400 and "closed" in refused.text


def test_leads_own_lookups_answer_with_facts_only(app: Any, leads: Any) -> None:
    from voronka.plugins.leads import lookups, runner

    leads.organisation("ТОВ «Сонях Агро»", owner="sales2")
    leads.person("Iryna", "Bondar", owner="sales2", primary_phone="+380671112233")
    first = leads.lead("Iryna", "Bondar", phone="067 111 22 33", company="Mriya")
    second = leads.lead("Iryna", "Bondar", phone="+380671112233", company="ТОВ «Сонях Агро»")
    stranger = leads.lead("Petro", "Shevchenko", email="petro@new.example", company="Nova")
    with app.state.voronka.sessions() as session:

        def values(lead_id: int) -> dict[str, Any]:
            return runner.lead_values(session, session.get(Lead, lead_id))

        assert lookups.existing_customer(session, values(first)) is True  # by phone
        assert lookups.existing_customer(session, values(stranger)) is False
        assert lookups.previous_leads(session, values(second)) == 1
        assert lookups.previous_leads(session, values(first)) == 0
        assert lookups.company_known(session, values(second)) is True  # an organisation of that name
        assert lookups.company_known(session, values(stranger)) is False
    leads.lead("Ivan", "Franko", company="Nova")
    with app.state.voronka.sessions() as session:
        nova = runner.lead_values(session, session.get(Lead, stranger))
        assert lookups.company_known(session, nova) is True  # another lead from Nova
