"""The pipeline journey in a real browser (Chromium, HTMX on), as a sales user at a laptop size.

Create an organisation, open its card and start a deal from the card's "New deal" button, see the deal on
the board, drag it to Won, and see the won revenue on the forecast and the won deal in the card's sales
history. Every step checks what the user sees and that the console stays clean. Screenshots go to
``screenshots/`` as ``journey-pipeline-<step>.png``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

ORG = "Brightwater Journey Mills"
DEAL = "Journey boilers for Brightwater"
AMOUNT = "125000"
DEAL_URL = re.compile(r"/pipeline/deals/(\d+)$")


def shot(browsing: Any, step: str) -> None:
    path = browsing.shots / f"journey-pipeline-{step}.png"
    browsing.page.evaluate("window.scrollTo(0, 0)")
    browsing.page.screenshot(path=str(path), full_page=True, caret="initial")


def clean(browsing: Any, step: str) -> None:
    errors = browsing.take_errors()
    assert not errors, f"{step}: " + "\n".join(errors)


def test_pipeline_journey(browse: Any) -> None:
    seller = browse("desktop")
    page = seller.page
    seller.login("sales")

    # 1. A customer, then a deal started from its card.
    seller.goto("/contacts/organisations/new")
    form = page.locator("form#party-new")
    form.locator("input[name=name]").fill(ORG)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    page.wait_for_load_state("networkidle")
    org_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    panel = page.locator("#deal-panel")
    panel.wait_for()
    assert "No open deals." in panel.inner_text()
    panel.get_by_role("link", name="New deal").click()
    page.wait_for_load_state("networkidle")
    new = page.locator("form#deal-new-form")
    assert ORG in new.inner_text() or new.locator(f"input[value='{org_id}']").count() == 1
    new.locator("input[name=name]").fill(DEAL)
    new.locator("input[name=amount]").fill(AMOUNT)
    new.locator("button[type=submit]").click()
    page.wait_for_url(DEAL_URL)
    page.wait_for_load_state("networkidle")
    deal_id = int(DEAL_URL.search(urlsplit(page.url).path).group(1))
    assert DEAL in page.locator("h1").first.inner_text()
    assert "Initial contact" in page.locator(".stage-badge").first.inner_text()
    clean(seller, "create the deal")
    shot(seller, "1-deal")

    # 2. The board shows it in the first column; dragged onto Won it leaves the columns.
    seller.goto("/pipeline/board")
    card = page.locator(f"#deal-{deal_id}")
    card.wait_for()
    won_zone = page.locator("[data-drop-stage][data-outcome=won]")
    with page.expect_response(lambda r: r.request.method == "POST" and "/pipeline/board/move" in r.url) as moved:
        card.drag_to(won_zone)
    assert moved.value.status == 200, f"the move answered {moved.value.status}"
    page.wait_for_load_state("networkidle")
    assert page.locator(f".board-column #deal-{deal_id}").count() == 0
    assert "125,000" in won_zone.inner_text()
    clean(seller, "drag to won")
    shot(seller, "2-board")

    # 3. The forecast counts it as won revenue of this period.
    seller.goto("/pipeline/forecast")
    assert "125,000" in page.locator("main").inner_text()
    clean(seller, "forecast")
    shot(seller, "3-forecast")

    # 4. The customer card: no open deal left, the won deal in the sales history.
    seller.goto(f"/contacts/{org_id}")
    page.wait_for_load_state("networkidle")
    assert "No open deals." in page.locator("#deal-panel").inner_text()
    assert "125,000" in page.locator(".customer-card").inner_text()
    clean(seller, "customer card")
    shot(seller, "4-card")
