"""Demo deals with the stage history they lived through, made in chunks so a million fit in memory.

Each deal is built back from how it ends: a third are open today (in a stage entered a while ago, early
stages more often), the rest won or lost on a day drawn by season (:data:`SEASON`: a December peak, more at
quarter ends, bunched in their last fortnight, a summer dip). Before that it walked the default pipeline's
open stages, staying about each stage's ``expected_days`` (an exponential spread around it), now and then
skipping one or stepping back one (requalified); a lost deal died at some stage, with a reason and often a
competitor; a won one went through the last open stage. The deal was created when its first stay began.
Every stay's ``left_at`` is the next stay's ``entered_at``; the last stay is open (as the write path leaves
it) and is the deal's stage.

Probability and forecast category are the stage's (a few typed by hand on open deals), as the write path
would set them; amounts are the net of the deal's product line in UAH, EUR or USD.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from voronka.core.search_keys import search_key

from . import pricing
from .models import LOST, OPEN, WON
from .seed_catalogue import Item, price_in
from .stages import PipelineInfo, StageInfo

DAY = 86_400.0
HISTORY_DAYS = 730
SHARE = {OPEN: 0.3, WON: 0.37, LOST: 0.33}
"""How deals end up: open today, won, lost."""
STOP = (0.14, 0.2, 0.22, 0.22, 0.22, 0.1, 0.1)
"""Where a lost deal died, or where an open deal is now, by open stage (weights)."""
SEASON = (0.8, 0.85, 1.4, 0.9, 0.95, 1.4, 0.65, 0.6, 1.35, 1.0, 1.05, 1.9)
"""How likely a close falls in each month, January to December."""
SKIP, BACK = 0.05, 0.2
"""Chance to skip the next stage, and to step back one (from the third stage on)."""
CURRENCIES = (("UAH", 0.80), ("EUR", 0.12), ("USD", 0.08))
QUANTITY = {"seat": (5, 200), "місце": (5, 200), "month": (6, 24), "міс.": (6, 24), "hour": (20, 300),
            "год": (20, 300), "year": (1, 3), "рік": (1, 3), "project": (1, 1), "проєкт": (1, 1)}  # fmt: skip
DISCOUNTS = (0, 0, 0, 300, 500, 500, 1000, 1500)
LOST_REASONS = {
    "en": ("Price too high", "Chose a competitor", "No budget this year", "No decision", "Project postponed",
           "Missing feature", "Went silent", "Bought in-house solution"),
    "uk": ("Зависока ціна", "Обрали конкурента", "Немає бюджету цього року", "Рішення не ухвалено",
           "Проєкт відкладено", "Бракує функції", "Клієнт зник", "Зробили власне рішення"),
}  # fmt: skip
COMPETITORS = ("Bitrix24", "Salesforce", "HubSpot", "Pipedrive", "Zoho CRM", "Terrasoft", "KeyCRM", "SAP")
ROLES = ("decision_maker", "influencer", "champion", "influencer")


@dataclass
class Walk:
    """One deal's life: (stage, entered, left) stays in seconds since the epoch, and what it ended as."""

    stays: list[tuple[StageInfo, float, float | None]]
    status: str


