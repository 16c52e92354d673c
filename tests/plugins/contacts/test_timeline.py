"""The unified timeline: newest first, cursor paging that shows every entry exactly once (equal timestamps
too), a type filter that still fills pages, participants, visibility, and entries of another plugin merged
in order through contacts' ``timeline`` hook."""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import re
import sys
import types

import pytest

from voronka.core.db import write_transaction
from voronka.core.manifest import Manifest
from voronka.core.markers import hookimpl
from voronka.core.records import Ref
from voronka.plugins.contacts import timeline
from voronka.plugins.contacts.activity_queries import set_participants
from voronka.plugins.contacts.api import TimelineEntry

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


# -- a tiny plugin that feeds the timeline (built in memory: no files outside this test) -------------------

FEED: list[TimelineEntry] = []
FEED_NAME = "voronka_test_timeline_feed"
CARELESS = {"ignore_cursor": False}


def _feed_timeline(session, viewer, ref, kinds, before, limit):
    if ref.kind != "person" or (kinds is not None and "feed.mail" not in kinds):
        return []
    found = [e for e in FEED if before is None or CARELESS["ignore_cursor"] or e.cursor < before]
    return sorted(found, key=lambda e: e.cursor, reverse=True)[:limit]


def _feed_kinds():
    return [("feed.mail", "Mail")]


def _install_feed() -> None:
    if FEED_NAME in sys.modules:
        return
    package = types.ModuleType(FEED_NAME)
    package.__spec__ = importlib.machinery.ModuleSpec(FEED_NAME, None, is_package=True)
    package.__path__ = []
    package.manifest = Manifest(name="feed", label="Feed", version="1.0.0", hook_api=">=1.0,<2")
    hooks = types.ModuleType(f"{FEED_NAME}.hooks")
    hooks.__spec__ = importlib.machinery.ModuleSpec(f"{FEED_NAME}.hooks", None)
    hooks.timeline = hookimpl(optionalhook=True)(_feed_timeline)
    hooks.timeline_kinds = hookimpl(optionalhook=True)(_feed_kinds)
    package.hooks = hooks
    sys.modules[FEED_NAME] = package
    sys.modules[hooks.__name__] = hooks


_install_feed()


@pytest.fixture
def feed():
    FEED.clear()
    yield FEED
    FEED.clear()
    CARELESS["ignore_cursor"] = False


# -- helpers ---------------------------------------------------------------------------------------------


def log(contacts, party_id, subject, at, activity_type="note", owner="sales", ref_kind="person", **values):
    base = {"type": activity_type, "subject": subject, "ref_kind": ref_kind, "ref_id": party_id,
            "owner_user_id": contacts.uid(owner)}  # fmt: skip
    if activity_type == "task":
        base["due_at"] = at
    else:
        base["occurred_at"] = at
    return contacts.save("activity", None, {**base, **values}, actor=owner)


def read_all(app, viewer, ref, kinds=None, limit=3):
    """Every page of the timeline, following the cursor until the end."""
    host, pages, before = app.state.voronka.host, [], None
    with app.state.voronka.sessions() as session:
        while True:
            page = timeline.page(session, host, viewer, ref, kinds, before, limit)
            pages.append(page.entries)
            if page.next_cursor is None:
                return pages
            before = timeline.decode_cursor(page.next_token)
            assert len(pages) < 100


def titles(entries):
    return [e.title for e in entries]


# -- tests -----------------------------------------------------------------------------------------------


def test_cursor_text_round_trips_and_rejects_junk():
    cursor = (dt.datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC), "contacts.activity:000000000042")
    assert timeline.decode_cursor(timeline.encode_cursor(cursor)) == cursor
    for junk in ("", "abc", "12", "~key", "x~key", "1" * 30 + "~k", None):
        assert timeline.decode_cursor(junk) is None


