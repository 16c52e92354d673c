"""'My open tasks': the page (mine and my teams' queues, overdue first), the home panel, marking done in
place through the write path, and opening a task again."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from voronka.core.audit import history
from voronka.core.models import Team
from voronka.core.types import utcnow
from voronka.plugins.contacts.models import Activity


def task(contacts, subject, due, owner="sales", team=None, ref=None, **values):
    base = {"type": "task", "subject": subject, "due_at": due, "owner_user_id": None if team else contacts.uid(owner),
            "owner_team_id": team}  # fmt: skip
    if ref is not None:
        base.update(ref_kind="person", ref_id=ref)
    return contacts.save("activity", None, {**base, **values}, actor=owner)


def team_id(contacts, name):
    with contacts.runtime.sessions() as session:
        return session.scalar(select(Team.id).where(Team.name == name))


def test_the_tasks_page_lists_my_open_tasks_overdue_first(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    now = utcnow()
    task(contacts, "Due next week", now + dt.timedelta(days=7), ref=olena)
    task(contacts, "Overdue since Monday", now - dt.timedelta(days=3))
    task(contacts, "No due date", None)
    task(contacts, "Due tomorrow", now + dt.timedelta(days=1))
    task(contacts, "Already done", now - dt.timedelta(days=1), done=True)
    task(contacts, "Taras's task", now, owner="sales2")
    task(contacts, "Queue task", now + dt.timedelta(days=2), owner="operator", team=team_id(contacts, "Inbound sales"))
    client.login("sales")
    page = client.get("/contacts/tasks")
    assert page.status_code == 200
    shown = re.findall(r'<a href="/contacts/activities/\d+">([^<]+)</a>', page.text)
    assert shown == ["Overdue since Monday", "Due tomorrow", "Due next week", "No due date"]
    assert "task-overdue" in page.text and "Олена Коваленко" in page.text
    client.login("operator")  # the inbound queue's tasks are the operator's too
    queue = client.get("/contacts/tasks")
    assert re.findall(r'<a href="/contacts/activities/\d+">([^<]+)</a>', queue.text) == ["Queue task"]


def test_mark_done_in_place_and_open_again(client, contacts, app):
    todo = task(contacts, "Send the quote", utcnow() - dt.timedelta(hours=1))
    client.login("sales")
    done = client.hx_post(f"/contacts/activities/{todo}/done", data={"done": "1"})
    assert done.status_code == 200 and "<html" not in done.text
    assert done.text.lstrip().startswith(f'<tr id="task-{todo}"') and "task-done" in done.text
    saved = contacts.get(Activity, todo)
    assert saved.done and saved.done_at is not None
    with app.state.voronka.sessions() as session:
        fields = {e.field for e in history(session, contacts.kind("activity"), todo)}
    assert {"done", "done_at"} <= fields  # through the write path: audited
    assert "Send the quote" not in client.get("/contacts/tasks").text
    reopened = client.post(f"/contacts/activities/{todo}/done", data={"done": "0", "next": "/contacts/tasks"},
                           follow_redirects=False)  # fmt: skip
    assert reopened.status_code == 303 and reopened.headers["location"] == "/contacts/tasks"
    assert contacts.get(Activity, todo).done_at is None
    assert "Send the quote" in client.get("/contacts/tasks").text
    elsewhere = client.post(f"/contacts/activities/{todo}/done", data={"next": "//evil.example"},
                            follow_redirects=False)  # fmt: skip
    assert elsewhere.headers["location"] == f"/contacts/activities/{todo}"


def test_only_tasks_are_marked_done_and_only_visible_ones(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    note = contacts.save("activity", None, {"type": "note", "subject": "n", "ref_kind": "person", "ref_id": olena,
                                            "owner_user_id": contacts.uid("sales")})  # fmt: skip
    theirs = task(contacts, "Not mine", None, owner="sales2")
    client.login("sales")
    assert client.post(f"/contacts/activities/{note}/done", data={"done": "1"}).status_code == 400
    assert client.post(f"/contacts/activities/{theirs}/done", data={"done": "1"}).status_code == 404
    assert not contacts.get(Activity, theirs).done


def test_the_home_panel_shows_open_tasks_and_marks_them_done(client, contacts):
    now = utcnow()
    first = task(contacts, "Call back Olena", now - dt.timedelta(days=1))
    task(contacts, "Prepare the demo", now + dt.timedelta(days=1))
    client.login("sales")
    home = client.get("/")
    assert "/contacts/tasks/panel" in home.text
    panel = client.hx_get("/contacts/tasks/panel")
    assert panel.status_code == 200 and "<html" not in panel.text
    assert panel.text.index("Call back Olena") < panel.text.index("Prepare the demo")
    assert "2 open tasks" in panel.text and "1 overdue" in panel.text
    after = client.hx_post(f"/contacts/activities/{first}/done", data={"done": "1", "view": "panel"})
    assert after.status_code == 200 and 'id="tasks-panel"' in after.text
    assert "Call back Olena" not in after.text and "1 open task" in after.text
    assert client.get("/contacts/tasks/panel").status_code == 200  # a plain link is a page of its own
