"""The planning journey in a real browser (Chromium, HTMX on): a target handed down, a deal won, both views move.

The administrator (top of the test users' tree: admin ← manager ← sales, sales2, operator) sets this
quarter's revenue target and hands it to the manager; the manager distributes it by hand to the three people
under them and sees it add up. A sales person wins an open deal on the board; their "My plan" shows the
revenue against their target, and the manager's "My team" shows it in the sales person's row and in the
team's total. Screenshots: ``journey-planning-<step>.png``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from voronka.core.company import company_settings
from voronka.core.db import write_transaction
from voronka.core.models import User
from voronka.core.writes import save

METRIC = "pipeline.revenue_won"
DEAL = "Journey plan boilers"
SPLIT = {"sales": "120000", "sales2": "100000", "operator": "80000"}


def shot(browsing: Any, step: str) -> None:
    path = browsing.shots / f"journey-planning-{step}.png"
    browsing.page.evaluate("window.scrollTo(0, 0)")
    browsing.page.screenshot(path=str(path), full_page=True, caret="initial")


def clean(browsing: Any, step: str) -> None:
    errors = browsing.take_errors()
    assert not errors, f"{step}: " + "\n".join(errors)


def _ids(runtime: Any) -> dict[str, int]:
    with runtime.sessions() as session:
        rows = session.execute(select(User.username, User.id).where(User.username.in_(["admin", "manager", *SPLIT])))
        return dict(rows.all())


def _open_deal(runtime: Any, owner: int) -> int:
    """An open deal of the sales person, expected to close this quarter, written as the deal form would."""
    kinds = runtime.record_kinds
    with write_transaction(runtime.sessions) as session:
        today = company_settings(session).today()
        org = save(session, kinds["organisation"], None, {"name": "Journey Plan Dairy", "owner_user_id": owner},
                   actor=owner)  # fmt: skip
        values = {"name": DEAL, "customer_id": org.id, "owner_user_id": owner, "amount_minor": 5_000_000,
                  "amount_currency": "UAH", "expected_close": today + dt.timedelta(days=1)}  # fmt: skip
        return save(session, kinds["opportunity"], None, values, actor=owner).id


def test_planning_journey(browse: Any) -> None:
    admin = browse("desktop")
    runtime = admin.server.app.state.voronka
    ids = _ids(runtime)
    deal_id = _open_deal(runtime, ids["sales"])
    page = admin.page

    # 1. The administrator sets the quarter's target at the top and hands it to the manager.
    admin.login("admin")
    admin.goto(f"/planning/targets?metric={METRIC}&root={ids['admin']}")
    form = page.locator("#targets-form")
    form.locator("input[name=root_target]").fill("300000")
    form.locator("input[name=method][value=even]").check()
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/planning/targets")) as saved:
        form.get_by_role("button", name="Save targets").click()
    assert saved.value.status == 204, page.locator("main").inner_text()
    page.locator("#team-sum", has_text="all of it is distributed").wait_for()
    clean(admin, "admin sets the target")
    shot(admin, "1-admin-targets")

    # 2. The manager distributes their part by hand and sees what is left, then that it adds up.
    boss = browse("desktop")
    boss.login("manager")
    boss.goto(f"/planning/targets?metric={METRIC}")
    page = boss.page
    form = page.locator("#targets-form")
    assert "300,000" in form.inner_text() or "300 000" in form.inner_text()
    form.locator("input[name=method][value=hand]").check()
    for name, amount in SPLIT.items():
        form.locator(f"input[name=amount_{ids[name]}]").fill(amount)
    form.locator(f"input[name=amount_{ids['operator']}]").fill("50000")
    form.locator(f"input[name=amount_{ids['operator']}]").dispatch_event("change")
    page.locator("#team-sum", has_text="not distributed").wait_for()
    form.locator(f"input[name=amount_{ids['operator']}]").fill(SPLIT["operator"])
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/planning/targets")) as saved:
        form.get_by_role("button", name="Save targets").click()
    assert saved.value.status == 204, page.locator("main").inner_text()
    page.locator("#team-sum", has_text="all of it is distributed").wait_for()
    clean(boss, "manager distributes")
    shot(boss, "2-manager-targets")

    # 3. The team view shows the three targets and nothing won yet.
    boss.goto(f"/planning/team?metric={METRIC}")
    tree = page.locator(".team-tree")
    for name in ("Sofiia Sales", "Taras Sales", "Oksana Operator"):
        assert name in tree.inner_text()
    sales_row = tree.locator(".tree-row", has_text="Sofiia Sales").first
    assert "120,000" in sales_row.inner_text() or "120 000" in sales_row.inner_text()
    clean(boss, "team before")

    # 4. The sales person wins the deal on the board; their plan shows it.
    seller = browse("desktop")
    seller.login("sales")
    seller.goto("/pipeline/board")
    card = seller.page.locator(f"#deal-{deal_id}")
    card.wait_for()
    with seller.page.expect_response(lambda r: r.request.method == "POST" and "/pipeline/board/move" in r.url) as moved:
        card.drag_to(seller.page.locator("[data-drop-stage][data-outcome=won]"))
    assert moved.value.status == 200
    seller.goto("/planning/")
    card_text = seller.page.locator(".plan-card", has_text="Revenue won").first.inner_text()
    assert "50,000" in card_text or "50 000" in card_text
    assert "120,000" in card_text or "120 000" in card_text
    clean(seller, "my plan")
    shot(seller, "3-my-plan")

    # 5. The manager's team view moved too: the sales person's row and the team's actual.
    boss.goto(f"/planning/team?metric={METRIC}")
    sales_row = page.locator(".team-tree .tree-row", has_text="Sofiia Sales").first
    assert "50,000" in sales_row.inner_text() or "50 000" in sales_row.inner_text()
    root_row = page.locator(".team-tree .tree-row", has_text="Maksym Manager").first
    assert "50,000" in root_row.inner_text() or "50 000" in root_row.inner_text()
    clean(boss, "team after")
    shot(boss, "4-team")
