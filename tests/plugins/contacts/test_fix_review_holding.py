"""Review fix (task fix-review): every figure on the holding page counts only the companies the viewer may
see, reached through companies they may see; hidden and binned ones are counted where they hang, nothing
beneath them is shown or counted. On both engines."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.writes import delete
from voronka.plugins.contacts.models import Party, RelationshipType
from voronka.plugins.contacts.relationship_queries import Holding, Node, holding


def link(contacts: Any, a: int, b: int) -> None:
    """``a`` is a subsidiary of ``b`` (written by the admin, who sees both)."""
    with contacts.runtime.sessions() as session:
        type_id = session.scalar(select(RelationshipType.id).where(RelationshipType.key == "subsidiary"))
    contacts.save("relationship", None, {"type_id": type_id, "a_id": a, "b_id": b}, actor="admin")


def tree_of(contacts: Any, party_id: int, viewer: str) -> Holding:
    with contacts.runtime.sessions() as session:
        return holding(session, contacts.viewer(viewer), session.get(Party, party_id))


def nodes(tree: Holding) -> dict[str, Node]:
    found: dict[str, Node] = {}
    todo = list(tree.root_nodes)
    while todo:
        node = todo.pop()
        found[node.name] = node
        todo.extend(node.children)
    return found


def figures(html: str) -> dict[str, str]:
    counts = html.split('class="holding-counts"')[1].split("</p>")[0]
    return {label.strip(): n for n, label in re.findall(r"<strong>(\d+)</strong>\s*([^<]+)", counts)}


def build_group(contacts: Any) -> dict[str, int]:
    """Group (hidden) > Parent > A, B (hidden), C (binned), D; A > A1, A2 (hidden); A1 > A11; B > B1 (visible
    to sales, but beneath a hidden company)."""
    owners = {"Group": "operator", "Parent": "sales", "A": "sales", "B": "operator", "C": "sales", "D": "sales",
              "A1": "sales", "A2": "operator", "A11": "sales", "B1": "sales"}  # fmt: skip
    ids = {name: contacts.organisation(f"Co {name}", owner=owner) for name, owner in owners.items()}
    for child, parent in (("Parent", "Group"), ("A", "Parent"), ("B", "Parent"), ("C", "Parent"), ("D", "Parent"),
                          ("A1", "A"), ("A2", "A"), ("A11", "A1"), ("B1", "B")):  # fmt: skip
        link(contacts, ids[child], ids[parent])
    with write_transaction(contacts.runtime.sessions) as session:
        delete(session, contacts.kind("organisation"), ids["C"], actor=contacts.uid("admin"))
    return ids


def test_holding_figures_count_only_what_a_sales_user_may_see(contacts, client):
    ids = build_group(contacts)
    tree = tree_of(contacts, ids["Parent"], "sales")
    assert (tree.ancestors, tree.direct, tree.descendants, tree.hidden) == (0, 2, 4, 1)
    shown = nodes(tree)
    assert set(shown) == {"Co Parent", "Co A", "Co D", "Co A1", "Co A11"}
    assert (shown["Co Parent"].subsidiaries, shown["Co Parent"].hidden) == (2, 2)  # B hidden, C binned
    assert (shown["Co A"].subsidiaries, shown["Co A"].hidden) == (1, 1)
    assert (shown["Co A1"].subsidiaries, shown["Co D"].subsidiaries) == (1, 0)
    assert tree.hidden_below == 3 and not tree.truncated

    client.login("sales")
    page = client.get(f"/contacts/{ids['Parent']}/holding").text
    assert figures(page) == {"above": "0", "direct subsidiaries": "2", "subsidiaries at all levels": "4"}
    badges = re.findall(r'title="Direct subsidiaries">(\d+)<', page)
    assert sorted(badges) == ["1", "1", "2"]
    assert "Co B1" not in page and "Co B<" not in page and "Co Group" not in page and "Co A2" not in page
    assert "2 more you cannot see" in page and "1 more you cannot see above" in page

    # the admin sees the whole group (but not the binned company): the same page, larger figures
    full = tree_of(contacts, ids["Parent"], "admin")
    assert (full.ancestors, full.direct, full.descendants, full.hidden) == (1, 3, 7, 0)
    assert nodes(full)["Co Group"].subsidiaries == 1 and nodes(full)["Co Parent"].hidden == 1


def test_a_company_whose_subsidiaries_are_all_hidden_shows_the_count_not_an_empty_tree(contacts, client):
    mine = contacts.organisation("Mine Holding")
    link(contacts, contacts.organisation("Theirs One", owner="operator"), mine)
    link(contacts, contacts.organisation("Theirs Two", owner="operator"), mine)
    tree = tree_of(contacts, mine, "sales")
    assert (tree.ancestors, tree.direct, tree.descendants, tree.hidden_below) == (0, 0, 0, 2)
    client.login("sales")
    page = client.get(f"/contacts/{mine}/holding").text
    assert figures(page) == {"above": "0", "direct subsidiaries": "0", "subsidiaries at all levels": "0"}
    assert "2 more you cannot see" in page and "No parent company or subsidiaries yet" not in page
    assert "Theirs" not in page
