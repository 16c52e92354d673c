"""Demo and benchmark data for contacts: people and organisations with their contact points and addresses,
holdings, employment, family and influence relationships, and two years of activities.

How many (:meth:`Plan.for_scale`): 1,500 parties at scale 1 (about 250 for each of the six demo sales people),
then 1,000 per step, so ``voronka demo --scale 1000`` makes a million parties with about two million
relationships and ten million activities, as the issue's targets ask. A quarter of the parties are
organisations. In the deployment's language first (80 % Ukrainian for ``uk``, 45 % otherwise), the rest
British and American.

What the rows look like:

- **Owners** are the seeded sales people (``ctx.ids["core.sales"]``); 3 % of parties belong to a queue (a
  team). People working at an organisation usually share its owner, as an account team would, and a
  household has one owner.
- **Organisations**: "ТОВ «Поділля Агро»", "Northwind Logistics Ltd", a "ФОП" named after its owner, with
  legal name, register number (ЄДРПОУ, Companies House, EIN), industry, office phone, info@ e-mail, web site
  and a postal address. About one in eight belongs to a holding two or three levels deep whose members
  share the brand.
- **People**: Ukrainian names with patronymics and gendered surnames (4 % typed in Latin letters),
  English names; households of couples and grown-up children (who carry the father's patronymic); a job
  title at their employer, a work e-mail at its domain, a mobile in E.164; birthdays for a third.
- **Relationships**: employment (current and past), subsidiary → parent, decision makers, influencers and
  champions by job title, spouses, parents and children, suppliers and partners, then colleagues, friends
  and acquaintances up to the planned count.
  Type ids come from ``contacts_relationship_type`` by key; a kind whose type is missing is skipped and
  logged (:mod:`.seed_links`).
- **Activities** (:mod:`.seed_timeline`): notes, calls, meetings and tasks over the last two years, a few
  planned ahead, a tenth with participants; every sales person has open tasks due in the coming days.

Every choice comes from ``ctx.rng`` in a fixed order (the same seed gives the same data), rows go through
``ctx.bulk_insert`` only, and search keys are the ones :func:`.parties.keys_for` and
:func:`.city_keys.city_key` compute. ``ctx.ids`` gets ``contacts.organisations`` and ``contacts.people`` for
the plugins seeded after contacts.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from voronka.core.search_keys import search_key
from voronka.core.seeding import SeedContext
from voronka.core.types import utcnow

from . import seed_companies as co
from . import seed_links, seed_timeline
from . import seed_names as nm
from . import seed_places as pl
from .city_keys import city_key
from .models import ORGANISATION, PERSON, Address, ContactPoint, Party
from .parties import organisation_keys, person_name

log = logging.getLogger(__name__)

COUNTRIES = ("UA", "GB", "US")
CITIES: tuple[pl.City, ...] = (*pl.UA, *pl.GB, *pl.US)
CITY_INDEX = {id(city): n for n, city in enumerate(CITIES)}
CITY_KEYS = {city.name: city_key(city.name) for city in CITIES}
PICK = {"UA": pl.picker(pl.UA), "GB": pl.picker(pl.GB), "US": pl.picker(pl.US)}
DAY = 86_400.0
CONSENT_SOURCES = {"uk": ("Вебформа", "Виставка", "Договір", "Телефонна розмова"),
                   "en": ("Web form", "Trade show", "Contract", "Phone call")}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How much to make. ``relationships`` is a target the fill-up ties reach (the structural ones come
    first); ``participants`` is the share of activities with participants."""

    parties: int
    relationships: int
    activities: int
    participants: float = 0.1
    organisations: float = 0.25

    @classmethod
    def for_scale(cls, scale: int) -> Plan:
        """1,500 parties at scale 1, 1,000 per step above: scale 1000 gives 1,000,000 parties, 2,000,000
        relationships and 10,000,000 activities."""
        parties = 1500 if scale <= 1 else 1000 * scale
        return cls(parties, 2 * parties, 10 * parties)