def test_newest_first_on_the_timeline_page(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    for n, subject in enumerate(["oldest", "middle", "newest"]):
        log(contacts, olena, subject, T0 + dt.timedelta(hours=n))
    client.login("sales")
    page = client.get(f"/contacts/{olena}/timeline")
    assert page.status_code == 200
    shown = re.findall(r'class="timeline-title">([^<]+)<', page.text)
    assert shown == ["newest", "middle", "oldest"]
    listed = client.hx_get(f"/contacts/{olena}/timeline?kinds=contacts.note")
    assert "<html" not in listed.text and 'id="timeline-entries"' in listed.text


def test_paging_shows_every_entry_once_even_with_equal_timestamps(app, contacts):
    olena = contacts.person("Олена", "Коваленко")
    ids = [log(contacts, olena, f"same {n}", T0) for n in range(7)]
    ids += [log(contacts, olena, f"later {n}", T0 + dt.timedelta(minutes=n + 1)) for n in range(3)]
    pages = read_all(app, contacts.viewer("sales"), Ref("person", olena), limit=3)
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    seen = [e.key for p in pages for e in p]
    assert len(seen) == len(set(seen)) == 10
    flat = [e for p in pages for e in p]
    assert [e.cursor for e in flat] == sorted((e.cursor for e in flat), reverse=True)
    assert titles(flat)[:3] == ["later 2", "later 1", "later 0"]


def test_paging_over_http_follows_the_older_link(client, contacts):
    olena = contacts.person("Олена", "Коваленко")
    for n in range(30):
        log(contacts, olena, f"entry {n:02d}", T0 + dt.timedelta(minutes=n // 4))  # groups of equal times
    client.login("sales")
    first = client.get(f"/contacts/{olena}/timeline")
    seen = re.findall(r'class="timeline-title">([^<]+)<', first.text)
    more = re.search(r'href="(/contacts/\d+/timeline\?before=[^"]+)"', first.text)
    assert len(seen) == 25 and more
    second = client.hx_get(more.group(1).replace("&amp;", "&"))
    assert "<html" not in second.text and "timeline-more" not in second.text
    seen += re.findall(r'class="timeline-title">([^<]+)<', second.text)
    assert sorted(seen) == [f"entry {n:02d}" for n in range(30)] and len(set(seen)) == 30


def test_the_type_filter_still_gives_full_pages(app, contacts):
    olena = contacts.person("Олена", "Коваленко")
    for n in range(20):
        is_call = n % 5 == 0
        log(contacts, olena, f"{'call' if is_call else 'note'} {n}", T0 + dt.timedelta(minutes=n),
            activity_type="call" if is_call else "note")  # fmt: skip
    pages = read_all(app, contacts.viewer("sales"), Ref("person", olena), kinds=["contacts.call"], limit=2)
    assert [len(p) for p in pages] == [2, 2]
    assert titles([e for p in pages for e in p]) == ["call 15", "call 10", "call 5", "call 0"]
    assert all(e.kind == "contacts.call" and e.icon == "phone" for p in pages for e in p)


def test_a_party_sees_what_it_took_part_in_and_only_what_the_viewer_may_see(app, contacts):
    acme = contacts.organisation("Acme")
    olena = contacts.person("Олена", "Коваленко")
    meeting = log(contacts, acme, "Board meeting", T0, activity_type="meeting", ref_kind="organisation")
    with write_transaction(contacts.runtime.sessions) as session:
        set_participants(session, meeting, [olena], [])
    log(contacts, olena, "Her own note", T0 + dt.timedelta(hours=1))
    log(contacts, olena, "Someone else's secret", T0 + dt.timedelta(hours=2), owner="sales2")
    [page] = read_all(app, contacts.viewer("sales"), Ref("person", olena), limit=10)
    assert titles(page) == ["Her own note", "Board meeting"]
    [manager_page] = read_all(app, contacts.viewer("manager"), Ref("person", olena), limit=10)
    assert titles(manager_page) == ["Someone else's secret", "Her own note", "Board meeting"]
    [org_page] = read_all(app, contacts.viewer("sales"), Ref("organisation", acme), limit=10)
    assert titles(org_page) == ["Board meeting"]


@pytest.mark.voronka(plugins=[f"feed={FEED_NAME}"])
def test_entries_of_another_plugin_merge_in_order(app, client, contacts, feed):
    olena = contacts.person("Олена", "Коваленко")
    log(contacts, olena, "note at 9:00", T0)
    log(contacts, olena, "call at 9:30", T0 + dt.timedelta(minutes=30), activity_type="call")
    log(contacts, olena, "note at 10:00", T0 + dt.timedelta(hours=1))
    feed.extend([
        TimelineEntry(at=T0 + dt.timedelta(minutes=15), key="feed.mail:1", kind="feed.mail", title="mail at 9:15"),
        TimelineEntry(at=T0 + dt.timedelta(hours=1), key="feed.mail:2", kind="feed.mail", title="mail at 10:00"),
        TimelineEntry(at=T0 - dt.timedelta(days=1), key="feed.mail:3", kind="feed.mail", title="mail a day before"),
    ])  # fmt: skip
    viewer, ref = contacts.viewer("sales"), Ref("person", olena)
    pages = read_all(app, viewer, ref, limit=2)
    assert [len(p) for p in pages] == [2, 2, 2]
    # at 10:00 both plugins have an entry: (at, key) orders them, "feed.mail:2" > "contacts.activity:…"
    assert titles([e for p in pages for e in p]) == ["mail at 10:00", "note at 10:00", "call at 9:30",
                                                     "mail at 9:15", "note at 9:00", "mail a day before"]  # fmt: skip
    [mail_only] = read_all(app, viewer, ref, kinds=["feed.mail"], limit=5)
    assert titles(mail_only) == ["mail at 10:00", "mail at 9:15", "mail a day before"]
    [calls_only] = read_all(app, viewer, ref, kinds=["contacts.call"], limit=5)
    assert titles(calls_only) == ["call at 9:30"]
    client.login("sales")
    page = client.get(f"/contacts/{olena}/timeline")
    assert 'value="feed.mail"' in page.text and 'value="contacts.call"' in page.text
    assert page.text.index("mail at 10:00") < page.text.index("note at 10:00") < page.text.index("mail at 9:15")


@pytest.mark.voronka(plugins=[f"feed={FEED_NAME}"])
def test_a_failing_or_careless_plugin_does_not_break_the_timeline(app, contacts, feed, monkeypatch):
    olena = contacts.person("Олена", "Коваленко")
    log(contacts, olena, "note", T0)
    feed.append(TimelineEntry(at=T0 + dt.timedelta(days=9), key="feed.mail:9", kind="feed.mail", title="future"))
    viewer, ref = contacts.viewer("sales"), Ref("person", olena)
    # an entry at or after the cursor would be shown twice: it is dropped
    cursor = (T0 + dt.timedelta(days=1), "zzz")
    CARELESS["ignore_cursor"] = True
    with app.state.voronka.sessions() as session:
        page = timeline.page(session, app.state.voronka.host, viewer, ref, None, cursor, 5)
        assert titles(page.entries) == ["note"]

    def broken(**kwargs):
        raise RuntimeError("feed is down")

    impl = next(i for i in app.state.voronka.host.hook.timeline.get_hookimpls() if i.plugin_name == "feed")
    monkeypatch.setattr(impl, "function", broken)
    with app.state.voronka.sessions() as session:
        page = timeline.page(session, app.state.voronka.host, viewer, ref, None, None, 5)
    assert titles(page.entries) == ["note"]
