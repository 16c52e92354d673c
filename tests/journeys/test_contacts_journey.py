"""The contacts journey in a real browser (Chromium, HTMX on), as a sales user at a laptop size.

Create an organisation, add a person and link them as its employee with the search-as-you-type lookup, link
a spouse created in place, log a call from the card's timeline, create a duplicate of the person past the
duplicate hints, merge it into the original from the card, and follow the duplicate's old address to the
kept card, which still shows the employer, the spouse and the call. Every step checks what the user sees and
that the console stays clean. It makes its own records (the live server also holds demo data, which it
never relies on). Screenshots go to ``screenshots/`` as ``journey-contacts-<step>.png``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

ORG = "Quillfeather Journey Works"
FIRST, LAST = "Yaryna", "Journeywoman"
PERSON = f"{FIRST} {LAST}"
EMAIL = "yaryna.journey@quillfeather.example"
SPOUSE = "Bohdan Journeywoman"
CALL = "Journey call about the spring order"
CARD_URL = re.compile(r"/contacts/(\d+)$")


def shot(browsing: Any, step: str) -> None:
    """A full-page screenshot. ``caret="initial"``: hiding the caret leaves ``style=""`` on every input, which
    HTMX then copies while settling a swap, and the CSP (rightly) reports it."""
    path = browsing.shots / f"journey-contacts-{step}.png"
    browsing.page.evaluate("window.scrollTo(0, 0)")  # fixed bars are drawn where the window was scrolled
    browsing.page.screenshot(path=str(path), full_page=True, caret="initial")


def clean(browsing: Any, step: str, expected_4xx: tuple[str, ...] = ()) -> None:
    """Nothing went wrong in the console; ``expected_4xx`` are paths answered 400 on purpose (a form sent
    back with its messages), which Chromium reports as a failed resource."""
    errors = [
        e
        for e in browsing.take_errors()
        if not (e.startswith("console error: Failed to load resource") and any(p in e for p in expected_4xx))
    ]
    assert not errors, f"{step}: " + "\n".join(errors)


def card_id(browsing: Any) -> int:
    """The id of the card on screen, after HTMX (HX-Redirect) or a redirect brought it up."""
    browsing.page.wait_for_url(CARD_URL)
    browsing.page.wait_for_load_state("networkidle")
    match = CARD_URL.search(urlsplit(browsing.page.url).path)
    assert match, browsing.page.url
    shown = browsing.page.locator(".customer-card").get_attribute("data-party")
    assert shown == match.group(1), f"the address says {match.group(1)}, the card shows {shown}"
    return int(match.group(1))


def heading(browsing: Any) -> str:
    return browsing.page.locator("#card-header h1").inner_text().strip()


def create_party(browsing: Any, kind_path: str, values: dict[str, str]) -> None:
    browsing.goto(f"/contacts/{kind_path}/new")
    form = browsing.page.locator("form#party-new")
    for name, value in values.items():
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()


def add_relationship(browsing: Any, role_label: str, *, pick: int | None = None, new_name: str = "") -> None:
    """The card's quick add: a role, then someone found by typing (``pick``) or created in place."""
    page = browsing.page
    section = page.locator("#relationships")
    section.locator("details.rel-add > summary").click()
    form = section.locator("form.rel-add-form")
    form.locator("select[name=role]").select_option(label=role_label)
    if pick is not None:
        box = form.locator("input[name=other_q]")
        results = form.locator(".lookup .lookup-results")
        # Typed in two bursts, as people do: the second answer must land in the same results box.
        for part in (LAST[:4], LAST[4:7]):
            with page.expect_response(lambda r: "/contacts/lookup" in r.url):
                box.press_sequentially(part, delay=30)
            page.wait_for_load_state("networkidle")
            assert results.count() == 1, (
                "the lookup's answer replaced its results box (.lookup-results), so typing on has nowhere to go"
            )
        hit = results.locator(f"input[name=other][value='{pick}']")
        hit.wait_for()
        radio = page.locator(f"input[name=other][value='{pick}']")
        assert results.locator("label.lookup-hit", has=radio).locator(".lookup-name").inner_text() == PERSON
        hit.check()
    else:
        form.locator("input[name=new_name]").fill(new_name)
    with page.expect_response(lambda r: r.request.method == "POST" and "/relationships" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 200, f"adding a relationship answered {answer.value.status}"
    page.locator("#relationships .alert-ok").wait_for()
    assert page.locator("#relationships .alert-ok").inner_text().strip() == "Relationship added."


def test_contacts_journey(browse: Any) -> None:
    seller = browse("desktop")
    page = seller.page
    seller.login("sales")
    clean(seller, "login")

    # 1. A new organisation through its create form.
    create_party(seller, "organisations", {"name": ORG, "industry": "Stationery"})
    org_id = card_id(seller)
    assert heading(seller) == ORG
    assert page.locator(".customer-card").get_attribute("data-kind") == "organisation"
    assert "Sofiia Sales" in page.locator("#card-header .card-head-sub").inner_text()
    clean(seller, "create the organisation")
    shot(seller, "1-organisation")

    # 2. A person, then linked from the organisation's card as its employee through the lookup.
    create_party(seller, "people", {"first_name": FIRST, "last_name": LAST, "job_title": "Buyer",
                                    "primary_email": EMAIL})  # fmt: skip
    person_id = card_id(seller)
    assert heading(seller) == PERSON
    assert EMAIL in page.locator("#card-header .card-head-points").inner_text()
    clean(seller, "create the person")

    seller.goto(f"/contacts/{org_id}")
    add_relationship(seller, "Employer of…", pick=person_id)
    employees = page.locator("#relationships .rel-people dl.rel-roles")
    assert employees.locator("dt").first.inner_text().startswith("Employee")
    assert employees.locator(f"dd a[href='/contacts/{person_id}']").inner_text() == PERSON
    tie = page.locator("#relationships li.rel-item[data-type=employment]")
    assert tie.locator("a.rel-party").inner_text() == PERSON
    assert tie.locator(".rel-role").inner_text().startswith("Employee")
    clean(seller, "link the employee")
    shot(seller, "2-organisation-employee")

    seller.goto(f"/contacts/{person_id}")
    employer = page.locator("#relationships li.rel-item[data-type=employment]")
    assert employer.locator(".rel-role").inner_text().startswith("Employer")
    assert employer.locator("a.rel-party").inner_text() == ORG
    assert employer.locator("a.rel-party").get_attribute("href") == f"/contacts/{org_id}"
    clean(seller, "the person's employer")

    # 3. A spouse, created in place from the person's card.
    add_relationship(seller, "Spouse of…", new_name=SPOUSE)
    spouse = page.locator("#relationships li.rel-item[data-type=spouse] a.rel-party")
    assert spouse.inner_text() == SPOUSE
    spouse_href = spouse.get_attribute("href") or ""
    assert CARD_URL.search(spouse_href) and spouse_href not in (f"/contacts/{person_id}", f"/contacts/{org_id}")
    assert page.locator("#relationships li.rel-item[data-type=employment] a.rel-party").inner_text() == ORG
    clean(seller, "link the spouse")
    shot(seller, "3-person-spouse")
    seller.goto(spouse_href)  # the spouse made in place is a person whose card links back
    assert heading(seller) == SPOUSE
    assert page.locator(".customer-card").get_attribute("data-kind") == "person"
    back = page.locator("#relationships li.rel-item[data-type=spouse] a.rel-party")
    assert back.get_attribute("href") == f"/contacts/{person_id}"
    clean(seller, "the spouse's card")
    seller.goto(f"/contacts/{person_id}")

    # 4. A call logged from the timeline's quick action: the form opens in the timeline, the entry lands on top.
    timeline = page.locator("#timeline")
    with page.expect_response(lambda r: "/activities/new?type=call" in r.url):
        timeline.locator(f".timeline-quick a[href='/contacts/{person_id}/activities/new?type=call']").click()
    form = timeline.locator("#timeline-form form#activity-form")
    form.wait_for()
    assert form.locator(".pill-current").inner_text() == "Call"
    assert form.locator(f"input[name=party_ids][value='{person_id}']").is_checked()
    form.locator("input[name=subject]").fill(CALL)
    form.locator("input[name=outcome]").fill("Agreed on a sample box")
    form.locator("input[name=duration_minutes]").fill("12")
    with page.expect_response(lambda r: r.request.method == "POST" and "/activities/new" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 200
    saved = timeline.locator("#timeline-form .activity-saved")
    saved.wait_for()
    assert CALL in saved.inner_text()
    first = timeline.locator("#timeline-entries > li.timeline-entry").first
    assert first.locator(".timeline-title").inner_text() == CALL
    assert "kind-contacts-call" in (first.get_attribute("class") or "")
    assert page.url.endswith(f"/contacts/{person_id}"), "logging a call must stay on the card"
    clean(seller, "log a call")
    shot(seller, "4-person-call")
    # Still there (and still first) after a reload, not only in the swapped fragment.
    seller.goto(f"/contacts/{person_id}")
    first = page.locator("#timeline-entries > li.timeline-entry").first
    assert first.locator(".timeline-title").inner_text() == CALL
    clean(seller, "the call after a reload")

    # 5. A duplicate: the create form warns about the original; "create anyway" makes it.
    create_party(seller, "people", {"first_name": FIRST, "last_name": LAST, "primary_email": EMAIL.upper()})
    hints = page.locator("form#party-new .list-hints")
    hints.wait_for()
    assert page.url.endswith("/contacts/people/new"), "the form must come back in place with the hints"
    assert hints.locator(f"a[href='/contacts/{person_id}']").inner_text() == PERSON
    assert page.locator("form#party-new input[name=primary_email]").input_value() == EMAIL.upper()
    clean(seller, "the duplicate hints", expected_4xx=("/contacts/people/new",))
    shot(seller, "5-duplicate-hints")
    hints.locator("input[name=create_anyway]").check()
    page.locator("form#party-new button[type=submit]").click()
    duplicate_id = card_id(seller)
    assert duplicate_id not in (person_id, org_id)
    assert heading(seller) == PERSON
    clean(seller, "create the duplicate anyway")

    # ... merged into the original from the original's card: its merge section lists the duplicate.
    seller.goto(f"/contacts/{person_id}")
    candidates = page.locator("#merge .merge-list")
    candidates.wait_for()
    assert candidates.locator(f"a[href='/contacts/{duplicate_id}']").first.inner_text() == PERSON
    shot(seller, "5-merge-candidates")
    merge_link = candidates.locator(f"a[href='/contacts/{person_id}/merge/{duplicate_id}']")
    with page.expect_navigation(wait_until="networkidle"):
        merge_link.click()
    assert urlsplit(page.url).path == f"/contacts/{person_id}/merge/{duplicate_id}"
    confirm = page.locator("form.merge-form")
    assert confirm.locator("input[name=kept_version]").count() == 1
    assert f"/contacts/{person_id}" in [a.get_attribute("href") for a in confirm.locator("thead a").all()], (
        "the confirm page must name the kept record"
    )
    clean(seller, "the merge confirm page")
    shot(seller, "5-merge-confirm")
    with page.expect_navigation(wait_until="networkidle"):
        confirm.locator("button[type=submit]").click()
    assert card_id(seller) == person_id
    clean(seller, "merge")

    # 6. The duplicate's old address leads to the kept card, with the employer, the spouse and the call.
    response = seller.goto(f"/contacts/{duplicate_id}")
    assert response.request.redirected_from is not None, "the merged record's address must redirect"
    assert card_id(seller) == person_id
    assert heading(seller) == PERSON
    rels = page.locator("#relationships")
    assert rels.locator("li.rel-item[data-type=employment] a.rel-party").inner_text() == ORG
    assert rels.locator("li.rel-item[data-type=spouse] a.rel-party").inner_text() == SPOUSE
    titles = page.locator("#timeline-entries .timeline-title").all_inner_texts()
    assert titles.count(CALL) == 1, titles
    assert page.locator(f"#merge .merge-list a[href='/contacts/{duplicate_id}']").count() == 0
    history = page.locator("#card-history").inner_text()
    assert f"#{duplicate_id} merged into this one" in history
    clean(seller, "the old address")
    shot(seller, "6-kept-card")

    # The person card on a phone never scrolls sideways.
    phone = browse("phone")
    phone.login("sales")
    phone.goto(f"/contacts/{person_id}")
    phone.page.locator("#relationships").wait_for()
    widths = phone.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    shot(phone, "phone-person-card")
    assert widths[0] <= widths[1], f"the person card scrolls sideways on a phone: {widths[0]}px in {widths[1]}px"
    clean(phone, "the person card on a phone")
