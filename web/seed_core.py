"""Core's demo data: a sales organisation with teams, queues, a dated manager hierarchy and roles.

``voronka demo`` calls :func:`seed_core` before any plugin's ``seed`` hook, so plugins find the people to
own their records in ``ctx.ids``:

``core.users``      every demo user created here
``core.teams``      the teams, queues included
``core.queues``     the queues only ("Inbound sales"; from scale 2 also "Продовження договорів", renewals)
``core.managers``   users who manage someone today
``core.sales``      sales people (the ``sales`` role)
``core.operators``  contact-centre operators (the ``operator`` role)

**Scale.** Scale 1 is a hand-written organisation of 15 people: a sales director, Kyiv and Lviv branches,
an inbound queue and a CRM administrator. Each step of scale above 1 adds a generated city branch of 15
people (a branch head, a team lead, sales people, two operators) until :data:`MAX_BRANCHES` branches, so
the organisation grows ``15 × scale`` up to 195 users at scale 13 and stays there: users stop growing while
plugins' records keep growing with the scale. The generated branches belong to four regions, each led by a
regional head (the first branch of a region brings its head instead of one sales person), which gives the
five levels director → regional heads → branch heads → team leads → sales people. Operators of every
branch work in the two queues (inbound sales and contract renewals) under the inbound head. The CRM
administrator stands outside the sales line and reports to nobody.

**The re-organisation** about six months ago gives "who was under whom on date D" two answers: it moved
the Lviv branch from under Kyiv to the director and one sales person from Kyiv to Lviv; the Poltava branch
from the Centre and North region to the East; and in every generated branch one sales person from the
branch head to the team lead.

Users are written with the bulk helper and share one argon2 hash of :data:`DEMO_PASSWORD` (hashing a
password per user would dominate the run at larger scales).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.errors import VoronkaError
from voronka.core.models import ManagerLink, Role, SettingValue, Team, TeamMember, User, UserRole
from voronka.core.search_keys import search_key
from voronka.core.security.passwords import hash_password
from voronka.core.seeding import SeedContext
from voronka.core.state import bump
from voronka.core.types import utcnow

DEMO_PASSWORD = "voronka-demo"
"""Every demo user's password (the administrator created by ``voronka init`` keeps their own)."""

DEMO_DOMAIN = "voronka.example"
MARKER_KEY = "demo_seeded"
"""``core_setting`` row (plugin "core") recording that ``voronka demo`` ran on this database."""

KYIV_TEAM = "Київ — продажі"
LVIV_TEAM = "Lviv Sales"
INBOUND_QUEUE = "Inbound sales"
RENEWALS_QUEUE = "Продовження договорів"
"""The second queue, from scale 2: each generated branch's second operator works in it."""


@dataclass
class Person:
    key: str
    name: str
    language: str
    roles: tuple[str, ...]
    team: str | None = None
    id: int = 0
    username: str = ""


@dataclass
class Link:
    user: str
    manager: str
    valid_from: dt.date
    valid_to: dt.date | None = None


