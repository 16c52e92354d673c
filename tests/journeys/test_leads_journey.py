"""The leads journey in a real browser (Chromium, HTMX on): from a form on another site to a customer.

An administrator sends new leads to the "Inbound sales" queue, puts a sales person in it, and makes a
campaign whose public form may be posted from a partner's site (another origin, served here by a tiny HTTP
server on its own port), then copies the form's HTML from the campaign page onto that site. A visitor fills
the form there. The sales person finds the lead in the queue, runs the qualification script — which takes
the "already a customer" branch because the company is a customer — qualifies the lead into a person, the
existing organisation and a deal, and sees all of it, with the answers, on the customer card.
Screenshots: ``journey-leads-<step>.png``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

COMPANY = "Riverside Journey Foods"
VISITOR = ("Yaryna", "Journeyenko")
EMAIL = "yaryna.journeyenko@riverside-journey.example"
CODE = "journey-web"
LEAD_URL = re.compile(r"/leads/(\d+)$")


class PartnerSite:
    """Another origin: one page holding whatever HTML it is given (the campaign's form snippet)."""

    def __init__(self) -> None:
        self.html = "<!doctype html><title>Partner</title><p>nothing yet</p>"
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                body = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partner_site() -> Iterator[PartnerSite]:
    site = PartnerSite()
    yield site
    site.close()


def shot(browsing: Any, step: str) -> None:
    browsing.page.evaluate("window.scrollTo(0, 0)")
    browsing.page.screenshot(path=str(browsing.shots / f"journey-leads-{step}.png"), full_page=True, caret="initial")


def clean(browsing: Any, step: str) -> None:
    errors = browsing.take_errors()
    assert not errors, f"{step}: " + "\n".join(errors)


def test_leads_journey(browse: Any, partner_site: PartnerSite) -> None:
    admin = browse("desktop")
    page = admin.page
    admin.login("admin")

    # 0. New leads go to the Inbound sales queue; a campaign whose form the partner's site may post.
    admin.goto("/admin/settings/leads")
    settings = page.locator("form#settings-form")
    settings.locator("[name=default_queue]").fill("Inbound sales")
    settings.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "Saved" in settings.inner_text()
    admin.goto("/admin/teams")
    page.get_by_role("link", name="Inbound sales", exact=True).click()
    page.wait_for_load_state("networkidle")
    members = page.locator("#members")
    members.locator("select[name=user_id]").select_option(label="Sofiia Sales (@sales)")
    members.get_by_role("button", name="Add").click()
    page.wait_for_load_state("networkidle")
    assert "Sofiia Sales" in page.locator("#members").inner_text()
    admin.goto("/leads/campaigns/new")
    form = page.locator("form#campaign-new")
    form.locator("input[name=name]").fill("Journey partner site")
    form.locator("select[name=channel]").select_option("leads.web_form")
    form.locator("input[name=tracking_code]").fill(CODE)
    active = form.locator("input[name=active]")
    if not active.is_checked():
        active.check()
    form.locator("textarea[name=allowed_origins]").fill(partner_site.origin)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/leads/campaigns/\d+$"))
    page.wait_for_load_state("networkidle")
    snippet = page.locator("#campaign-snippet").input_value()
    assert f"/leads/form/{CODE}" in snippet
    clean(admin, "campaign")
    shot(admin, "0-campaign")

    # A customer the company already has: the script's lookup will find it by the company's name.
    seller = browse("desktop")
    sales_page = seller.page
    seller.login("sales")
    seller.goto("/contacts/organisations/new")
    new_org = sales_page.locator("form#party-new")
    new_org.locator("input[name=name]").fill(COMPANY)
    new_org.locator("button[type=submit]").click()
    sales_page.wait_for_url(re.compile(r"/contacts/\d+$"))
    org_id = int(urlsplit(sales_page.url).path.rsplit("/", 1)[1])

    # 1. A visitor sends the form from the partner's site (another origin) and lands on the thank-you page.
    partner_site.html = f"<!doctype html><html><head><title>Partner</title></head><body>{snippet}</body></html>"
    visitor = browse("desktop")
    visitor.page.goto(partner_site.origin + "/")
    posted = visitor.page.locator(f"form[action$='/leads/form/{CODE}']")
    posted.locator("[name=first_name]").fill(VISITOR[0])
    posted.locator("[name=last_name]").fill(VISITOR[1])
    posted.locator("[name=email]").fill(EMAIL)
    posted.locator("[name=company]").fill(COMPANY)
    if posted.locator("[name=message]").count():
        posted.locator("[name=message]").fill("We need a CRM for twelve sales people.")
    with visitor.page.expect_navigation():
        posted.locator("[type=submit]").first.click()
    visitor.page.wait_for_load_state("networkidle")
    assert urlsplit(visitor.page.url).path == f"/leads/form/{CODE}/thanks"
    shot(visitor, "1-thanks")

    # 2. The sales person finds it in the Inbound sales queue and starts the script.
    seller.goto("/leads/")
    sales_page.locator(".lead-tabs a", has_text="Inbound sales").click()
    sales_page.wait_for_load_state("networkidle")
    sales_page.get_by_role("link", name=f"{VISITOR[0]} {VISITOR[1]}").first.click()
    sales_page.wait_for_url(LEAD_URL)
    lead_id = int(LEAD_URL.search(urlsplit(sales_page.url).path).group(1))
    assert "Web site form" in sales_page.locator("main").inner_text()
    clean(seller, "queue")
    shot(seller, "2-lead")
    sales_page.get_by_role("button", name="Start script").first.click()
    sales_page.wait_for_load_state("networkidle")
    shot(seller, "3-started")
    sales_page.wait_for_url(re.compile(rf"/leads/{lead_id}/run/\d+$"))

    # 3. The existing-customer lookup sends the script down the "already a customer" branch.
    wizard = sales_page.locator("main")
    assert "Already a customer" in wizard.inner_text()
    shot(seller, "3-branch")

    def answer(choice: str | None = None, text: str | None = None) -> None:
        """Answer the wizard's current question and wait for the next one to be swapped in."""
        if choice is not None:
            sales_page.get_by_label(choice, exact=True).check()
        if text is not None:
            sales_page.locator("[name=answer]").fill(text)
        with sales_page.expect_response(lambda r: r.request.method == "POST" and "/run/" in r.url) as sent:
            sales_page.get_by_role("button", name="Next").click()
        assert sent.value.status == 200, f"the answer got {sent.value.status}"
        sales_page.wait_for_load_state("networkidle")

    answer(choice="A new project")
    answer(text="Head of sales")
    answer(choice="The caller decides")
    answer(choice="Tracking sales and the pipeline")
    answer(text="Spreadsheets that nobody updates")
    answer(text="120000")
    answer(choice="This quarter")
    assert "Qualified" in wizard.inner_text()
    clean(seller, "script")
    sales_page.get_by_role("button", name="Qualify…").click()
    sales_page.wait_for_url(re.compile(rf"/leads/{lead_id}/qualify"))
    sales_page.wait_for_load_state("networkidle")

    # 4. Qualify: the organisation is the existing customer; a new person and a deal.
    organisation = sales_page.locator("#outcome-leads-organisation")
    organisation.locator(f"input[name='link:leads.organisation'][value='{org_id}']").check()
    for outcome in ("leads.person", "pipeline.opportunity"):
        assert sales_page.locator(f"input[name=outcome][value='{outcome}']").is_checked()
    shot(seller, "4-qualify")
    sales_page.locator("#qualify button[type=submit]", has_text="Qualify").click()
    sales_page.wait_for_url(lambda url: "/qualify" not in url)  # the browser goes to what was made
    sales_page.wait_for_load_state("networkidle")
    clean(seller, "qualify")

    # 5. The customer card shows the person, the deal and what the customer said while qualifying.
    seller.goto(f"/contacts/{org_id}")
    sales_page.wait_for_load_state("networkidle")
    card = sales_page.locator("main")
    sales_page.locator("#deal-panel").wait_for()
    text = card.inner_text()
    assert f"{VISITOR[0]} {VISITOR[1]}" in text
    assert COMPANY in sales_page.locator("#deal-panel").inner_text()
    came_from = sales_page.locator(".lead-came-from")
    assert "Budget" in came_from.inner_text() and "120000" in came_from.inner_text()
    assert "Head of sales" in came_from.inner_text()
    clean(seller, "card")
    shot(seller, "5-card")