def seed(ctx: SeedContext) -> dict[str, int]:
    return seed_plan(ctx, Plan.for_scale(ctx.scale))


def seed_plan(ctx: SeedContext, plan: Plan) -> dict[str, int]:
    """Seed ``plan``'s rows; the count of each kind of row written."""
    owners = list(ctx.ids.get("core.sales") or ctx.ids.get("core.users") or [])
    if not owners:
        first = ctx.session.scalar(select(func.min(_user_table().c.id)))
        owners = [first] if first is not None else []
    if not owners or plan.parties < 2:
        return {}
    book = Book(ctx, plan, owners, list(ctx.ids.get("core.queues") or []))
    ids = ctx.bulk_insert(Party.__table__, book.parties(), returning_ids=True)
    book.ids = ids
    ctx.ids["contacts.organisations"] = ids[: book.n_orgs]
    ctx.ids["contacts.people"] = ids[book.n_orgs :]
    counts = {"parties": len(ids), "organisations": book.n_orgs, "people": len(ids) - book.n_orgs}
    counts["points"] = ctx.bulk_insert(ContactPoint.__table__, book.points())
    counts["addresses"] = ctx.bulk_insert(Address.__table__, book.addresses())
    counts["relationships"] = seed_links.seed_relationships(ctx, book, plan.relationships)
    counts.update(seed_timeline.seed_activities(ctx, book, plan))
    log.info("contacts seeded %s", counts)
    return counts


def _user_table() -> Any:
    from voronka.core.models import User

    return User.__table__


