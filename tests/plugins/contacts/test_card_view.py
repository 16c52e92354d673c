"""What keeps the customer card cheap must not change what it shows: times formatted as the template filter
formats them, statements kept per viewer never leaking one viewer's visibility to another, and the history
worked out in Python reading as the template used to write it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from babel.dates import format_date

from voronka.core import i18n
from voronka.core.audit import HistoryEntry
from voronka.core.records import Ref
from voronka.core.statements import StatementCache
from voronka.core.templating import _format_datetime
from voronka.plugins.contacts import activity_queries, card_view_history, timeline
from voronka.plugins.contacts.card_view import date_format, datetime_format

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_times_read_as_the_template_filter_writes_them(lang):
    token = i18n.current_language.set(lang)
    try:
        rng = random.Random(7)
        start = dt.datetime(1950, 1, 1, tzinfo=dt.UTC)
        values = [start + dt.timedelta(seconds=rng.randint(0, 3_000_000_000)) for _ in range(300)]
        values += [dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, 12, 5, tzinfo=dt.UTC)]
        for tz in ("Europe/Kyiv", "UTC", "America/New_York", "Asia/Kolkata", None, "Not/AZone"):
            for width in ("short", "medium", "long", "full"):
                shown = datetime_format(tz, width)
                for value in values:
                    assert shown(value) == _format_datetime(value, tz or "UTC", width), (tz, width, value)
        assert datetime_format("UTC")(None) == ""
        for width in ("short", "medium", "long", "full"):
            shown_date = date_format(width)
            for value in values[:100]:
                assert shown_date(value.date()) == format_date(value.date(), width, locale=lang)
        assert date_format()(None) == ""
    finally:
        i18n.current_language.reset(token)
    with pytest.raises(ValueError):
        datetime_format("UTC", "tiny")
    with pytest.raises(ValueError):
        date_format("tiny")


def test_statement_cache_builds_once_and_forgets_the_oldest():
    cache, built = StatementCache(size=2), []

    def build(name):
        return lambda: built.append(name) or name

    assert cache.get("a", build("a")) == "a" and cache.get("a", build("again")) == "a"
    cache.get("b", build("b"))
    cache.get("a", build("again"))  # "a" is now the most recent, so "b" goes first
    cache.get("c", build("c"))
    cache.get("a", build("again"))
    cache.get("b", build("b2"))
    assert built == ["a", "b", "c", "b2"]


def test_a_card_read_by_one_viewer_stays_hidden_from_another(client, contacts):
    """The card's party and its timeline are read with statements kept per viewer: sales reading its own
    customer first must not let sales2 read it through the same kept statement, and the other way round."""
    olena = contacts.person("Олена", "Своя", owner="sales")
    taras = contacts.person("Тарас", "Чужий", owner="sales2")
    for n in range(4):
        contacts.save("activity", None, {"type": "note", "subject": f"note {n}", "ref_kind": "person",
                                         "ref_id": olena, "occurred_at": T0 + dt.timedelta(hours=n),
                                         "owner_user_id": contacts.uid("sales")})  # fmt: skip
    for who, mine, theirs in (("sales", olena, taras), ("sales2", taras, olena), ("sales", olena, taras)):
        client.login(who)
        assert client.get(f"/contacts/{mine}").status_code == 200
        assert client.get(f"/contacts/{theirs}").status_code == 404
        assert client.get(f"/contacts/{theirs}/timeline").status_code == 404
    client.login("sales")
    page = client.get(f"/contacts/{olena}").text
    assert [f"note {n}" in page for n in range(4)] == [True] * 4


def log(contacts, activity_type: str, subject: str, ref: Ref, at: dt.datetime, owner: str) -> int:
    values = {"type": activity_type, "subject": subject, "ref_kind": ref.kind, "ref_id": ref.id, "occurred_at": at,
              "owner_user_id": contacts.uid(owner)}  # fmt: skip
    return contacts.save("activity", None, values, actor=owner)


def test_timeline_pages_follow_the_cursor_for_each_viewer(app, contacts):
    """The page statement is kept per cursor shape (none, one of ours, another plugin's key): every shape
    still pages through the same entries for a viewer, and a viewer who may not see them gets none."""
    olena = contacts.person("Олена", "Коваленко", owner="sales")
    for n in range(5):
        log(contacts, "note", f"n{n}", Ref("person", olena), T0 + dt.timedelta(minutes=n // 2), "sales")
    ref = Ref("person", olena)
    with app.state.voronka.sessions() as session:
        sales, stranger = contacts.viewer("sales"), contacts.viewer("sales2")
        first = activity_queries.timeline_entries(session, sales, ref, None, None, 2)
        assert [e.title for e in first] == ["n4", "n3"]
        after = activity_queries.timeline_entries(session, sales, ref, None, first[-1].cursor, 10)
        assert [e.title for e in after] == ["n2", "n1", "n0"]
        same_time = first[-1].at
        before_all = activity_queries.timeline_entries(session, sales, ref, None, (same_time, "zz.other:1"), 10)
        assert [e.title for e in before_all] == ["n3", "n2", "n1", "n0"]  # a later key: all of that time too
        after_all = activity_queries.timeline_entries(session, sales, ref, None, (same_time, "aa.other:1"), 10)
        assert [e.title for e in after_all] == ["n1", "n0"]
        assert activity_queries.timeline_entries(session, stranger, ref, None, None, 10) == []
        assert activity_queries.timeline_entries(session, stranger, ref, None, first[-1].cursor, 10) == []
        calls = activity_queries.timeline_entries(session, sales, ref, ["contacts.call"], None, 10)
        assert calls == []
        page = timeline.page(session, app.state.voronka.host, sales, ref, None, None, 2)
        assert [e.title for e in page.entries] == ["n4", "n3"] and page.next_cursor == first[-1].cursor


def test_a_viewer_who_sees_few_of_a_records_activities_still_gets_a_full_page(app, contacts, monkeypatch):
    """On PostgreSQL the page first reads the record's newest activities and keeps the visible ones; when
    they are too few (the rest are someone else's), the plain query fills the page."""
    monkeypatch.setattr(activity_queries, "FENCE", 2)  # the newest 2 × limit first
    acme = contacts.organisation("ACME", owner="sales")
    for n in range(12):
        owner = "sales" if n in (0, 1, 5) else "manager"  # the sales person's are among the oldest
        log(contacts, "call", f"c{n}", Ref("organisation", acme), T0 + dt.timedelta(minutes=n), owner)
    ref = Ref("organisation", acme)
    with app.state.voronka.sessions() as session:
        sales, admin = contacts.viewer("sales"), contacts.viewer("admin")
        mine = activity_queries.timeline_entries(session, sales, ref, None, None, 2)
        assert [e.title for e in mine] == ["c5", "c1"]
        rest = activity_queries.timeline_entries(session, sales, ref, None, mine[-1].cursor, 2)
        assert [e.title for e in rest] == ["c0"]
        everything = activity_queries.timeline_entries(session, admin, ref, None, None, 3)
        assert [e.title for e in everything] == ["c11", "c10", "c9"]


def entry(field, old, new, action="update", source="form", change_id="c1"):
    return HistoryEntry(1, T0, action, field, old, new, source, change_id, None, None)


def test_history_reads_as_before():
    owners = {"owner_user_id": {7: "Sofiia Sales"}, "owner_team_id": {}}
    show = card_view_history.change
    flag = show(entry("do_not_contact", False, True), owners, {})
    assert (flag.label, str(flag.old), str(flag.new)) == ("Do not contact", "No", "Yes")
    owner = show(entry("owner_user_id", None, 7), owners, {})
    assert (owner.old, owner.new) == ("—", "Sofiia Sales")
    text = show(entry("job_title", "", "Director"), owners, {})
    assert (text.old, text.new, text.text) == ("—", "Director", None)
    merged = show(entry("", None, {"merged": 12}, action="merge"), owners, {})
    assert (merged.label, str(merged.text)) == ("Contact", "#12 merged into this one")
    assert str(show(entry("name", None, None, action="delete"), owners, {}).text) == "deleted"
    assert show(entry("unknown_field", 1, 2), owners, {}).label == "unknown_field"
    groups = card_view_history.groups(
        [entry("name", "A", "B", source="import"), entry("city", "", "Kyiv", source="import"),
         entry("name", "B", "C", change_id="c2")], owners, {}, lambda at: "when",
    )  # fmt: skip
    assert [(head.through, head.who, len(changes)) for head, changes in groups] == [("Import", "System", 2),
                                                                                     (None, "System", 1)]  # fmt: skip
