"""What the demo's leads look like: campaigns with costs and tracking codes, and leads over the last twelve
months — seasonal (busy in spring and autumn, quiet in summer and over the new-year holidays), in working
hours, with UTM parameters, consent, owners or the inbound queue, and statuses that depend on the channel
(referrals qualify best, cold e-mail worst) and on age (recent leads are still open). Pure data: the
caller inserts the rows. Deterministic for a given random generator."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from voronka.core.search_keys import search_key
from voronka.plugins.contacts.api import organisation_key

from .channels import API, CAMPAIGN, EMAIL, IMPORT, MANUAL, PHONE, REFERRAL, WEB_FORM
from .models import DISQUALIFY_REASONS

DAYS = 365
RECENT = 14
"""Leads younger than this many days are mostly still open."""
MONTH_WEIGHT = (0.8, 1.0, 1.25, 1.3, 1.15, 0.75, 0.6, 0.65, 1.2, 1.35, 1.3, 0.7)
"""Leads per month, January to December (relative)."""
CHANNELS: tuple[tuple[str, float, float], ...] = (
    # channel, share of leads, chance an old lead was qualified
    (WEB_FORM, 0.30, 0.24), (PHONE, 0.18, 0.34), (EMAIL, 0.10, 0.14), (CAMPAIGN, 0.22, 0.2),
    (REFERRAL, 0.07, 0.46), (IMPORT, 0.05, 0.08), (API, 0.04, 0.22), (MANUAL, 0.04, 0.3),
)  # fmt: skip
REASONS = dict(zip(DISQUALIFY_REASONS, (0.35, 0.3, 0.25, 0.1), strict=True))
UTM_SOURCES = {WEB_FORM: (("google", "cpc"), ("facebook", "social"), ("linkedin", "social"), ("", "")),
               CAMPAIGN: (("google", "cpc"), ("facebook", "paid_social"), ("newsletter", "email")),
               EMAIL: (("newsletter", "email"), ("", ""))}  # fmt: skip


@dataclass(frozen=True)
class CampaignPlan:
    code: str
    name: dict[str, str]
    channel: str
    cost_minor: int
    currency: str
    """"" = the base currency."""
    starts: int
    """Days before today."""
    ends: int | None
    """Days before today (None: still running)."""


CAMPAIGNS = (
    CampaignPlan("crm-ads", {"en": "Search ads: CRM for distributors", "uk": "Пошукова реклама: CRM для дистрибуторів"},
                 WEB_FORM, 180_000_00, "", 360, None),
    CampaignPlan("spring-webinar",
                 {"en": "Spring webinar: sales analytics", "uk": "Весняний вебінар: аналітика продажів"},
                 CAMPAIGN, 45_000_00, "", 250, 215),
    CampaignPlan("kyiv-expo", {"en": "Kyiv Expo trade fair", "uk": "Виставка «Київ Експо»"},
                 CAMPAIGN, 2_800_00, "EUR", 75, 68),
    CampaignPlan("social-leads", {"en": "Social lead ads", "uk": "Реклама в соцмережах"},
                 WEB_FORM, 60_000_00, "", 200, 20),
    CampaignPlan("autumn-mailing", {"en": "Autumn newsletter", "uk": "Осіння розсилка"},
                 EMAIL, 8_000_00, "", 90, 60),
    CampaignPlan("partners", {"en": "Partner referral programme", "uk": "Партнерська програма"},
                 REFERRAL, 30_000_00, "", 300, None),
)  # fmt: skip

FIRST = {"en": ("Olena", "Andrii", "Iryna", "Dmytro", "Natalia", "Serhii", "Yulia", "Oleksandr", "Kateryna",
                "Taras", "Mariia", "Bohdan", "Oksana", "Viktor", "Sofiia", "Ihor"),
         "uk": ("Олена", "Андрій", "Ірина", "Дмитро", "Наталія", "Сергій", "Юлія", "Олександр", "Катерина",
                "Тарас", "Марія", "Богдан", "Оксана", "Віктор", "Софія", "Ігор")}  # fmt: skip
LAST = {"en": ("Koval", "Shevchenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Boiko", "Moroz",
               "Lysenko", "Rudenko", "Savchenko", "Petrenko"),
        "uk": ("Коваль", "Шевченко", "Бондаренко", "Ткаченко", "Кравченко", "Мельник", "Бойко", "Мороз",
               "Лисенко", "Руденко", "Савченко", "Петренко")}  # fmt: skip
LATIN = dict(zip(LAST["uk"], LAST["en"], strict=True)) | dict(zip(FIRST["uk"], FIRST["en"], strict=True))
COMPANY = {"en": ("Agro", "Tech", "Trade", "Logistic", "Pharm", "Build", "Food", "Energy", "Metal", "Textile"),
           "uk": ("Агро", "Тех", "Трейд", "Логістик", "Фарм", "Буд", "Фуд", "Енерго", "Метал", "Текстиль")}  # fmt: skip
SUFFIX = {"en": ("Ltd", "LLC", "Group", "Plus"), "uk": ("ТОВ", "ПП", "Груп", "Плюс")}
CITIES = {"en": ("Kyiv", "Lviv", "Kharkiv", "Odesa", "Dnipro", "Vinnytsia", "Poltava"),
          "uk": ("Київ", "Львів", "Харків", "Одеса", "Дніпро", "Вінниця", "Полтава")}  # fmt: skip
TITLES = {"en": ("Sales director", "Owner", "Head of procurement", "IT manager", "Office manager", "CEO"),
          "uk": ("Комерційний директор", "Власник", "Керівник закупівель", "ІТ-менеджер", "Офіс-менеджер",
                 "Генеральний директор")}  # fmt: skip
MESSAGES = {"en": ("We need a CRM for a team of {n} sales people.", "Please call me back about prices.",
                   "Interested in the contact centre module.", "Can you import our customer base from Excel?",
                   "Looking for pipeline reporting for management.", ""),
            "uk": ("Потрібна CRM для команди з {n} продавців.", "Передзвоніть, будь ласка, щодо цін.",
                   "Цікавить модуль контакт-центру.", "Чи можна імпортувати нашу базу клієнтів з Excel?",
                   "Шукаємо звітність по воронці для керівництва.", "")}  # fmt: skip
CONSENT = {"en": "I agree to receive news and offers by e-mail.",
           "uk": "Погоджуюся отримувати новини та пропозиції електронною поштою."}  # fmt: skip


def campaign_rows(language: str, today: dt.date, now: dt.datetime, owner: int | None) -> list[dict[str, Any]]:
    lang = "uk" if language == "uk" else "en"
    rows = []
    for plan in CAMPAIGNS:
        name = plan.name[lang]
        starts = today - dt.timedelta(days=plan.starts)
        rows.append({"name": name, "name_key": search_key(name), "channel": plan.channel, "tracking_code": plan.code,
                     "starts_on": starts, "ends_on": today - dt.timedelta(days=plan.ends) if plan.ends else None,
                     "cost_minor": plan.cost_minor, "cost_currency": plan.currency, "description": "",
                     "active": plan.ends is None, "form_title": name, "allowed_origins": "https://example.com",
                     "thank_you_url": "", "created_at": dt.datetime.combine(starts, dt.time(9), tzinfo=dt.UTC),
                     "updated_at": now, "owner_user_id": owner, "owner_team_id": None})  # fmt: skip
    return rows


@dataclass
class Maker:
    """Makes lead rows; ``campaigns`` are (id, channel, first day, last day) of the inserted campaigns."""

    rng: random.Random
    language: str
    now: dt.datetime
    campaigns: list[tuple[int, str, str, dt.date, dt.date]]
    owners: list[int]
    queue: int | None

    @property
    def lang(self) -> str:
        return "uk" if self.language == "uk" else "en"

    def moment(self) -> dt.datetime:
        """A working-hours moment in the last year, more often in busy months."""
        rng = self.rng
        while True:
            days = rng.randrange(DAYS)
            moment = self.now - dt.timedelta(days=days)
            if moment.weekday() >= 5 and rng.random() < 0.7:
                continue
            if rng.random() * 1.35 <= MONTH_WEIGHT[moment.month - 1]:
                break
        at = moment.replace(hour=6 + int(rng.random() * 10), minute=rng.randrange(60), second=rng.randrange(60),
                            microsecond=0)  # fmt: skip
        return min(at, self.now - dt.timedelta(minutes=5))

    def channel(self, qualified: bool | None = None) -> str:
        weights = [share * (chance if qualified else 1) for _c, share, chance in CHANNELS]
        return self.rng.choices([c for c, _s, _q in CHANNELS], weights)[0]

    def campaign_for(self, channel: str, day: dt.date) -> tuple[int, str] | None:
        """A campaign running on ``day`` (for campaign and web-form leads, and some e-mail and referrals)."""
        running = [(cid, code) for cid, ch, code, first, last in self.campaigns
                   if first <= day <= last and ch == channel]  # fmt: skip
        if not running or (channel != CAMPAIGN and self.rng.random() < 0.45):
            return None
        return self.rng.choice(running)

    def status(self, channel: str, created: dt.datetime) -> tuple[str, str]:
        """(status, disqualify reason) of a lead that was not qualified."""
        rng = self.rng
        age = (self.now - created).days
        if age < RECENT:
            roll = rng.random()
            return ("new", "") if roll < 0.45 else ("contacted", "") if roll < 0.85 else self.disqualified()
        return self.disqualified() if rng.random() < 0.82 else ("contacted", "")

    def disqualified(self) -> tuple[str, str]:
        return "disqualified", self.rng.choices(list(REASONS), list(REASONS.values()))[0]

    def company(self) -> str:
        rng, lang = self.rng, self.lang
        first, second = rng.sample(COMPANY[lang], 2)
        return f"{first}{second.lower()} {rng.choice(SUFFIX[lang])}"

    def lead(self, created: dt.datetime, channel: str, status: str, reason: str, closed: dt.datetime | None,
             owner: int | None, company: str | None = None) -> dict[str, Any]:  # fmt: skip
        rng, lang = self.rng, self.lang
        first, last = rng.choice(FIRST[lang]), rng.choice(LAST[lang])
        if company is None:
            company = self.company() if rng.random() < 0.8 else ""
        latin = f"{LATIN.get(first, first)}.{LATIN.get(last, last)}".lower()
        email = f"{latin}{rng.randrange(100)}@example.com" if channel != PHONE or rng.random() < 0.3 else ""
        digits = f"{rng.choice(('50', '66', '67', '68', '73', '93', '95', '97'))}{rng.randrange(10**7):07d}"
        phone_key = f"+380{digits}" if channel in (PHONE, REFERRAL) or rng.random() < 0.6 else ""
        phone = f"+380 {digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}" if phone_key else ""
        found = self.campaign_for(channel, created.date()) if channel in (CAMPAIGN, WEB_FORM, EMAIL, REFERRAL) else None
        if channel == CAMPAIGN and found is None:
            channel = WEB_FORM
        utm = rng.choice(UTM_SOURCES.get(channel, (("", ""),)))
        consent = channel in (WEB_FORM, CAMPAIGN, EMAIL) and rng.random() < 0.6
        if owner is None and status == "new" and self.queue is not None and rng.random() < 0.6:
            owner_user, owner_team = None, self.queue
        else:
            owner_user, owner_team = owner or rng.choice(self.owners), None
        message = rng.choice(MESSAGES[lang]).format(n=rng.randrange(3, 40))
        payload = {"source": channel, "first_name": first, "last_name": last, "email": email, "phone": phone,
                   "company": company, "message": message}  # fmt: skip
        return {
            "name": f"{first} {last}", "name_key": search_key(f"{first} {last}"), "first_name": first,
            "last_name": last, "job_title": rng.choice(TITLES[lang]) if rng.random() < 0.5 else "",
            "company": company, "company_key": organisation_key(company) if company else "",
            "email": email, "email_key": email, "phone": phone, "phone_key": phone_key, "website": "",
            "city": rng.choice(CITIES[lang]), "country": "UA", "message": message, "channel": channel,
            "campaign_id": found[0] if found else None, "utm_source": utm[0] if found or channel == WEB_FORM else "",
            "utm_medium": utm[1] if found or channel == WEB_FORM else "", "utm_campaign": found[1] if found else "",
            "utm_term": "", "utm_content": "", "referrer": "https://www.google.com/" if utm[0] == "google" else "",
            "external_ref": f"crm-{rng.randrange(10**6)}" if channel == API else "", "payload": payload,
            "status": status, "disqualify_reason": reason, "disqualify_note": "",
            "marketing_consent": consent, "consent_at": created if consent else None,
            "consent_text": CONSENT[lang] if consent else "", "closed_at": closed,
            "closed_by_id": (owner_user or rng.choice(self.owners)) if closed else None,
            "created_at": created, "updated_at": closed or created, "owner_user_id": owner_user,
            "owner_team_id": owner_team,
        }  # fmt: skip
