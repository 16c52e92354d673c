"""Places for demo addresses and phone numbers: Ukrainian, British and American cities with their region,
postcode pattern and dialling code, and streets in each country's style.

Phone numbers are made here in E.164 (what ``contacts_point.value_key`` stores) and in the spaced form a
person would type, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random


@dataclass(frozen=True)
class City:
    name: str
    region: str
    country: str
    postcode: str
    """A pattern: ``#`` a digit, ``$`` one of 1–4, ``@`` a capital letter (``0$###`` for Kyiv, ``M# #@@``)."""
    area: str
    """The dialling code of a landline in this city, without the country code (``44`` for Kyiv)."""
    weight: int = 1


UA: tuple[City, ...] = (
    City("Київ", "м. Київ", "UA", "0$###", "44", 20), City("Харків", "Харківська область", "UA", "61###", "57", 6),
    City("Одеса", "Одеська область", "UA", "65###", "48", 6), City("Дніпро", "Дніпропетровська область", "UA",
    "49###", "56", 6), City("Львів", "Львівська область", "UA", "79###", "32", 7),
    City("Запоріжжя", "Запорізька область", "UA", "69###", "61", 3), City("Вінниця", "Вінницька область", "UA",
    "21###", "432", 3), City("Полтава", "Полтавська область", "UA", "36###", "532", 2),
    City("Чернігів", "Чернігівська область", "UA", "14###", "462", 2), City("Черкаси", "Черкаська область", "UA",
    "18###", "472", 2), City("Житомир", "Житомирська область", "UA", "10###", "412", 2),
    City("Суми", "Сумська область", "UA", "40###", "542", 2), City("Хмельницький", "Хмельницька область", "UA",
    "29###", "382", 2), City("Рівне", "Рівненська область", "UA", "33###", "362", 2),
    City("Івано-Франківськ", "Івано-Франківська область", "UA", "76###", "342", 2),
    City("Тернопіль", "Тернопільська область", "UA", "46###", "352", 2), City("Луцьк", "Волинська область", "UA",
    "43###", "332", 2), City("Ужгород", "Закарпатська область", "UA", "88###", "312", 1),
    City("Чернівці", "Чернівецька область", "UA", "58###", "372", 1), City("Кропивницький",
    "Кіровоградська область", "UA", "25###", "522", 1), City("Миколаїв", "Миколаївська область", "UA", "54###",
    "512", 2), City("Біла Церква", "Київська область", "UA", "09###", "4563", 1),
    City("Кременчук", "Полтавська область", "UA", "39###", "536", 1), City("Бровари", "Київська область", "UA",
    "07###", "4594", 1), City("Кам'янець-Подільський", "Хмельницька область", "UA", "32###", "3849", 1),
)  # fmt: skip

GB: tuple[City, ...] = (
    City("London", "England", "GB", "EC#@ #@@", "20", 8), City("Manchester", "England", "GB", "M# #@@", "161", 3),
    City("Birmingham", "England", "GB", "B# #@@", "121", 3), City("Leeds", "England", "GB", "LS# #@@", "113", 2),
    City("Glasgow", "Scotland", "GB", "G# #@@", "141", 2), City("Edinburgh", "Scotland", "GB", "EH# #@@", "131", 2),
    City("Bristol", "England", "GB", "BS# #@@", "117", 2), City("Liverpool", "England", "GB", "L# #@@", "151", 2),
    City("Cardiff", "Wales", "GB", "CF## #@@", "29", 1), City("Belfast", "Northern Ireland", "GB", "BT# #@@",
    "28", 1), City("Cambridge", "England", "GB", "CB# #@@", "1223", 1),
)  # fmt: skip

US: tuple[City, ...] = (
    City("New York", "NY", "US", "100##", "212", 6), City("Chicago", "IL", "US", "606##", "312", 4),
    City("Boston", "MA", "US", "021##", "617", 3), City("Austin", "TX", "US", "787##", "512", 2),
    City("Seattle", "WA", "US", "981##", "206", 2), City("Denver", "CO", "US", "802##", "303", 2),
    City("San Francisco", "CA", "US", "941##", "415", 3), City("Atlanta", "GA", "US", "303##", "404", 2),
    City("Philadelphia", "PA", "US", "191##", "215", 2), City("Miami", "FL", "US", "331##", "305", 2),
)  # fmt: skip

UA_STREETS: tuple[str, ...] = (
    "вул. Хрещатик", "вул. Шевченка", "вул. Івана Франка", "просп. Незалежності", "вул. Грушевського",
    "вул. Соборна", "вул. Героїв Майдану", "бульв. Лесі Українки", "вул. Сагайдачного", "вул. Володимирська",
    "просп. Свободи", "вул. Липинського", "вул. Січових Стрільців", "вул. Замкова", "вул. Садова", "вул. Миру",
    "вул. Центральна", "вул. Київська", "вул. Коновальця", "вул. Мазепи", "вул. Богдана Хмельницького",
    "вул. Пилипа Орлика", "вул. Городоцька", "вул. Личаківська", "вул. Ярославів Вал", "просп. Перемоги",
    "вул. Гоголя", "вул. Степана Бандери", "вул. Лисенка", "вул. Саксаганського", "пров. Музейний",
    "вул. Набережна", "вул. Покровська", "вул. Вокзальна", "вул. Заводська", "вул. Промислова",
)  # fmt: skip

