"""Names for demo people: Ukrainian first names with their patronymics, surnames with their gendered forms,
English first names and surnames, and job titles with how much say each has in a purchase.

Written for the seed (:mod:`.seed`); every list is plain data, so a demo reads like a real customer base:
"Олена Іванівна Ковальська", "Тарас Шевчук", "Emma Wilson".
"""

from __future__ import annotations

import functools

# A man's name with the patronymic it gives his son and his daughter (Петро → Петрович / Петрівна).
UK_MALE: tuple[tuple[str, str, str], ...] = (
    ("Олександр", "Олександрович", "Олександрівна"), ("Андрій", "Андрійович", "Андріївна"),
    ("Дмитро", "Дмитрович", "Дмитрівна"), ("Сергій", "Сергійович", "Сергіївна"),
    ("Володимир", "Володимирович", "Володимирівна"), ("Михайло", "Михайлович", "Михайлівна"),
    ("Іван", "Іванович", "Іванівна"), ("Юрій", "Юрійович", "Юріївна"), ("Олег", "Олегович", "Олегівна"),
    ("Віктор", "Вікторович", "Вікторівна"), ("Василь", "Васильович", "Василівна"),
    ("Петро", "Петрович", "Петрівна"), ("Микола", "Миколайович", "Миколаївна"),
    ("Богдан", "Богданович", "Богданівна"), ("Тарас", "Тарасович", "Тарасівна"),
    ("Ярослав", "Ярославович", "Ярославівна"), ("Роман", "Романович", "Романівна"),
    ("Максим", "Максимович", "Максимівна"), ("Артем", "Артемович", "Артемівна"),
    ("Денис", "Денисович", "Денисівна"), ("Євген", "Євгенович", "Євгенівна"),
    ("Віталій", "Віталійович", "Віталіївна"), ("Ігор", "Ігорович", "Ігорівна"),
    ("Павло", "Павлович", "Павлівна"), ("Костянтин", "Костянтинович", "Костянтинівна"),
    ("Анатолій", "Анатолійович", "Анатоліївна"), ("Григорій", "Григорович", "Григорівна"),
    ("Степан", "Степанович", "Степанівна"), ("Остап", "Остапович", "Остапівна"),
    ("Назар", "Назарович", "Назарівна"), ("Данило", "Данилович", "Данилівна"),
    ("Кирило", "Кирилович", "Кирилівна"), ("Орест", "Орестович", "Орестівна"),
    ("Олексій", "Олексійович", "Олексіївна"), ("Руслан", "Русланович", "Русланівна"),
    ("Вадим", "Вадимович", "Вадимівна"), ("Валерій", "Валерійович", "Валеріївна"),
    ("Леонід", "Леонідович", "Леонідівна"), ("Ілля", "Ілліч", "Іллівна"), ("Матвій", "Матвійович", "Матвіївна"),
    ("Любомир", "Любомирович", "Любомирівна"), ("Святослав", "Святославович", "Святославівна"),
)  # fmt: skip

UK_FEMALE: tuple[str, ...] = (
    "Олена", "Оксана", "Наталія", "Ірина", "Тетяна", "Юлія", "Світлана", "Катерина", "Марія", "Анна", "Ольга",
    "Людмила", "Галина", "Вікторія", "Надія", "Софія", "Дарина", "Анастасія", "Христина", "Ярослава", "Леся",
    "Соломія", "Зоряна", "Мар'яна", "Роксолана", "Валентина", "Лариса", "Інна", "Алла", "Віра", "Любов",
    "Тамара", "Богдана", "Уляна", "Діана", "Поліна", "Аліна", "Вероніка", "Євгенія", "Іванна", "Олеся",
)  # fmt: skip

# Surnames the same for a man and a woman (most Ukrainian ones: -енко, -ук, -чук, -ко…).
UK_SURNAMES: tuple[str, ...] = (
    "Коваленко", "Шевченко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Шевчук", "Поліщук", "Бойко",
    "Ткачук", "Савченко", "Руденко", "Мельник", "Кравчук", "Петренко", "Лисенко", "Марченко", "Мороз",
    "Павленко", "Гнатюк", "Левченко", "Клименко", "Харченко", "Сидоренко", "Гуменюк", "Романенко",
    "Василенко", "Пономаренко", "Захарченко", "Мазур", "Костенко", "Литвиненко", "Юрченко", "Савчук",
    "Карпенко", "Тимошенко", "Гаврилюк", "Остапчук", "Дячук", "Козак", "Іваненко", "Федоренко", "Семенко",
    "Вакуленко", "Зінченко", "Приходько", "Білик", "Головко", "Кушнір", "Лук'яненко", "Панченко",
    "Дорошенко", "Онищенко", "Степаненко", "Яковенко", "Мартинюк", "Максимчук", "Нестеренко", "Фесенко",
    "Стельмах", "Возняк", "Гончар", "Коваль", "Кузьменко", "Демченко", "Сорока", "Гребенюк", "Ярошенко",
    "Гайдук", "Осадчук", "Слюсар", "Жук", "Ковальчук", "Собко", "Назаренко", "Бабенко", "Чорновол",
)  # fmt: skip

