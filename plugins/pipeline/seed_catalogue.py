"""Demo products (about forty, with UAH, EUR and USD list prices) and exchange rates for the seeded period.

The catalogue is what a Ukrainian business-software and equipment reseller sells: licences and
subscriptions, implementation services, hardware and support. Prices are in hryvnias and converted at a
round rate into EUR and USD list prices (rounded to whole units, as price lists are).

Rates: one a day for EUR and USD against the company's base currency over the seeded years, a gentle random
walk around 44.5 UAH per euro and 41 UAH per dollar, written only when the table holds no rate for that
currency yet (a deployment's real rates are never overwritten).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from voronka.core.models_company import ExchangeRate
from voronka.core.search_keys import search_key
from voronka.core.seeding import SeedContext
from voronka.core.types import utcnow

from .models import Product, ProductPrice

VAT_BP = 2000
"""Ukrainian VAT, 20 %."""
UAH_PER = {"UAH": 1.0, "EUR": 44.5, "USD": 41.0}
"""Roughly what a unit of each currency cost in hryvnias in 2025-2026: the centre of the seeded walk."""


@dataclass(frozen=True)
class Item:
    code: str
    name: dict[str, str]
    category: dict[str, str]
    unit: dict[str, str]
    price_uah: int
    """List price in whole hryvnias."""


def _item(code: str, en: str, uk: str, cat: tuple[str, str], unit: tuple[str, str], price: int) -> Item:
    return Item(code, {"en": en, "uk": uk}, {"en": cat[0], "uk": cat[1]}, {"en": unit[0], "uk": unit[1]}, price)


SOFTWARE, SERVICES, HARDWARE, SUPPORT = ("Software", "Програмне забезпечення"), ("Services", "Послуги"), (
    "Hardware", "Обладнання"), ("Support", "Підтримка")  # fmt: skip
SEAT, MONTH, HOUR, PIECE, YEAR, PROJECT = ("seat", "місце"), ("month", "міс."), ("hour", "год"), ("pc", "шт."), (
    "year", "рік"), ("project", "проєкт")  # fmt: skip

ITEMS: tuple[Item, ...] = (
    _item("CRM-STD", "CRM Standard licence", "Ліцензія CRM Стандарт", SOFTWARE, SEAT, 4_800),
    _item("CRM-PRO", "CRM Professional licence", "Ліцензія CRM Професійна", SOFTWARE, SEAT, 8_900),
    _item("CRM-ENT", "CRM Enterprise licence", "Ліцензія CRM Корпоративна", SOFTWARE, SEAT, 14_500),
    _item("CRM-SUB-M", "CRM subscription, monthly", "Підписка CRM, щомісячна", SOFTWARE, MONTH, 650),
    _item("CRM-SUB-Y", "CRM subscription, yearly", "Підписка CRM, річна", SOFTWARE, YEAR, 6_900),
    _item("ERP-FIN", "ERP Finance module", "Модуль ERP Фінанси", SOFTWARE, SEAT, 12_400),
    _item("ERP-WMS", "ERP Warehouse module", "Модуль ERP Склад", SOFTWARE, SEAT, 11_200),
    _item("ERP-HR", "ERP HR and payroll module", "Модуль ERP Кадри і зарплата", SOFTWARE, SEAT, 9_800),
    _item("BI-DASH", "BI dashboards", "BI-панелі", SOFTWARE, SEAT, 5_600),
    _item("DOC-FLOW", "Electronic document flow", "Електронний документообіг", SOFTWARE, SEAT, 3_200),
    _item("MAIL-ARCH", "Mail archive", "Архів пошти", SOFTWARE, YEAR, 18_000),
    _item("API-GW", "Integration gateway", "Інтеграційний шлюз", SOFTWARE, YEAR, 46_000),
    _item("MOB-APP", "Mobile sales app", "Мобільний застосунок для продажів", SOFTWARE, SEAT, 2_400),
    _item("EDI-PACK", "EDI package", "Пакет EDI", SOFTWARE, YEAR, 27_500),
    _item("SEC-SSO", "Single sign-on", "Єдиний вхід (SSO)", SOFTWARE, YEAR, 21_000),
    _item("IMPL-S", "Implementation, small", "Впровадження, мале", SERVICES, PROJECT, 65_000),
    _item("IMPL-M", "Implementation, medium", "Впровадження, середнє", SERVICES, PROJECT, 180_000),
    _item("IMPL-L", "Implementation, large", "Впровадження, велике", SERVICES, PROJECT, 520_000),
    _item("CONS-H", "Consulting", "Консалтинг", SERVICES, HOUR, 2_200),
    _item("DEV-H", "Custom development", "Розробка на замовлення", SERVICES, HOUR, 1_900),
    _item("MIGR", "Data migration", "Міграція даних", SERVICES, PROJECT, 48_000),
    _item("TRAIN-D", "Training day", "День навчання", SERVICES, PIECE, 14_000),
    _item("AUDIT", "Sales process audit", "Аудит процесу продажів", SERVICES, PROJECT, 36_000),
    _item("INTEG", "1C / BAS integration", "Інтеграція з 1С / BAS", SERVICES, PROJECT, 72_000),
    _item("SRV-1U", "Rack server 1U", "Стійковий сервер 1U", HARDWARE, PIECE, 148_000),
    _item("SRV-2U", "Rack server 2U", "Стійковий сервер 2U", HARDWARE, PIECE, 236_000),
    _item("NAS-8", "NAS, 8 bays", "Мережеве сховище на 8 дисків", HARDWARE, PIECE, 96_000),
    _item("UPS-3K", "UPS 3 kVA", "ДБЖ 3 кВА", HARDWARE, PIECE, 38_500),
    _item("SW-48", "Switch, 48 ports", "Комутатор на 48 портів", HARDWARE, PIECE, 54_000),
    _item("WIFI-AP", "Wi-Fi access point", "Точка доступу Wi-Fi", HARDWARE, PIECE, 7_900),
    _item("LAPTOP", "Business laptop", "Бізнес-ноутбук", HARDWARE, PIECE, 46_000),
    _item("POS-TERM", "POS terminal", "POS-термінал", HARDWARE, PIECE, 18_500),
    _item("SCAN-2D", "2D barcode scanner", "Сканер 2D-кодів", HARDWARE, PIECE, 6_400),
    _item("PRN-LBL", "Label printer", "Принтер етикеток", HARDWARE, PIECE, 11_800),
    _item("GEN-5K", "Generator 5 kW", "Генератор 5 кВт", HARDWARE, PIECE, 64_000),
    _item("SUP-BAS", "Support, basic", "Підтримка, базова", SUPPORT, MONTH, 4_500),
    _item("SUP-EXT", "Support, extended", "Підтримка, розширена", SUPPORT, MONTH, 11_000),
    _item("SUP-247", "Support, 24/7", "Підтримка 24/7", SUPPORT, MONTH, 26_000),
    _item("SLA-HW", "Hardware service contract", "Сервісний контракт на обладнання", SUPPORT, YEAR, 32_000),
    _item("HOST-VM", "Hosted virtual server", "Віртуальний сервер у хмарі", SUPPORT, MONTH, 3_600),
)


def seed_products(ctx: SeedContext) -> list[tuple[int, Item]]:
    """The catalogue with a price in each currency; (product id, item) in catalogue order."""
    lang = "uk" if ctx.language == "uk" else "en"
    now = utcnow()
    rows = [{"code": item.code, "name": item.name[lang], "name_key": search_key(item.name[lang]),
             "category": item.category[lang], "description": "", "unit": item.unit[lang], "tax_rate_bp": VAT_BP,
             "active": True, "created_at": now, "updated_at": now, "version": 1, "custom": {}}
            for item in ITEMS]  # fmt: skip
    ids = ctx.bulk_insert(Product.__table__, rows, returning_ids=True)
    prices = [{"product_id": pid, "currency": code, "unit_price_minor": price_in(item, code)}
              for pid, item in zip(ids, ITEMS, strict=True) for code in UAH_PER]  # fmt: skip
    ctx.bulk_insert(ProductPrice.__table__, prices)
    return list(zip(ids, ITEMS, strict=True))


def price_in(item: Item, currency: str) -> int:
    """The list price in minor units: hryvnias as they are, EUR and USD at the round rate, whole units."""
    if currency == "UAH":
        return item.price_uah * 100
    return max(1, round(item.price_uah / UAH_PER[currency])) * 100


def seed_rates(ctx: SeedContext, base: str, first: dt.date, last: dt.date) -> int:
    """A rate a day for each demo currency other than ``base`` that has no rate yet; rows written."""
    rng = random.Random(ctx.rng.getrandbits(32))  # its own: what follows is the same with or without rates
    if base not in UAH_PER:
        return 0  # no sensible walk for another base currency; such a deployment brings its own rates
    have = set(ctx.session.scalars(select(ExchangeRate.currency).distinct()))
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for code in UAH_PER:
        if code == base or code in have:
            continue
        level = 1.0
        day = first
        while day <= last:
            level = min(1.06, max(0.94, level + (rng.random() - 0.5) * 0.004))
            rate = UAH_PER[code] * level / UAH_PER[base]
            rows.append({"currency": code, "valid_on": day, "rate": str(Decimal(f"{rate:.4f}").normalize()),
                         "created_at": now})  # fmt: skip
            day += dt.timedelta(days=1)
    return ctx.bulk_insert(ExchangeRate.__table__, rows) if rows else 0