GB_STREETS: tuple[str, ...] = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "King Street", "Queen Street", "Park Avenue",
    "Mill Lane", "London Road", "The Green", "Manor Road", "Albert Road", "Castle Street", "Bridge Street",
    "New Road", "Market Square", "Harbour Way", "Regent Street",
)  # fmt: skip

US_STREETS: tuple[str, ...] = (
    "Main Street", "Oak Street", "Maple Avenue", "Washington Street", "Park Avenue", "Lake Street",
    "Broadway", "Market Street", "Elm Street", "Pine Street", "Cedar Lane", "Madison Avenue", "Pearl Street",
    "Commerce Drive", "Harbor Boulevard",
)  # fmt: skip

UA_MOBILE = ("50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99")
US_PERSONAL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")
UA_PERSONAL = ("ukr.net", "gmail.com", "i.ua", "meta.ua", "outlook.com")
GB_PERSONAL = ("gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk")


def postcode(city: City, rng: Random) -> str:
    out = []
    for ch in city.postcode:
        if ch == "#":
            out.append(str(int(rng.random() * 10)))
        elif ch == "$":
            out.append(str(1 + int(rng.random() * 4)))
        elif ch == "@":
            out.append("ABDEFGHJLNPQRSTUWXYZ"[int(rng.random() * 20)])
        else:
            out.append(ch)
    return "".join(out)


def _digits(rng: Random, n: int) -> str:
    return str(int(rng.random() * 10**n)).zfill(n)


def ua_mobile(rng: Random) -> tuple[str, str]:
    """(E.164, spaced) of a Ukrainian mobile: +380671234567, "+380 67 123 4567"."""
    code, rest = UA_MOBILE[int(rng.random() * len(UA_MOBILE))], _digits(rng, 7)
    return f"+380{code}{rest}", f"+380 {code} {rest[:3]} {rest[3:]}"


def landline(city: City, rng: Random) -> tuple[str, str]:
    """(E.164, spaced) of an office number in ``city``."""
    if city.country == "UA":
        rest = _digits(rng, 9 - len(city.area))
        return f"+380{city.area}{rest}", f"+380 {city.area} {rest[:-4]} {rest[-4:]}"
    if city.country == "GB":
        rest = _digits(rng, 10 - len(city.area))
        rest = str(2 + int(rng.random() * 7)) + rest[1:]
        return f"+44{city.area}{rest}", f"+44 {city.area} {rest[:-4]} {rest[-4:]}"
    exchange = str(2 + int(rng.random() * 8)) + _digits(rng, 2)
    line = _digits(rng, 4)
    return f"+1{city.area}{exchange}{line}", f"+1 {city.area}-{exchange}-{line}"


def mobile(country: str, rng: Random) -> tuple[str, str]:
    """(E.164, spaced) of a mobile number in ``country``."""
    if country == "UA":
        return ua_mobile(rng)
    if country == "GB":
        rest = str(4 + int(rng.random() * 6)) + _digits(rng, 8)
        return f"+447{rest}", f"+44 7{rest[:3]} {rest[3:]}"
    city = US[int(rng.random() * len(US))]
    return landline(city, rng)


def street_address(city: City, rng: Random) -> str:
    """A street line in the country's style: "вул. Шевченка, 12, оф. 305", "12 High Street"."""
    number = 1 + int(rng.random() * (120 if city.country == "UA" else 400))
    if city.country == "UA":
        street = UA_STREETS[int(rng.random() * len(UA_STREETS))]
        office = int(rng.random() * 3)
        tail = f", оф. {1 + int(rng.random() * 520)}" if office == 0 else (f", кв. {1 + int(rng.random() * 90)}"
                                                                         if office == 1 else "")  # fmt: skip
        return f"{street}, {number}{tail}"
    if city.country == "GB":
        return f"{number} {GB_STREETS[int(rng.random() * len(GB_STREETS))]}"
    suite = f", Suite {100 * (1 + int(rng.random() * 20))}" if rng.random() < 0.4 else ""
    return f"{number * 10} {US_STREETS[int(rng.random() * len(US_STREETS))]}{suite}"


def picker(cities: tuple[City, ...]) -> Callable[[Random], City]:
    """A weighted choice of a city (the capital more often than a county town)."""
    pool = [city for city in cities for _ in range(city.weight)]
    return lambda rng: pool[int(rng.random() * len(pool))]


__all__ = [
    "GB", "GB_PERSONAL", "UA", "UA_PERSONAL", "US", "US_PERSONAL", "City", "landline", "mobile", "picker",
    "postcode", "street_address", "ua_mobile",
]  # fmt: skip
