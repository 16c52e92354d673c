"""Demo activities: notes, calls, meetings and tasks on the seeded parties' timelines (see :mod:`.seed`).

Spread over the last two years with a few planned in the coming three weeks; a party's share is uneven
(key accounts, mostly organisations, gather hundreds of entries, most parties a handful). A task due more
than two weeks ago is done, a more recent one mostly; one in the future is open. Every sales person also
gets open tasks of their own due in the next days and one overdue, so "my open tasks" has something to
show. A ``Plan.participants`` share of activities (meetings, mostly) list who took part: the owner (a user)
and the person on the other side.

Activities with participants are inserted first with their ids returned; the rest (the bulk: ten million at
scale 1000) without, so no list of ten million ids is ever held.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from voronka.core.seeding import SeedContext

from .models import ORGANISATION, PERSON, Activity, ActivityParticipant

if TYPE_CHECKING:
    from .seed import Book, Plan

DAY = 86_400.0
HISTORY = 730 * DAY
AHEAD = 21 * DAY
RECENT = 14 * DAY
"""A task due longer ago than this is done; one due more recently is still open three times in ten."""

SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "uk": {
        "note": ("Клієнт просить відтермінування платежу", "Змінився контакт у відділі закупівель",
                 "Нотатки після виставки", "Побажання щодо умов доставки", "Конкурент запропонував нижчу ціну",
                 "Планують розширення складу", "Бюджет на наступний рік затверджено", "Скарга на якість партії"),
        "call": ("Дзвінок: уточнення замовлення", "Вхідний дзвінок щодо рахунку", "Дзвінок про продовження договору",
                 "Холодний дзвінок", "Дзвінок: погодження знижки", "Дзвінок щодо рекламації",
                 "Нагадування про оплату", "Дзвінок: нова потреба"),
        "meeting": ("Зустріч в офісі клієнта", "Презентація нової лінійки", "Переговори щодо річного контракту",
                    "Онлайн-демонстрація продукту", "Зустріч з фінансовим директором", "Огляд співпраці за квартал",
                    "Візит на виробництво"),
        "task": ("Надіслати комерційну пропозицію", "Підготувати договір", "Виставити рахунок",
                 "Передзвонити після наради", "Узгодити графік поставок", "Надіслати каталог",
                 "Підготувати акт звірки", "Оновити реквізити клієнта"),
    },
    "en": {
        "note": ("Asked to defer the payment", "New contact in purchasing", "Notes from the trade show",
                 "Delivery preferences", "A competitor offered a lower price", "Planning a warehouse expansion",
                 "Next year's budget approved", "Complaint about a delivery"),
        "call": ("Call: order details", "Inbound call about an invoice", "Renewal call", "Cold call",
                 "Call: discount approval", "Call about a complaint", "Payment reminder", "Call: a new need"),
        "meeting": ("Meeting at the customer's office", "New range presentation", "Annual contract negotiation",
                    "Online product demo", "Meeting with the finance director", "Quarterly business review",
                    "Site visit"),
        "task": ("Send the proposal", "Prepare the contract", "Issue the invoice", "Call back after their meeting",
                 "Agree the delivery schedule", "Send the catalogue", "Prepare the account statement",
                 "Update the billing details"),
    },
}  # fmt: skip
BODIES = {
    "uk": ("", "", "Узгодили знижку 5% за умови передоплати.", "Потрібна відповідь до п'ятниці.",
           "Просять надіслати оновлений прайс.", "Рішення ухвалює власник, наступний крок — зустріч.",
           "Обсяг закупівлі зростає приблизно на 20% на рік.", "Контакт лояльний, але бюджет обмежений."),
    "en": ("", "", "Agreed a 5% discount for payment in advance.", "They need an answer by Friday.",
           "Asked for the updated price list.", "The owner decides; next step is a meeting.",
           "Volumes grow about 20% a year.", "Friendly contact, tight budget."),
}  # fmt: skip
OUTCOMES = {
    "uk": ("Домовилися про зустріч", "Не відповів", "Передзвонити пізніше", "Надіслати пропозицію", "Погодили"),
    "en": ("Meeting booked", "No answer", "Call back later", "Send a proposal", "Agreed"),
}
LOCATIONS = {"uk": ("Офіс клієнта", "Наш офіс", "Google Meet", "Zoom", "Кав'ярня поруч з офісом"),
             "en": ("Customer's office", "Our office", "Microsoft Teams", "Zoom", "Coffee shop nearby")}  # fmt: skip
TYPES = ("note", "call", "call", "call", "meeting", "task", "task", "note")
OPEN_TASKS_AHEAD = 4
"""Open tasks of each sales person due in the next week (plus one overdue)."""


def seed_activities(ctx: SeedContext, book: Book, plan: Plan) -> dict[str, int]:
    with_people = int(plan.activities * plan.participants)
    maker = Maker(book)
    pairs: list[tuple[int, int, int]] = []  # (ref party position, owner user id, other party position)
    ids = ctx.bulk_insert(Activity.__table__, maker.rows(with_people, pairs), returning_ids=True)
    participants = ctx.bulk_insert(ActivityParticipant.__table__, _participants(book, ids, pairs))
    rest = ctx.bulk_insert(Activity.__table__, maker.own_tasks())
    rest += ctx.bulk_insert(Activity.__table__, maker.rows(plan.activities - with_people - rest, None))
    return {"activities": len(ids) + rest, "participants": participants}


class Maker:
    def __init__(self, book: Book):
        self.book = book
        self.rng = book.rng
        self.now = book.now

    def _ref(self) -> int:
        """A party position: uniform for most, skewed to the first (key accounts) for three in ten."""
        rng, n = self.rng, self.book.n_parties
        u = rng.random()
        if u < 0.3:
            return int(n * (u / 0.3) ** 3)
        return int(rng.random() * n)

    def _owner(self, at: int) -> int:
        owner = self.book.owner[at]
        return owner or self.book.owners[int(self.rng.random() * len(self.book.owners))]

    def rows(self, count: int, pairs: list[tuple[int, int, int]] | None) -> Iterator[dict[str, Any]]:
        """``count`` activities; with ``pairs`` these are the ones with participants (meetings, some calls),
        and each row's (ref, owner, other party) is appended to it."""
        rng, book, now = self.rng, self.book, self.now
        ids, n_orgs, first_employee = book.ids, book.n_orgs, book.first_employee
        random = rng.random
        for _ in range(count):
            at = self._ref()
            lang = "uk" if book.uk[at] else "en"
            kind = ("meeting" if random() < 0.7 else "call") if pairs is not None else TYPES[int(random() * 8)]
            ahead = random() < 0.04
            offset = random() * AHEAD if ahead else -random() * HISTORY
            when = now + dt.timedelta(seconds=int(offset))
            owner = self._owner(at)
            subjects = SUBJECTS[lang][kind]
            row = {
                "type": kind, "subject": subjects[int(random() * len(subjects))],
                "body": BODIES[lang][int(random() * 8)], "ref_kind": ORGANISATION if at < n_orgs else PERSON,
                "ref_id": ids[at], "occurred_at": when, "ends_at": None, "due_at": None, "done": False,
                "done_at": None, "direction": "", "duration_minutes": None, "outcome": "", "location": "",
                "created_at": min(when, now), "updated_at": min(when, now), "owner_user_id": owner,
                "owner_team_id": None, "version": 1,
            }  # fmt: skip
            if kind == "call":
                row["direction"] = "inbound" if random() < 0.4 else "outbound"
                row["duration_minutes"] = 1 + int(random() * 30)
                row["outcome"] = OUTCOMES[lang][int(random() * 5)]
            elif kind == "meeting":
                minutes = (30, 45, 60, 90, 120)[int(random() * 5)]
                row["ends_at"] = when + dt.timedelta(minutes=minutes)
                row["duration_minutes"] = minutes
                row["location"] = LOCATIONS[lang][int(random() * 5)]
            elif kind == "task":
                row["due_at"] = when
                if not ahead and (offset < -RECENT or random() < 0.7):  # old tasks are done, recent ones mostly
                    done = min(now, when + dt.timedelta(seconds=int(random() * 2 * DAY)))
                    row["done"], row["done_at"], row["updated_at"] = True, done, done
            if pairs is not None:
                other = at if at >= n_orgs else first_employee[at]
                pairs.append((at, owner, other))
            yield row

    def own_tasks(self) -> Iterator[dict[str, Any]]:
        """For each sales person: open tasks on their own parties, due in the next days, and one overdue."""
        book, rng, now = self.book, self.rng, self.now
        mine: dict[int, list[int]] = {}
        for at in range(book.n_parties):
            owner = book.owner[at]
            if owner and len(mine.setdefault(owner, [])) < 8:
                mine[owner].append(at)
        for owner in book.owners:
            parties = mine.get(owner) or [int(rng.random() * book.n_parties)]
            for n in range(OPEN_TASKS_AHEAD + 1):
                at = parties[n % len(parties)]
                lang = "uk" if book.uk[at] else "en"
                days = -1 - rng.random() * 2 if n == 0 else 0.2 + rng.random() * 6.5
                due = (now + dt.timedelta(days=days)).replace(second=0)
                subjects = SUBJECTS[lang]["task"]
                yield {
                    "type": "task", "subject": subjects[int(rng.random() * len(subjects))], "body": "",
                    "ref_kind": ORGANISATION if at < book.n_orgs else PERSON, "ref_id": book.ids[at],
                    "occurred_at": due, "ends_at": None, "due_at": due, "done": False, "done_at": None,
                    "direction": "", "duration_minutes": None, "outcome": "", "location": "",
                    "created_at": now - dt.timedelta(days=3), "updated_at": now - dt.timedelta(days=3),
                    "owner_user_id": owner, "owner_team_id": None, "version": 1,
                }  # fmt: skip


def _participants(book: Book, ids: list[int], pairs: list[tuple[int, int, int]]) -> Iterator[dict[str, Any]]:
    party_ids = book.ids
    for activity_id, (_at, owner, other) in zip(ids, pairs, strict=True):
        yield {"activity_id": activity_id, "party_id": None, "user_id": owner, "role": "organiser"}
        if other >= 0:
            yield {"activity_id": activity_id, "party_id": party_ids[other], "user_id": None, "role": "attendee"}


__all__ = ["Maker", "seed_activities"]
