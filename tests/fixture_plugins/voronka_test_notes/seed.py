"""Demo notes, owned by the seeded sales people, in the deployment's language (a fifth in the other one).

How many: :func:`notes_for_scale` — five at scale 1 (a demo a person reads), then 1,000 more per step of
scale, so ``voronka demo --scale 1000`` gives about a million. Titles come from templates over customer
names (so prefix search finds realistic groups), ``created_at`` is spread over the last two years, a few
notes in every hundred carry tags. Rows go through ``ctx.bulk_insert``; no events or audit entries (seeded
records are the starting state, see :mod:`voronka.core.seeding`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voronka.core.models import Role, User, UserRole
from voronka.core.models_records import TagLink
from voronka.core.search_keys import search_key
from voronka.core.seeding import SeedContext
from voronka.core.tags import tag_named
from voronka.core.types import utcnow

from .kinds import NOTE
from .models import Note

TITLES = {
    "uk": [
        "Олександр Петренко: дзвінок про поставку",
        "Зустріч з «Київ Агро» у четвер",
        "Ювілей клієнта — надіслати привітання",
        "Щотижнева нарада відділу продажів",
        "Ідеї для весняної акції",
    ],
    "en": [
        "Call with Northwind about the renewal",
        "Quarterly review agenda",
        "Trade show leads to follow up",
        "Pricing questions from Contoso",
        "Ideas for the spring campaign",
    ],
}
TEMPLATES = {
    "uk": [
        "Дзвінок: {c}", "Зустріч з {c}", "Комерційна пропозиція для {c}", "{c} — продовження договору",
        "{c}: рекламація", "Рахунок для {c}", "{c} просить знижку", "Демонстрація продукту для {c}",
    ],
    "en": [
        "Call with {c}", "Meeting with {c}", "Quote for {c}", "{c} renewal", "{c}: complaint",
        "Invoice for {c}", "{c} asks for a discount", "Product demo for {c}",
    ],
}  # fmt: skip
CUSTOMERS = {
    "uk": [
        "«Київ Агро»", "«Дніпро Метал»", "«Львівська кава»", "«Карпати Тур»", "«Оболонь Маркет»",
        "«Чорноморський порт»", "«Полтава Молоко»", "«Житомир Буд»", "ФОП Гнатюк", "«Харків Енерго»",
        "«Вінниця Фарм»", "«Одеса Логістик»", "«Черкаси Текстиль»", "«Рівне Деревина»", "«Суми Машзавод»",
    ],
    "en": [
        "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella Trading", "Acme Logistics",
        "Blue Harbour", "Summit Foods", "Greenfield Farms", "Oakridge Clinics", "Silverline Media",
    ],
}  # fmt: skip
BODIES = {
    "uk": [
        "Узгодили знижку 5% за умови передоплати.", "Підготувати комерційну пропозицію до п'ятниці.", "",
        "Клієнт просить перенести поставку на наступний тиждень.", "Передзвонити після наради в понеділок.",
    ],
    "en": [
        "Agreed a 5% discount for payment in advance.", "Send the proposal by Friday.", "",
        "They want the delivery moved to next week.", "Call back after Monday's board meeting.",
    ],
}  # fmt: skip
TAGS = {
    "uk": [("VIP", "#b45309"), ("Передзвонити", "#1d4ed8"), ("Важливо", "#b91c1c"), ("Продовження", "#047857")],
    "en": [("VIP", "#b45309"), ("Follow-up", "#1d4ed8"), ("Urgent", "#b91c1c"), ("Renewal", "#047857")],
}
SMALL_DEMO = 5
PER_STEP = 1000
TAGGED_SHARE = 0.08
SPREAD = dt.timedelta(days=730)


def notes_for_scale(scale: int) -> int:
    """5 at scale 1, then 1,000 more per step: scale 1000 makes 999,005 notes."""
    return SMALL_DEMO + PER_STEP * (max(scale, 1) - 1)


def admin_id(session: Session) -> int | None:
    """The first user holding the admin role, else the first user at all."""
    found = session.scalar(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.key == "admin")
        .order_by(User.id)
        .limit(1)
    )
    return found if found is not None else session.scalar(select(func.min(User.id)))


def seed(ctx: SeedContext) -> list[int]:
    owners = list(ctx.ids.get("core.sales") or ctx.ids.get("core.users") or [])
    if not owners:
        admin = admin_id(ctx.session)
        owners = [admin] if admin is not None else []
    if not owners:
        return []
    lang = ctx.language if ctx.language in TITLES else "en"
    ids = ctx.bulk_insert(Note.__table__, _rows(ctx, owners, lang, notes_for_scale(ctx.scale)), returning_ids=True)
    ctx.ids["notes.notes"] = ids
    _tag(ctx, ids, lang)
    return ids


def _rows(ctx: SeedContext, owners: list[int], lang: str, count: int) -> Iterator[dict[str, Any]]:
    """The note rows, generated lazily (a million dicts never sit in memory at once)."""
    rng, now = ctx.rng, utcnow()
    random_ = rng.random
    other = "en" if lang == "uk" else "uk"
    titles = {  # every template with every customer, each folded once
        code: [(title, search_key(title)) for t in TEMPLATES[code] for c in CUSTOMERS[code] if (title := t.format(c=c))]
        for code in (lang, other)
    }
    # Everyone gets notes, some people far more than others (as in a real team).
    cumulative = list(itertools.accumulate(1 + random_() * 3 for _ in owners))
    picked: list[int] = []
    bodies = BODIES[lang]
    spread = SPREAD.total_seconds()
    for i in range(count):
        if i < len(TITLES[lang]):
            title = TITLES[lang][i]
            key = search_key(title)
        else:
            pool = titles[lang] if random_() < 0.8 else titles[other]
            title, key = pool[int(random_() * len(pool))]
        if i < len(owners):
            owner = owners[i]
        else:
            if not picked:
                picked = rng.choices(owners, cum_weights=cumulative, k=10_000)
            owner = picked.pop()
        yield {
            "title": title,
            "title_key": key,
            "body": bodies[int(random_() * len(bodies))],
            "owner_user_id": owner,
            "owner_team_id": None,
            "version": 1,
            "ref_kind": None,
            "ref_id": None,
            "created_at": now - dt.timedelta(seconds=random_() * spread),
        }


def _tag(ctx: SeedContext, ids: list[int], lang: str) -> None:
    """The first note and about 8 in 100 of the rest get a tag, a fifth of those two."""
    tag_ids = [tag.id for name, colour in TAGS[lang] if (tag := tag_named(ctx.session, name, colour)) is not None]
    rng = ctx.rng

    def links() -> Iterator[dict[str, Any]]:
        for n, note_id in enumerate(ids):
            if n and rng.random() >= TAGGED_SHARE:
                continue
            first = rng.randrange(len(tag_ids))
            picked = [tag_ids[first]]
            if rng.random() < 0.2:
                picked.append(tag_ids[(first + 1) % len(tag_ids)])
            for tag_id in picked:
                yield {"kind": NOTE.name, "record_id": note_id, "tag_id": tag_id}

    ctx.bulk_insert(TagLink.__table__, links())


__all__ = ["notes_for_scale", "seed"]
