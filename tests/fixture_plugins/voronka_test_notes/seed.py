"""Demo notes: a few per scale step, in the user's language, owned by the seeded users or the admin."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voronka.core.models import Role, User, UserRole
from voronka.core.search_keys import search_key
from voronka.core.seeding import SeedContext
from voronka.core.types import utcnow

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
BODIES = {
    "uk": ["Узгодили знижку 5% за умови передоплати.", "Підготувати комерційну пропозицію до п'ятниці.", ""],
    "en": ["Agreed a 5% discount for payment in advance.", "Send the proposal by Friday.", ""],
}
PER_SCALE = 5


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
    owners = list(ctx.ids.get("core.users") or [])
    if not owners:
        admin = admin_id(ctx.session)
        owners = [admin] if admin is not None else []
    if not owners:
        return []
    lang = ctx.language if ctx.language in TITLES else "en"
    now = utcnow()
    rows = []
    for i in range(PER_SCALE * max(ctx.scale, 1)):
        title = TITLES[lang][i % len(TITLES[lang])]
        rows.append(
            {
                "title": title,
                "title_key": search_key(title),
                "body": ctx.rng.choice(BODIES[lang]),
                "owner_user_id": owners[i % len(owners)],
                "owner_team_id": None,
                "version": 1,
                "ref_kind": None,
                "ref_id": None,
                "created_at": now - dt.timedelta(days=ctx.rng.randint(0, 60), minutes=ctx.rng.randint(0, 600)),
            }
        )
    before = ctx.session.scalar(select(func.max(Note.id))) or 0
    ctx.bulk_insert(Note.__table__, rows)
    ids = list(ctx.session.scalars(select(Note.id).where(Note.id > before).order_by(Note.id)))
    ctx.ids["notes.notes"] = ids
    return ids