class Book:
    """The parties being made, kept compactly (arrays, by position: organisations first, then people), so
    relationships, contact points and activities can refer to them after the parties are inserted."""

    def __init__(self, ctx: SeedContext, plan: Plan, owners: list[int], queues: list[int]):
        self.rng = ctx.rng
        self.now = utcnow().replace(microsecond=0)
        self.today = self.now.date()
        self.owners, self.queues = owners, queues
        self.uk_share = 0.8 if ctx.language == "uk" else 0.45
        self.n_orgs = max(1, round(plan.parties * plan.organisations))
        self.n_parties = plan.parties
        self.ids: list[int] = []
        n = plan.parties
        self.owner = array("i", bytes(4 * n))  # user id, 0 when a queue owns it
        self.team = array("i", bytes(4 * n))
        self.uk = bytearray(n)
        self.city = array("H", bytes(2 * n))
        self.email: list[str] = [""] * n
        self.phone: list[str] = [""] * n
        self.phone_shown: list[str] = [""] * n
        self.handle: list[str] = [""] * n
        self.created = array("d", bytes(8 * n))
        # organisations
        self.domain: list[str] = [""] * self.n_orgs
        self.parent = array("i", [-1]) * self.n_orgs
        self.first_employee = array("i", [-1]) * self.n_orgs
        # people (by party position; -1 / 0 for organisations)
        self.employer = array("i", [-1]) * n
        self.level = bytearray(n)
        self.family: list[tuple[str, int, int]] = []
        """("spouse" | "parent_child", a, b): a couple, or a parent and a grown-up child."""

    # -- parties ---------------------------------------------------------------------------------------

    def parties(self) -> Iterator[dict[str, Any]]:
        yield from self._organisations()
        yield from self._people()

    def _pick_owner(self, at: int) -> None:
        rng = self.rng
        if self.queues and rng.random() < 0.03:
            self.team[at] = self.queues[int(rng.random() * len(self.queues))]
        else:
            self.owner[at] = self.owners[int(rng.random() * len(self.owners))]

    def _country(self, uk: bool) -> str:
        return "UA" if uk else ("GB" if self.rng.random() < 0.6 else "US")

    def _created(self, at: int) -> dt.datetime:
        ago = self.rng.random() * 3 * 365 * DAY
        self.created[at] = ago
        return self.now - dt.timedelta(seconds=ago)

    def _base(self, at: int, kind: str, name: str, city: pl.City) -> dict[str, Any]:
        rng = self.rng
        created = self._created(at)
        consent = rng.random() < 0.35
        lang = "uk" if self.uk[at] else "en"
        return {
            "kind": kind, "name": name, "name_key": "", "alt_key": "", "first_name": "", "middle_name": "",
            "last_name": "", "job_title": "", "birthday": None, "legal_name": "", "registration_no": "",
            "industry": "", "description": "", "primary_email": self.email[at], "primary_phone": self.phone[at],
            "city": city.name, "city_key": CITY_KEYS[city.name], "country": city.country,
            "do_not_contact": rng.random() < 0.02,
            "marketing_consent": consent, "consent_at": created if consent else None,
            "consent_source": CONSENT_SOURCES[lang][int(rng.random() * 4)] if consent else "",
            "created_at": created, "updated_at": created, "owner_user_id": self.owner[at] or None,
            "owner_team_id": self.team[at] or None, "version": 1,
        }  # fmt: skip

    def _organisations(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        at = 0
        while at < self.n_orgs:
            if rng.random() < 0.04 and self.n_orgs - at >= 3:
                yield from self._holding(at)
                at = self._holding_end
            else:
                yield self._organisation(at, rng.random() < self.uk_share)
                at += 1

    def _holding(self, root: int) -> Iterator[dict[str, Any]]:
        """A holding: a parent company, 2–4 subsidiaries, some of them with 1–2 of their own."""
        rng = self.rng
        uk = rng.random() < self.uk_share
        brands = co.UK_BRANDS if uk else co.EN_BRANDS
        brand = brands[int(rng.random() * len(brands))]
        yield self._organisation(root, uk, brand=brand, holding=True)
        at, level2 = root + 1, []
        for _ in range(2 + int(rng.random() * 3)):
            if at >= self.n_orgs:
                break
            self.parent[at] = root
            level2.append(at)
            yield self._organisation(at, uk, brand=brand, owner_of=root)
            at += 1
        for middle in level2:
            if rng.random() < 0.5:
                for _ in range(1 + int(rng.random() * 2)):
                    if at >= self.n_orgs:
                        break
                    self.parent[at] = middle
                    yield self._organisation(at, uk, brand=brand, owner_of=root)
                    at += 1
        self._holding_end = at

    def _organisation(
        self, at: int, uk: bool, brand: str = "", holding: bool = False, owner_of: int = -1
    ) -> dict[str, Any]:
        rng = self.rng
        self.uk[at] = uk
        if owner_of >= 0:
            self.owner[at], self.team[at] = self.owner[owner_of], self.team[owner_of]
        else:
            self._pick_owner(at)
        country = self._country(uk)
        city = PICK[country](rng)
        self.city[at] = CITY_INDEX[id(city)]
        legal_name = ""
        if uk:
            line, industry = co.UK_LINES[int(rng.random() * len(co.UK_LINES))]
            brand = brand or co.UK_BRANDS[int(rng.random() * len(co.UK_BRANDS))]
            if holding:
                word = co.UK_HOLDING_WORDS[int(rng.random() * len(co.UK_HOLDING_WORDS))]
                name = f"{word} «{brand}»"
                legal_name = f"Приватне акціонерне товариство «{word} {brand}»"
                industry, stem = "Холдингова діяльність", brand
            else:
                short, full = co.uk_form(rng) if owner_of < 0 else ("ТОВ", "Товариство з обмеженою відповідальністю")
                if short == "ФОП":
                    first, patronymic, last = self._uk_male_name()
                    name = f"ФОП {last} {first} {patronymic}"
                    legal_name = f"{full} {last} {first} {patronymic}"
                    stem = f"{nm.latin(last)} {nm.latin(first)}"
                else:
                    style = rng.random() * (0.85 if owner_of >= 0 else 1.0)  # a holding keeps its brand
                    if style < 0.5:
                        quoted = f"{brand} {line}"
                    elif style < 0.7:
                        quoted = brand + line.lower()
                    elif style < 0.85:
                        quoted = f"{brand}-{line}"
                    else:
                        quoted = f"{city.name} {line}" if city.country == "UA" else f"{brand} {line}"
                    name, legal_name, stem = f"{short} «{quoted}»", f"{full} «{quoted}»", quoted
            tld = co.UA_TLDS[int(rng.random() * len(co.UA_TLDS))] if country == "UA" else "com"
        else:
            line, industry = co.EN_LINES[int(rng.random() * len(co.EN_LINES))]
            brand = brand or co.EN_BRANDS[int(rng.random() * len(co.EN_BRANDS))]
            forms = co.EN_FORMS[country]
            if holding:
                word = co.EN_HOLDING_WORDS[int(rng.random() * 2)]
                stem, industry = f"{brand} {word}", "Holding company"
                name = f"{stem} {'PLC' if country == 'GB' else 'Inc.'}"
            else:
                stem = f"{brand} {line}"
                name = f"{stem} {forms[int(rng.random() * len(forms))]}"
            legal_name = name
            tld = "co.uk" if country == "GB" else "com"
        domain = f"{co.slug(stem)}.{tld}"
        self.domain[at] = domain
        self.email[at] = f"{('info', 'office', 'sales', 'hello')[int(rng.random() * 4)]}@{domain}"
        self.phone[at], self.phone_shown[at] = pl.landline(city, rng)
        row = self._base(at, ORGANISATION, name, city)
        row["name_key"], row["alt_key"] = _organisation_keys(name)
        row["legal_name"], row["industry"] = legal_name, industry
        row["registration_no"] = co.registration(country, rng)
        return row

    def _uk_male_name(self) -> tuple[str, str, str]:
        rng = self.rng
        first = nm.UK_MALE[int(rng.random() * len(nm.UK_MALE))][0]
        father = nm.UK_MALE[int(rng.random() * len(nm.UK_MALE))]
        return first, father[1], self._uk_surname(True)

    def _uk_surname(self, male: bool) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            pair = nm.UK_SURNAMES_GENDERED[int(rng.random() * len(nm.UK_SURNAMES_GENDERED))]
            return pair[0] if male else pair[1]
        return nm.UK_SURNAMES[int(rng.random() * len(nm.UK_SURNAMES))]

    def _people(self) -> Iterator[dict[str, Any]]:
        """People in households: mostly on their own, some couples, some couples with a grown-up child."""
        rng = self.rng
        at, end = self.n_orgs, self.n_parties
        while at < end:
            unit = rng.random()
            size = 3 if unit < 0.04 else 2 if unit < 0.14 else 1
            size = min(size, end - at)
            uk = rng.random() < self.uk_share
            if size == 1:
                yield self._person(at, uk, male=rng.random() < 0.5)
                at += 1
                continue
            surname = self._household_surname(uk)
            father_name = (nm.UK_MALE[int(rng.random() * len(nm.UK_MALE))] if uk else
                           (nm.EN_MALE[int(rng.random() * len(nm.EN_MALE))], "", ""))  # fmt: skip
            born = self.today.year - 40 - int(rng.random() * 25)
            yield self._person(at, uk, male=True, surname=surname, first=father_name[0], born=born)
            wife_born = born + int(rng.random() * 5) - 2
            yield self._person(at + 1, uk, male=False, surname=surname, born=wife_born, household=at)
            self.family.append(("spouse", at, at + 1))
            if size == 3:
                male = rng.random() < 0.5
                child_born = born + 22 + int(rng.random() * 8)
                patronymic = father_name[1 if male else 2]
                yield self._person(at + 2, uk, male=male, surname=surname, patronymic=patronymic, born=child_born,
                                   household=at)  # fmt: skip
                self.family.append(("parent_child", at, at + 2))
                self.family.append(("parent_child", at + 1, at + 2))
            at += size

    def _household_surname(self, uk: bool) -> tuple[str, str]:
        rng = self.rng
        if not uk:
            name = nm.EN_SURNAMES[int(rng.random() * len(nm.EN_SURNAMES))]
            return name, name
        if rng.random() < 0.2:
            return nm.UK_SURNAMES_GENDERED[int(rng.random() * len(nm.UK_SURNAMES_GENDERED))]
        name = nm.UK_SURNAMES[int(rng.random() * len(nm.UK_SURNAMES))]
        return name, name

    def _person(
        self,
        at: int,
        uk: bool,
        male: bool,
        surname: tuple[str, str] | None = None,
        first: str = "",
        patronymic: str = "",
        born: int = 0,
        household: int = -1,
    ) -> dict[str, Any]:
        rng = self.rng
        self.uk[at] = uk
        if uk:
            first = first or (nm.UK_MALE[int(rng.random() * len(nm.UK_MALE))][0] if male
                              else nm.UK_FEMALE[int(rng.random() * len(nm.UK_FEMALE))])  # fmt: skip
            if not patronymic:
                father = nm.UK_MALE[int(rng.random() * len(nm.UK_MALE))]
                patronymic = father[1] if male else father[2]
            last = (surname[0] if male else surname[1]) if surname else self._uk_surname(male)
            middle = patronymic if rng.random() < 0.6 else ""
            if rng.random() < 0.04:  # someone typed the name in Latin letters
                first, last, middle = nm.latin(first), nm.latin(last), ""
            latin_first, latin_last = nm.latin(first), nm.latin(last)
        else:
            first = first or (nm.EN_MALE[int(rng.random() * len(nm.EN_MALE))] if male
                              else nm.EN_FEMALE[int(rng.random() * len(nm.EN_FEMALE))])  # fmt: skip
            last = surname[0] if surname else nm.EN_SURNAMES[int(rng.random() * len(nm.EN_SURNAMES))]
            middle = ""
            latin_first, latin_last = first, last
        employer = int(rng.random() * self.n_orgs) if rng.random() < 0.85 else -1
        if employer >= 0 and self.uk[employer] != uk and rng.random() < 0.8:
            employer = -1 if rng.random() < 0.5 else employer  # mostly people work where their language is spoken
        self.employer[at] = employer
        if household >= 0:  # whoever knows the family knows all of it
            self.owner[at], self.team[at] = self.owner[household], self.team[household]
        elif employer >= 0 and rng.random() < 0.9:
            self.owner[at], self.team[at] = self.owner[employer], self.team[employer]
        else:
            self._pick_owner(at)
        near_work = employer >= 0 and rng.random() < 0.85
        city = CITIES[self.city[employer]] if near_work else PICK[self._country(uk)](rng)
        self.city[at] = CITY_INDEX[id(city)]
        local = f"{_mailbox(latin_first)}.{_mailbox(latin_last)}"
        personal = (pl.UA_PERSONAL if city.country == "UA" else pl.GB_PERSONAL if city.country == "GB"
                    else pl.US_PERSONAL)  # fmt: skip
        if employer >= 0:
            self.email[at] = f"{local}@{self.domain[employer]}"
            if self.first_employee[employer] < 0:
                self.first_employee[employer] = at
        elif rng.random() < 0.85:
            self.email[at] = f"{local}{int(rng.random() * 100)}@{personal[int(rng.random() * len(personal))]}"
        self.phone[at], self.phone_shown[at] = pl.mobile(city.country, rng)
        if rng.random() < 0.15:
            self.handle[at] = f"@{local.replace('.', '_')}"
        name = person_name(first, middle, last)
        row = self._base(at, PERSON, name, city)
        row["first_name"], row["middle_name"], row["last_name"] = first, middle, last
        last_key, first_key, middle_key = _key(last), _key(first), _key(middle)
        row["name_key"] = " ".join(k for k in (last_key, first_key, middle_key) if k)
        row["alt_key"] = " ".join(k for k in (first_key, middle_key, last_key) if k)
        if employer >= 0:
            titles = nm.UK_TITLES if uk else nm.EN_TITLES
            title, level = titles[int(rng.random() * len(titles))]
            row["job_title"], self.level[at] = title, level
        if born or rng.random() < 0.33:
            year = born or self.today.year - 22 - int(rng.random() * 45)
            row["birthday"] = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.random() * 365))
        return row

    # -- contact points and addresses ---------------------------------------------------------------------

    def points(self) -> Iterator[dict[str, Any]]:
        """Primary e-mail and phone of every party (as on the party row), and some second ones: a personal
        e-mail, an office line, a web site, a Telegram handle."""
        rng, ids = self.rng, self.ids
        for at, party_id in enumerate(ids):
            org = at < self.n_orgs
            email = self.email[at]
            if email:
                yield _point(party_id, "email", "work" if org or self.employer[at] >= 0 else "home", email, True, 0)
                if not org and self.employer[at] >= 0 and rng.random() < 0.25:
                    first = email.partition("@")[0]
                    other = f"{first}{int(rng.random() * 90) + 10}@gmail.com"
                    yield _point(party_id, "email", "home", other, False, 1)
            if self.phone[at]:
                yield _point(party_id, "phone", "work" if org else "mobile", self.phone_shown[at], True, 0,
                             key=self.phone[at])  # fmt: skip
                if not org and self.employer[at] >= 0 and rng.random() < 0.3:
                    key, shown = pl.landline(CITIES[self.city[at]], rng)
                    yield _point(party_id, "phone", "work", shown, False, 1, key=key)
            if org and rng.random() < 0.75:
                site = f"https://www.{self.domain[at]}"
                yield _point(party_id, "web", "site", site, True, 0, key=f"www.{self.domain[at]}")
            if self.handle[at]:
                yield _point(party_id, "messenger", "telegram", self.handle[at], True, 0, key=self.handle[at].lower())

    def addresses(self) -> Iterator[dict[str, Any]]:
        """An office address for every organisation (a second, delivery one for some), a home address for
        a third of the people."""
        rng, ids = self.rng, self.ids
        for at, party_id in enumerate(ids):
            org = at < self.n_orgs
            if not org and rng.random() >= 0.3:
                continue
            city = CITIES[self.city[at]]
            yield _address(party_id, "work" if org else "home", city, rng, 0)
            if org and rng.random() < 0.15:
                yield _address(party_id, "delivery", PICK[city.country](rng), rng, 1)