@dataclass
class Org:
    people: list[Person] = field(default_factory=list)
    teams: list[tuple[str, bool]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    extra_members: list[tuple[str, str]] = field(default_factory=list)
    """(person key, team name) memberships besides each person's own team."""


@dataclass
class SeedSummary:
    users: int
    teams: int
    links: int
    founded: dt.date
    reorganised: dt.date
    director: str

    def describe(self) -> str:
        return (
            f"{self.users} users, {self.teams} teams, {self.links} manager links "
            f"(re-organisation on {self.reorganised.isoformat()})"
        )


def dates(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The organisation's founding date (1 January two years ago) and the re-org (about 6 months ago)."""
    today = today or dt.date.today()
    founded = dt.date(today.year - 2, 1, 1)
    reorganised = (today.replace(day=1) - dt.timedelta(days=170)).replace(day=1)
    return founded, reorganised


def already_seeded(session: Session) -> dict[str, Any] | None:
    """What the earlier ``voronka demo`` recorded (scale, when, plugins), or None."""
    row = session.get(SettingValue, ("core", MARKER_KEY))
    return dict(row.value) if row is not None else None


def mark_seeded(session: Session, scale: int, plugins: Iterable[str]) -> None:
    session.add(
        SettingValue(
            plugin="core",
            key=MARKER_KEY,
            value={"scale": scale, "at": utcnow().isoformat(timespec="seconds"), "plugins": list(plugins)},
            changed_at=utcnow(),
        )
    )


def seed_core(ctx: SeedContext, today: dt.date | None = None) -> SeedSummary | None:
    """Create the demo organisation in ``ctx.session``; None (nothing written) when it is already there."""
    session = ctx.session
    if already_seeded(session) is not None:
        return None
    founded, reorganised = dates(today)
    org = build_org(ctx, founded, reorganised)

    roles = dict(session.execute(select(Role.key, Role.id)).all())
    missing = sorted({r for p in org.people for r in p.roles} - set(roles))
    if missing:
        raise VoronkaError(f"The default roles {', '.join(missing)} are missing; run `voronka db upgrade` first.")
    taken = set(session.scalars(select(User.username)))
    for person in org.people:
        person.username = _unique_username(person.name, taken)

    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    ids = ctx.bulk_insert(
        User.__table__,
        (
            {
                "username": p.username,
                "email": f"{p.username}@{DEMO_DOMAIN}",
                "display_name": p.name,
                "name_key": search_key(p.name),
                "password_hash": password_hash,
                "active": True,
                "language": p.language,
                "timezone": "Europe/Kyiv",
                "created_at": now,
            }
            for p in org.people
        ),
        returning_ids=True,
    )
    for person, user_id in zip(org.people, ids, strict=True):
        person.id = user_id
    by_key = {p.key: p for p in org.people}

    existing = dict(session.execute(select(Team.name, Team.id)).all())
    team_ids: dict[str, int] = {}
    for name, is_queue in org.teams:
        if name in existing:  # a team an admin already made (say, the inbound queue) gets the demo people
            team_ids[name] = existing[name]
            continue
        team = Team(name=name, is_queue=is_queue)
        session.add(team)
        session.flush()
        team_ids[name] = team.id

    ctx.bulk_insert(UserRole.__table__, ({"user_id": p.id, "role_id": roles[r]} for p in org.people for r in p.roles))
    members = {(p.key, p.team) for p in org.people if p.team} | set(org.extra_members)
    ctx.bulk_insert(
        TeamMember.__table__,
        ({"team_id": team_ids[team], "user_id": by_key[key].id} for key, team in sorted(members)),
    )
    ctx.bulk_insert(
        ManagerLink.__table__,
        (
            {
                "user_id": by_key[link.user].id,
                "manager_id": by_key[link.manager].id,
                "valid_from": link.valid_from,
                "valid_to": link.valid_to,
            }
            for link in org.links
        ),
    )
    bump(session, "security")
    session.flush()

    current_managers = {by_key[link.manager].id for link in org.links if link.valid_to is None}
    ctx.ids["core.users"] = [p.id for p in org.people]
    ctx.ids["core.teams"] = list(team_ids.values())
    ctx.ids["core.queues"] = [team_ids[name] for name, is_queue in org.teams if is_queue]
    ctx.ids["core.managers"] = sorted(current_managers)
    ctx.ids["core.sales"] = [p.id for p in org.people if "sales" in p.roles]
    ctx.ids["core.operators"] = [p.id for p in org.people if "operator" in p.roles]
    return SeedSummary(
        users=len(org.people),
        teams=len(team_ids),
        links=len(org.links),
        founded=founded,
        reorganised=reorganised,
        director=by_key["director"].username,
    )


def build_org(ctx: SeedContext, founded: dt.date, reorganised: dt.date) -> Org:
    """The organisation for ``ctx.scale`` (people, teams, dated links), before anything is written."""
    org = _base_org(founded, reorganised)
    for branch in range(1, min(max(ctx.scale, 1), MAX_BRANCHES + 1)):
        _add_branch(org, branch, ctx, founded, reorganised)
    return org


def _base_org(founded: dt.date, reorganised: dt.date) -> Org:
    """Scale 1: fifteen people written by hand so the demo reads like a real company."""
    P = Person
    people = [
        P("director", "Олена Коваленко", "uk", ("manager",)),
        P("crm_admin", "Віра Марченко", "uk", ("admin",)),
        P("kyiv_head", "Андрій Мельник", "uk", ("manager",), KYIV_TEAM),
        P("kyiv_lead", "Ірина Бондаренко", "uk", ("manager",), KYIV_TEAM),
        P("kyiv_rep1", "Дмитро Ткаченко", "uk", ("sales",), KYIV_TEAM),
        P("kyiv_rep2", "Наталія Кравченко", "uk", ("sales",), KYIV_TEAM),
        P("kyiv_rep3", "Сергій Олійник", "uk", ("sales",), KYIV_TEAM),
        P("lviv_head", "Taras Shevchuk", "en", ("manager",), LVIV_TEAM),
        P("lviv_rep1", "Emma Wilson", "en", ("sales",), LVIV_TEAM),
        P("lviv_rep2", "Юлія Лисенко", "uk", ("sales",), LVIV_TEAM),
        P("lviv_rep3", "James Carter", "en", ("sales",), LVIV_TEAM),
        P("inbound_head", "Oksana Kravets", "en", ("manager", "operator"), INBOUND_QUEUE),
        P("operator1", "Максим Савченко", "uk", ("operator",), INBOUND_QUEUE),
        P("operator2", "Mariia Bondar", "en", ("operator",), INBOUND_QUEUE),
        P("operator3", "Oliver Brown", "en", ("operator",), INBOUND_QUEUE),
    ]
    L = Link
    links = [
        L("kyiv_head", "director", founded),
        L("kyiv_lead", "kyiv_head", founded),
        L("kyiv_rep1", "kyiv_lead", founded),
        L("kyiv_rep2", "kyiv_lead", founded),
        L("kyiv_rep3", "kyiv_head", founded),
        # Before the re-organisation Lviv was a sub-branch of Kyiv; since then it reports to the director.
        L("lviv_head", "kyiv_head", founded, reorganised),
        L("lviv_head", "director", reorganised),
        L("lviv_rep1", "lviv_head", founded),
        L("lviv_rep2", "lviv_head", founded),
        # James Carter sold from Kyiv until the re-organisation moved him to Lviv.
        L("lviv_rep3", "kyiv_lead", founded, reorganised),
        L("lviv_rep3", "lviv_head", reorganised),
        L("inbound_head", "director", founded),
        L("operator1", "inbound_head", founded),
        L("operator2", "inbound_head", founded),
        L("operator3", "inbound_head", founded),
    ]
    teams = [(KYIV_TEAM, False), (LVIV_TEAM, False), (INBOUND_QUEUE, True)]
    return Org(people, teams, links, extra_members=[("kyiv_head", INBOUND_QUEUE)])


CITIES = [
    ("Одеса", "uk", "south"), ("Kharkiv", "en", "east"), ("Дніпро", "uk", "east"),
    ("Zaporizhzhia", "en", "south"), ("Вінниця", "uk", "centre"), ("Poltava", "en", "east"),
    ("Чернігів", "uk", "centre"), ("Ivano-Frankivsk", "en", "west"), ("Черкаси", "uk", "centre"),
    ("Uzhhorod", "en", "west"), ("Житомир", "uk", "centre"), ("Rivne", "en", "west"),
]  # fmt: skip
"""The generated branches in the order scale adds them: (city, language of its people, region). The four
regions (south, east, centre and north, west) each get a regional head with their first branch."""
MAX_BRANCHES = len(CITIES)
MOVED_AT_REORG = {"Poltava": "centre"}
"""Branches that reported to another region until the re-organisation."""

UK_MALE = [
    "Олександр", "Андрій", "Богдан", "Василь", "Віктор", "Григорій", "Дмитро", "Євген", "Іван", "Максим",
    "Микола", "Олег", "Остап", "Павло", "Роман", "Сергій", "Тарас", "Юрій", "Ярослав", "Назар",
]  # fmt: skip
UK_FEMALE = [
    "Анна", "Валентина", "Вікторія", "Галина", "Дарина", "Євгенія", "Ірина", "Катерина", "Леся", "Людмила",
    "Марія", "Надія", "Наталія", "Оксана", "Олена", "Ольга", "Світлана", "Соломія", "Тетяна", "Юлія",
]  # fmt: skip
UK_SURNAMES = [
    "Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Шевчук", "Поліщук", "Лисенко",
    "Мельник", "Савченко", "Руденко", "Марченко", "Петренко", "Клименко", "Гончаренко", "Мороз", "Кравець",
    "Литвиненко", "Павленко", "Захарченко", "Кузьменко", "Бойко", "Ковальчук", "Романюк", "Мазур", "Гнатюк",
]  # fmt: skip
EN_FIRST = [
    "Emma", "Olivia", "Amelia", "Isla", "Ava", "Sophie", "Grace", "Lily", "Chloe", "Ella",
    "James", "Oliver", "Jack", "Harry", "George", "Noah", "Charlie", "Thomas", "William", "Daniel",
]  # fmt: skip
EN_LAST = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
]  # fmt: skip

BRANCH_REPS = 11
BRANCH_OPERATORS = 2


def _add_branch(org: Org, branch: int, ctx: SeedContext, founded: dt.date, reorganised: dt.date) -> None:
    """One more city branch of 15: a head, a team lead, 11 sales people (10 and the regional head in the
    first branch of a region), two operators for the queues."""
    city, language, region = CITIES[branch - 1]
    team = f"{city} — продажі" if language == "uk" else f"{city} Sales"
    org.teams.append((team, False))
    if branch == 1:
        org.teams.append((RENEWALS_QUEUE, True))
        org.extra_members.append(("inbound_head", RENEWALS_QUEUE))
    prefix = f"b{branch}"
    known = {p.key for p in org.people}

    def person(key: str, roles: tuple[str, ...], team_name: str | None) -> str:
        name, lang = _random_name(ctx, language)
        org.people.append(Person(key, name, lang, roles, team_name))
        return key

    region_head = f"region_{region}"
    reps = BRANCH_REPS
    if region_head in known:
        org.extra_members.append((region_head, team))
    else:
        person(region_head, ("manager",), team)
        org.links.append(Link(region_head, "director", founded))
        reps -= 1
    head = person(f"{prefix}_head", ("manager",), team)
    lead = person(f"{prefix}_lead", ("manager",), team)
    earlier_region = f"region_{MOVED_AT_REORG.get(city, '')}"
    if earlier_region in known:
        org.links.append(Link(head, earlier_region, founded, reorganised))
        org.links.append(Link(head, region_head, reorganised))
    else:
        org.links.append(Link(head, region_head, founded))
    org.links.append(Link(lead, head, founded))
    for n in range(reps):
        rep = person(f"{prefix}_rep{n}", ("sales",), team)
        if n == 0:  # one sales person per branch changed manager at the re-organisation
            org.links.append(Link(rep, head, founded, reorganised))
            org.links.append(Link(rep, lead, reorganised))
        else:
            org.links.append(Link(rep, lead if n % 3 else head, founded))
    for n, queue in enumerate((INBOUND_QUEUE, RENEWALS_QUEUE)[:BRANCH_OPERATORS]):
        operator = person(f"{prefix}_op{n}", ("operator",), queue)
        org.links.append(Link(operator, "inbound_head", founded))


def _random_name(ctx: SeedContext, branch_language: str) -> tuple[str, str]:
    """A realistic name: Ukrainian in Cyrillic, Ukrainian in Latin letters, or English."""
    roll = ctx.rng.random()
    if (branch_language == "en" and roll < 0.35) or roll < 0.12:
        return f"{ctx.rng.choice(EN_FIRST)} {ctx.rng.choice(EN_LAST)}", "en"
    first = ctx.rng.choice(UK_MALE if ctx.rng.random() < 0.5 else UK_FEMALE)
    name = f"{first} {ctx.rng.choice(UK_SURNAMES)}"
    if ctx.rng.random() < 0.25:
        return search_key(name).title(), "en"
    return name, "uk"


def _unique_username(name: str, taken: set[str]) -> str:
    base = search_key(name).replace(" ", ".").replace("-", ".") or "user"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}{n}"
    taken.add(candidate)
    return candidate