@dataclass
class Made:
    """A chunk of deals as rows, with what the history, stakeholders and quotes need after the insert."""

    deals: list[dict[str, Any]] = field(default_factory=list)
    walks: list[Walk] = field(default_factory=list)
    lines: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Per deal: (catalogue index, quantity, unit price in minor units, discount in basis points)."""
    stakeholders: list[list[tuple[int, str]]] = field(default_factory=list)


class Maker:
    """Deals for one seed run: the pipeline, the customers and their owners, the catalogue, the clock."""

    def __init__(self, ctx: Any, pipeline: PipelineInfo, customers: Customers, catalogue: list[tuple[int, Item]],
                 owners: list[int], zone: Any, now: dt.datetime):  # fmt: skip
        self.rng = ctx.rng
        self.lang = "uk" if ctx.language == "uk" else "en"
        self.pipeline = pipeline
        self.opens = pipeline.open_stages
        self.won = pipeline.closing(WON)
        self.lost = pipeline.closing(LOST)
        self.customers = customers
        self.catalogue = catalogue
        self.owners = owners
        self.zone = zone
        self.now = now.timestamp()
        self.start = self.now - HISTORY_DAYS * DAY
        self.epoch = dt.datetime.fromtimestamp(0, dt.UTC)

    def moment(self, seconds: float) -> dt.datetime:
        return self.epoch + dt.timedelta(seconds=int(seconds))

    def local_day(self, seconds: float) -> dt.date:
        return self.moment(seconds).astimezone(self.zone).date()

    # -- the walk ----------------------------------------------------------------------------------------

    def walk(self) -> Walk:
        """A deal's stays, built back from how it ends: the close day (drawn by season) or, for an open deal,
        its current stage entered a while ago; then the stages before, each stay about its expected days."""
        rng, opens = self.rng, self.opens
        r = rng.random()
        status = OPEN if r < SHARE[OPEN] else WON if r < SHARE[OPEN] + SHARE[WON] else LOST
        last = len(opens) - 1 if status == WON else _weighted(rng, STOP[: len(opens)])
        path = self._path(last)
        if status == OPEN:
            stage = opens[last]
            entered = self.now - (stage.expected_days or 14) * DAY * rng.expovariate(1 / 0.9)
            ends: list[tuple[StageInfo, float, float | None]] = [(stage, entered, None)]
        else:
            closing = self.won if status == WON else self.lost
            assert closing is not None
            entered = self.close_moment(status)
            ends = [(closing, entered, None)]
            path.append(last)
        stays = ends
        t = entered
        for at in reversed(path):
            stage = opens[at]
            stay = (stage.expected_days or 14) * DAY * (0.3 + rng.expovariate(1 / 0.8))
            stays.append((stage, t - stay, t))
            t -= stay
        stays.reverse()
        return Walk(stays, status)

    def _path(self, last: int) -> list[int]:
        """The open stages visited before stage ``last`` (by position), oldest first: now and then one is
        skipped, and now and then a deal goes back a stage and through it again (requalified)."""
        rng = self.rng
        at = 1 if rng.random() < 0.05 and last >= 1 else 0
        path: list[int] = []
        while at < last:
            path.append(at)
            if at >= 2 and rng.random() < BACK:
                path += [at - 1, at]
            at += 2 if rng.random() < SKIP and at + 2 <= last else 1
        return path

    def close_moment(self, status: str) -> float:
        """A close time in the seeded years, months weighted by :data:`SEASON` (a December peak, quarter ends,
        a summer dip), quarter-end closes bunched in the month's last fortnight."""
        rng = self.rng
        strength = 1.0 if status == WON else 0.6
        top = max(SEASON)
        while True:
            when = self.start + (self.now - self.start) * rng.random()
            day = self.moment(when)
            weight = 1 + (SEASON[day.month - 1] - 1) * strength
            if rng.random() * top < weight:
                break
        if day.month % 3 == 0 and day.day < 15 and rng.random() < 0.5:
            moved = when + (15 + 10 * rng.random()) * DAY
            if self.moment(moved).month == day.month and moved < self.now:
                when = moved
        return when - when % 60

    # -- a chunk of deals ----------------------------------------------------------------------------------

    def chunk(self, n: int) -> Made:
        made = Made()
        rng = self.rng
        for _ in range(n):
            walk = self.walk()
            created = walk.stays[0][1]
            customer, owner, team, cname, staff = self.customers.pick(rng, self.owners)
            index = int(rng.random() * len(self.catalogue))
            _pid, item = self.catalogue[index]
            currency = _currency(rng)
            low, high = QUANTITY.get(item.unit[self.lang], (1, 30))
            quantity = low + int(rng.random() * (high - low + 1))
            price = price_in(item, currency)
            discount = DISCOUNTS[int(rng.random() * len(DISCOUNTS))]
            amount = pricing.price_line(quantity * 1000, price, discount, 0).net
            made.lines.append((index, quantity, price, discount))
            made.walks.append(walk)
            made.deals.append(self._deal(walk, created, customer, owner, team, cname, item, quantity, amount,
                                         currency))  # fmt: skip
            made.stakeholders.append(self._stakeholders(staff))
        return made

    def _deal(self, walk: Walk, created: float, customer: int | None, owner: int, team: int | None, cname: str,
              item: Item, quantity: int, amount: int, currency: str) -> dict[str, Any]:  # fmt: skip
        rng = self.rng
        stage, entered, _left = walk.stays[-1]
        name = (
            f"{item.name[self.lang]} × {quantity} — {cname}"[:300] if cname else f"{item.name[self.lang]} × {quantity}"
        )
        closed_on = self.local_day(entered) if walk.status != OPEN else None
        probability, manual, category = stage.probability, False, stage.forecast_category
        lost_reason = competitor = ""
        if walk.status == OPEN:
            remaining = sum((s.expected_days or 14) for s in self.opens if s.position >= stage.position)
            expected = self.local_day(entered + remaining * DAY * (0.6 + 0.8 * rng.random()))
            if rng.random() < 0.06:
                probability = max(1, min(99, probability + int(rng.random() * 30) - 15))
                manual = probability != stage.probability
            if category in (WON, LOST):
                category = "pipeline"
        else:
            assert closed_on is not None
            expected = closed_on + dt.timedelta(days=int(rng.random() * 30) - 20)
            if walk.status == LOST:
                reasons = LOST_REASONS[self.lang]
                lost_reason = reasons[int(rng.random() * len(reasons))]
                if lost_reason in (reasons[1], reasons[0]) or rng.random() < 0.3:
                    competitor = COMPETITORS[int(rng.random() * len(COMPETITORS))]
        moment = self.moment(created)
        return {
            "name": name, "name_key": search_key(name), "customer_id": customer, "pipeline_id": self.pipeline.id,
            "stage_id": stage.id, "amount_minor": amount, "amount_currency": currency, "expected_close": expected,
            "probability": probability, "probability_manual": manual, "forecast_category": category,
            "status": walk.status, "closed_on": closed_on, "lost_reason": lost_reason, "competitor": competitor,
            "description": "", "stage_entered_at": self.moment(entered), "created_at": moment,
            "updated_at": self.moment(entered), "owner_user_id": owner, "owner_team_id": team, "version": 1,
            "custom": {}, "deleted_at": None,
        }  # fmt: skip

    def _stakeholders(self, staff: list[int]) -> list[tuple[int, str]]:
        rng = self.rng
        if not staff or rng.random() < 0.45:
            return []
        picked: list[tuple[int, str]] = []
        for n in range(1 + int(rng.random() * min(3, len(staff)))):
            person = staff[int(rng.random() * len(staff))]
            role = ROLES[0] if n == 0 else ROLES[1 + int(rng.random() * (len(ROLES) - 1))]
            if all(p != person for p, _r in picked):
                picked.append((person, role))
        return picked

    def history(self, deal_id: int, walk: Walk, owner: int) -> Iterator[dict[str, Any]]:
        previous = None
        for stage, entered, left in walk.stays:
            yield {"opportunity_id": deal_id, "pipeline_id": self.pipeline.id, "stage_id": stage.id,
                   "from_stage_id": previous, "entered_at": self.moment(entered),
                   "left_at": self.moment(left) if left is not None else None, "by_user_id": owner}  # fmt: skip
            previous = stage.id