@functools.lru_cache(maxsize=4096)
def _key(word: str) -> str:
    """The search key of one word of a name; a person's keys are the words' keys joined, which is what
    :func:`.parties.keys_for` gives for the whole name, at a fraction of the cost."""
    return search_key(word)


@functools.lru_cache(maxsize=1 << 17)
def _organisation_keys(name: str) -> tuple[str, str]:
    return organisation_keys(name)


@functools.lru_cache(maxsize=4096)
def _mailbox(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isascii() and (ch.isalnum() or ch == "-")) or "mail"


def _point(
    party_id: int, channel: str, label: str, value: str, primary: bool, position: int, key: str = ""
) -> dict[str, Any]:
    return {
        "party_id": party_id, "channel": channel, "label": label, "value": value,
        "value_key": key or value.lower(), "is_primary": primary, "position": position,
    }  # fmt: skip


def _address(party_id: int, label: str, city: pl.City, rng: Any, position: int) -> dict[str, Any]:
    return {
        "party_id": party_id, "label": label, "street": pl.street_address(city, rng), "city": city.name,
        "city_key": CITY_KEYS[city.name], "region": city.region, "postcode": pl.postcode(city, rng),
        "country": city.country, "is_primary": position == 0, "position": position,
    }  # fmt: skip


__all__ = ["Book", "Plan", "seed", "seed_plan"]
