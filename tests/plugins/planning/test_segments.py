"""Segments: a period is cut only where the tree under the root (or the watcher's part of it) changes, and
each piece's tree is built from the dated links read in one query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event

from voronka.plugins.planning.segments import Link, load_links, segments, tree_under, was_under

from .conftest import Q1_2026

D = dt.date
START, END = Q1_2026.start, Q1_2026.end


def link(n: int, user: int, manager: int, since: dt.date = D(2020, 1, 1), until: dt.date | None = None) -> Link:
    return Link(id=n, user_id=user, manager_id=manager, valid_from=since, valid_to=until)


# 1 ← 2 ← 3, 4; 1 ← 5; elsewhere 10 ← 11
COMPANY = [link(1, 2, 1), link(2, 3, 2), link(3, 4, 2), link(4, 5, 1), link(5, 11, 10)]


def test_a_quiet_period_is_one_segment_with_the_whole_tree():
    [piece] = segments(COMPANY, 1, START, END)
    assert (piece.start, piece.end, piece.last, piece.days) == (START, END, D(2026, 3, 31), 90)
    assert piece.tree.order == (1, 2, 5, 3, 4)
    assert piece.tree.paths[4] == (1, 2, 4) and piece.tree.parent[5] == 1


def test_a_move_cuts_the_period_where_it_happens():
    links = [*COMPANY[:2], link(3, 4, 2, until=D(2026, 2, 15)), link(6, 4, 5, since=D(2026, 2, 15)), COMPANY[3]]
    first, second = segments(links, 1, START, END)
    assert (first.start, first.end, second.start, second.end) == (START, D(2026, 2, 15), D(2026, 2, 15), END)
    assert first.tree.paths[4] == (1, 2, 4) and second.tree.paths[4] == (1, 5, 4)
    # under 2 alone the tree changes too; under 5 as well
    assert [p.tree.members for p in segments(links, 2, START, END)] == [{2, 3, 4}, {2, 3}]
    assert [p.end for p in segments(links, 3, START, END)] == [END]


def test_changes_elsewhere_do_not_cut_the_period():
    links = [*COMPANY, link(7, 12, 10, since=D(2026, 2, 1)), link(8, 13, 11, since=D(2026, 1, 5), until=D(2026, 3, 1))]
    assert len(segments(links, 1, START, END)) == 1


def test_a_watcher_cuts_where_their_part_of_the_tree_changes():
    # 3 reported to 5 until March, then to 2: the tree under 1 changes, and so does what 5 may see of it
    links = [link(1, 2, 1), link(2, 3, 5, until=D(2026, 3, 1)), link(3, 3, 2, since=D(2026, 3, 1)), link(4, 5, 1)]
    assert [p.watched for p in segments(links, 3, START, END, watcher=5)] == [{3}, set()]
    assert len(segments(links, 3, START, END)) == 1


def test_a_new_hire_and_a_leaver_appear_for_their_days():
    links = [link(1, 2, 1), link(2, 3, 2, since=D(2026, 2, 1)), link(3, 4, 2, until=D(2026, 3, 10))]
    pieces = segments(links, 1, START, END)
    assert [(p.start, sorted(p.tree.members)) for p in pieces] == [
        (START, [1, 2, 4]), (D(2026, 2, 1), [1, 2, 3, 4]), (D(2026, 3, 10), [1, 2, 3])]  # fmt: skip


def test_a_loop_in_bad_data_is_cut_not_followed_forever():
    tree = tree_under({2: 1, 3: 2, 1: 3}, 1)
    assert tree.order == (1, 2, 3) and 1 not in tree.parent


def test_was_under_reads_every_day_of_the_period():
    links = [link(1, 2, 1), link(2, 3, 2, until=D(2026, 1, 10)), link(3, 3, 9, since=D(2026, 1, 10))]
    assert was_under(links, 1, 3, START, END)
    assert not was_under(links, 1, 3, D(2026, 2, 1), END)
    assert not was_under(links, 3, 1, START, END)


def test_links_of_a_period_are_read_in_one_query(planning, app):
    planning.user("manager2", manager="admin", roles=("manager",))
    planning.move("sales", "manager2", D(2026, 2, 15))
    planning.user("later", manager="manager", since=D(2026, 4, 1))
    statements: list[str] = []
    engine = app.state.voronka.engine

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with app.state.voronka.sessions() as session:
            links = load_links(session, START, END)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "core_manager_link" in s]) == 1
    ids = {name: planning.uid(name) for name in ("admin", "manager", "manager2", "sales", "later")}
    assert ids["later"] not in {item.user_id for item in links}
    pieces = segments(links, ids["admin"], START, END)
    assert [p.tree.paths[ids["sales"]] for p in pieces] == [(ids["admin"], ids["manager"], ids["sales"]),
                                                            (ids["admin"], ids["manager2"], ids["sales"])]  # fmt: skip