def _weighted(rng: Any, weights: tuple[float, ...]) -> int:
    r = rng.random() * sum(weights)
    for n, weight in enumerate(weights):
        if r < weight:
            return n
        r -= weight
    return len(weights) - 1


def _currency(rng: Any) -> str:
    r = rng.random()
    for code, share in CURRENCIES:
        if r < share:
            return code
        r -= share
    return "UAH"


class Customers:
    """Seeded customers (mostly organisations, some people) with owner, name and staff, kept in arrays."""

    def __init__(self, orgs: list[tuple[int, int | None, int | None, str]], people: list[int],
                 staff: dict[int, array[int]], owners: list[int]):  # fmt: skip
        self.orgs = orgs
        self.people = people
        self.staff = staff
        self.owner_set = set(owners)

    def pick(self, rng: Any, owners: list[int]) -> tuple[int | None, int, int | None, str, list[int]]:
        """(customer id, owner user, owner team, customer name, the customer's people)."""
        fallback = owners[int(rng.random() * len(owners))]
        if self.people and (not self.orgs or rng.random() < 0.15):
            return self.people[int(rng.random() * len(self.people))], fallback, None, "", []
        if not self.orgs:
            return None, fallback, None, "", []
        party, owner, _team, name = self.orgs[int(rng.random() ** 1.3 * len(self.orgs))]
        user = owner if owner in self.owner_set and rng.random() < 0.85 else fallback
        return party, user, None, name, list(self.staff.get(party, ()))


def scaled(scale: int) -> int:
    """Deals to make: 600 at scale 1, 1,000 per step above (scale 1000: a million)."""
    return 600 if scale <= 1 else 1000 * scale


__all__ = ["Customers", "Made", "Maker", "Walk", "scaled"]
