"""Names for demo organisations: Ukrainian and English brands, lines of business, legal forms, industries,
registration numbers and web domains.

A holding's members share its brand ("Агрохолдинг «Поділля»" owns "ТОВ «Поділля Агро»" and "ТОВ «Поділля
Логістик»"), so its tree reads like one on the card.
"""

from __future__ import annotations

from random import Random

from voronka.core.search_keys import search_key

UK_BRANDS: tuple[str, ...] = (
    "Дніпро", "Київ", "Карпати", "Поділля", "Слобожанщина", "Таврія", "Полісся", "Буковина", "Волинь",
    "Галичина", "Світанок", "Злагода", "Колос", "Нива", "Лан", "Джерело", "Берег", "Вектор", "Альянс", "Мрія",
    "Зоря", "Промінь", "Сокіл", "Явір", "Граніт", "Оріон", "Астра", "Стожари", "Калина", "Барвінок", "Говерла",
    "Чайка", "Ятрань", "Смерічка", "Вербена", "Оберіг", "Прометей", "Енергія", "Прогрес", "Десна", "Рось",
    "Ворскла", "Славутич", "Хортиця", "Либідь", "Синевир", "Черемош", "Інтеграл", "Меридіан", "Горизонт",
    "Сварог", "Лелека", "Кобзар", "Криниця", "Веселка", "Медобор", "Троянда", "Престиж", "Фортеця", "Сіверянка",
)  # fmt: skip

UK_LINES: tuple[tuple[str, str], ...] = (  # (the name's second word, the industry it suggests)
    ("Агро", "Сільське господарство"), ("Буд", "Будівництво"), ("Трейд", "Оптова торгівля"),
    ("Постач", "Оптова торгівля"), ("Метал", "Металургія"), ("Пром", "Виробництво"),
    ("Логістик", "Логістика"), ("Сервіс", "Послуги"), ("Фарм", "Фармацевтика"), ("Енерго", "Енергетика"),
    ("Транс", "Логістика"), ("Хліб", "Харчова промисловість"), ("Молоко", "Харчова промисловість"),
    ("Текстиль", "Легка промисловість"), ("Деревина", "Деревообробка"), ("Пак", "Пакування"),
    ("Софт", "Інформаційні технології"), ("Системс", "Інформаційні технології"), ("Інвест", "Фінанси"),
    ("Консалт", "Консалтинг"), ("Маркет", "Роздрібна торгівля"), ("Тех", "Виробництво"),
    ("Мед", "Охорона здоров'я"), ("Авто", "Автомобільна торгівля"), ("Кава", "Харчова промисловість"),
    ("Тур", "Туризм"), ("Плюс", "Оптова торгівля"), ("Експорт", "Оптова торгівля"),
)  # fmt: skip

# (short form, full form, share in a thousand): most Ukrainian firms are ТОВ.
UK_FORMS: tuple[tuple[str, str, int], ...] = (
    ("ТОВ", "Товариство з обмеженою відповідальністю", 640), ("ПП", "Приватне підприємство", 120),
    ("ПрАТ", "Приватне акціонерне товариство", 60), ("АТ", "Акціонерне товариство", 40),
    ("ФОП", "Фізична особа-підприємець", 90), ("ТзОВ", "Товариство з обмеженою відповідальністю", 30),
    ("ДП", "Дочірнє підприємство", 20),
)  # fmt: skip

UK_HOLDING_WORDS = ("Агрохолдинг", "Група компаній", "Холдинг", "Корпорація")

EN_BRANDS: tuple[str, ...] = (
    "Northwind", "Blue Harbour", "Summit", "Greenfield", "Oakridge", "Silverline", "Redwood", "Brightwater",
    "Kingsbridge", "Riverside", "Ashford", "Highgate", "Westbrook", "Stonegate", "Lakeside", "Pinecrest",
    "Granite", "Beacon", "Meridian", "Harbourview", "Evergreen", "Crescent", "Maple", "Falcon", "Sterling",
    "Atlas", "Orion", "Horizon", "Pioneer", "Keystone", "Thornbury", "Fairview", "Wexford", "Cobalt", "Larkspur",
    "Northgate", "Bramley", "Halcyon", "Ironbridge", "Copperfield",
)  # fmt: skip

EN_LINES: tuple[tuple[str, str], ...] = (
    ("Logistics", "Logistics"), ("Foods", "Food and drink"), ("Trading", "Wholesale"),
    ("Engineering", "Engineering"), ("Consulting", "Consulting"), ("Systems", "Information technology"),
    ("Pharma", "Pharmaceuticals"), ("Energy", "Energy"), ("Construction", "Construction"), ("Retail", "Retail"),
    ("Media", "Media"), ("Capital", "Financial services"), ("Analytics", "Information technology"),
    ("Textiles", "Textiles"), ("Packaging", "Packaging"), ("Clinics", "Healthcare"), ("Software", "Software"),
    ("Supplies", "Wholesale"), ("Marine", "Shipping"), ("Agritech", "Agriculture"), ("Metals", "Metals"),
)  # fmt: skip

EN_FORMS = {"GB": ("Ltd", "Limited", "PLC", "Ltd"), "US": ("LLC", "Inc.", "Corp.", "LLC")}
EN_HOLDING_WORDS = ("Group", "Holdings")

UA_TLDS = ("com.ua", "ua", "com.ua", "kiev.ua")


def slug(text: str) -> str:
    """A domain label from a name: "Поділля Агро" → "podillia-ahro"."""
    return "-".join("".join(ch for ch in word if ch.isalnum()) for word in search_key(text).split()) or "firma"


def uk_form(rng: Random) -> tuple[str, str]:
    pick, total = rng.random() * 1000, 0
    for short, full, share in UK_FORMS:
        total += share
        if pick < total:
            return short, full
    return UK_FORMS[0][0], UK_FORMS[0][1]


def edrpou(rng: Random) -> str:
    """An 8-digit ЄДРПОУ code (the Ukrainian company register number)."""
    return str(10_000_000 + int(rng.random() * 89_999_999))


def registration(country: str, rng: Random) -> str:
    if country == "UA":
        return edrpou(rng)
    if country == "GB":
        return str(int(rng.random() * 16_000_000)).zfill(8)  # Companies House number
    return f"{10 + int(rng.random() * 89)}-{int(rng.random() * 10_000_000):07d}"  # an EIN


__all__ = [
    "EN_BRANDS", "EN_FORMS", "EN_HOLDING_WORDS", "EN_LINES", "UA_TLDS", "UK_BRANDS", "UK_FORMS",
    "UK_HOLDING_WORDS", "UK_LINES", "edrpou", "registration", "slug", "uk_form",
]  # fmt: skip