# Surnames with a man's and a woman's form (-ський/-ська, -ий/-а, -ов/-ова…).
UK_SURNAMES_GENDERED: tuple[tuple[str, str], ...] = (
    ("Ковальський", "Ковальська"), ("Вишневський", "Вишневська"), ("Грушевський", "Грушевська"),
    ("Яворський", "Яворська"), ("Кобилянський", "Кобилянська"), ("Білецький", "Білецька"),
    ("Садовський", "Садовська"), ("Левицький", "Левицька"), ("Липинський", "Липинська"),
    ("Лозинський", "Лозинська"), ("Городецький", "Городецька"), ("Козловський", "Козловська"),
    ("Чорний", "Чорна"), ("Білий", "Біла"), ("Сірий", "Сіра"), ("Рудий", "Руда"),
    ("Петров", "Петрова"), ("Соколов", "Соколова"), ("Волков", "Волкова"), ("Крутий", "Крута"),
    ("Заїчківський", "Заїчківська"), ("Тернопільський", "Тернопільська"), ("Вербицький", "Вербицька"),
)  # fmt: skip

EN_MALE: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Thomas", "Charles", "Daniel",
    "Matthew", "Andrew", "George", "Oliver", "Harry", "Jack", "Samuel", "Benjamin", "Edward", "Henry",
    "Christopher", "Joseph", "Peter", "Mark", "Paul", "Steven", "Jonathan", "Adam", "Luke", "Ryan", "Patrick",
    "Simon", "Alexander", "Nathan", "Owen",
)  # fmt: skip

EN_FEMALE: tuple[str, ...] = (
    "Mary", "Emma", "Olivia", "Sophie", "Emily", "Charlotte", "Jessica", "Sarah", "Elizabeth", "Amelia", "Grace",
    "Hannah", "Lucy", "Rachel", "Laura", "Rebecca", "Chloe", "Victoria", "Katherine", "Jennifer", "Linda",
    "Susan", "Karen", "Helen", "Anna", "Megan", "Natalie", "Alice", "Claire", "Isabella", "Eleanor", "Fiona",
)  # fmt: skip

EN_SURNAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Taylor", "Davies", "Evans", "Wilson", "Thomas",
    "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall",
    "Wood", "Harris", "Clarke", "Jackson", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King",
    "Baker", "Carter", "Mitchell", "Anderson", "Martin", "Lee", "Parker", "Collins", "Stewart", "O'Brien",
    "Murphy", "Kelly", "Campbell", "Bennett", "Cook", "Bell", "Price", "Fletcher", "Russell", "Miller", "Davis",
    "Garcia", "Lewis", "Young", "Allen", "Scott", "Adams", "Nelson", "Hughes-Jones", "MacDonald", "Fraser",
)  # fmt: skip

# Job titles with the say each has in a purchase: 2 decides, 1 influences, 0 neither.
UK_TITLES: tuple[tuple[str, int], ...] = (
    ("Генеральний директор", 2), ("Директор", 2), ("Комерційний директор", 2), ("Фінансовий директор", 2),
    ("Власник", 2), ("Головний бухгалтер", 1), ("Начальник відділу закупівель", 1), ("ІТ-директор", 1),
    ("Головний інженер", 1), ("Керівник відділу логістики", 1), ("Начальник виробництва", 1),
    ("Менеджер із закупівель", 0), ("Бухгалтер", 0), ("Менеджер з продажу", 0), ("Юрист", 0),
    ("Інженер", 0), ("Логіст", 0), ("Маркетолог", 0), ("HR-менеджер", 0), ("Системний адміністратор", 0),
    ("Офіс-менеджер", 0), ("Помічник керівника", 0), ("Технолог", 0), ("Економіст", 0), ("Аналітик", 0),
    ("Провідний спеціаліст", 0), ("Завідувач складу", 0),
)  # fmt: skip

EN_TITLES: tuple[tuple[str, int], ...] = (
    ("Chief Executive Officer", 2), ("Managing Director", 2), ("Commercial Director", 2), ("Finance Director", 2),
    ("Owner", 2), ("Head of Procurement", 1), ("IT Director", 1), ("Chief Engineer", 1), ("Head of Operations", 1),
    ("Financial Controller", 1), ("Procurement Manager", 0), ("Purchasing Officer", 0), ("Sales Manager", 0),
    ("Account Manager", 0), ("Operations Manager", 0), ("Office Manager", 0), ("Legal Counsel", 0),
    ("Logistics Coordinator", 0), ("Marketing Manager", 0), ("HR Manager", 0), ("Systems Administrator", 0),
    ("Executive Assistant", 0), ("Product Manager", 0), ("Business Analyst", 0), ("Accountant", 0),
    ("Warehouse Manager", 0),
)  # fmt: skip

# Ukrainian people whose name a colleague typed in Latin letters (passport spelling, 2010 rules).
_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "",
}  # fmt: skip
_FIRST = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_LATIN_TABLE = str.maketrans(_LATIN)


@functools.lru_cache(maxsize=4096)
def latin(word: str) -> str:
    """A Ukrainian word in Latin letters by the national rules (Євген → Yevhen, Юрій → Yurii)."""
    if not word:
        return word
    lower = word.lower()
    head = _FIRST.get(lower[0], lower[0].translate(_LATIN_TABLE))
    return (head + lower[1:].translate(_LATIN_TABLE)).capitalize()


__all__ = [
    "EN_FEMALE", "EN_MALE", "EN_SURNAMES", "EN_TITLES", "UK_FEMALE", "UK_MALE", "UK_SURNAMES",
    "UK_SURNAMES_GENDERED", "UK_TITLES", "latin",
]  # fmt: skip
