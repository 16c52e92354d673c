"""Fuzzy comparison of people's and organisations' names across Cyrillic and Latin spellings.

Names reach the CRM typed by different people in different scripts and romanisations: Олександр, Oleksandr,
Aleksandr, Alexander; Юрій, Yurii, Yuriy, Iurii; ТОВ «Ромашка» and Romashka LLC. Each name is folded to a
*skeleton*: core's search key (casefolded, transliterated, no accents), then the common alternate
romanisations collapsed (kh/h, ii/iy/y, ie/ye, iu/yu, ia/ya, ts/c, zh/j, x/ks, doubled letters). Given names
also go through a small table of Russian-style and English forms of Ukrainian names (Александр → Олександр),
so "the same name" compares equal; the rest is a Jaro-Winkler similarity of skeletons.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from voronka.core.search_keys import search_key

from .duplicate_names import GIVEN_NAME_GROUPS
from .parties import bare_organisation_name, split_name

_NON_LETTERS = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
# Order matters: multi-letter spellings first, then single letters. Placeholders (upper case) keep a
# replaced sound from being rewritten again by a later rule.
_RULES: tuple[tuple[str, str], ...] = (
    ("shch", "SC"), ("sch", "SC"), ("szcz", "SC"), ("tch", "C"), ("dzh", "J"), ("dj", "J"),
    ("zh", "J"), ("sh", "S"), ("sz", "S"), ("ch", "C"), ("cz", "C"), ("kh", "H"), ("gh", "H"),
    ("ts", "T"), ("tz", "T"), ("ph", "f"), ("ck", "k"), ("x", "ks"), ("q", "k"), ("w", "v"),
    ("c", "k"), ("g", "h"), ("j", "y"), ("y", "i"), ("ue", "u"),
)  # fmt: skip
_PLACEHOLDERS = str.maketrans({"S": "sh", "C": "ch", "J": "zh", "H": "h", "T": "ts"})
_DOUBLES = re.compile(r"(.)\1+")
LAST_MIN = 0.85
"""Family names less alike than this are different families (one typo in seven letters still passes)."""


@functools.lru_cache(maxsize=65536)
def skeleton(text: str) -> str:
    """The romanisation-independent form of a name (or of one word of it)."""
    folded = _NON_LETTERS.sub(" ", search_key(text).replace("-", " "))
    folded = _SPACES.sub(" ", folded).strip()
    for old, new in _RULES:
        folded = folded.replace(old, new)
    folded = folded.translate(_PLACEHOLDERS)
    folded = _DOUBLES.sub(r"\1", folded)
    # a final -ii/-iy/-yi/-y has become a single i; ie/ye, iu/yu, ia/ya already agree
    return folded


def _build_given() -> dict[str, str]:
    table: dict[str, str] = {}
    for group in GIVEN_NAME_GROUPS:
        canonical = skeleton(group[0])
        for spelling in group:
            table.setdefault(skeleton(spelling), canonical)
    return table


_GIVEN = _build_given()
_KNOWN = frozenset(_GIVEN.values())


def given(word: str) -> str:
    """The skeleton of a given name, with Russian-style and English forms folded to the Ukrainian one."""
    shape = skeleton(word)
    return _GIVEN.get(shape, shape)


@functools.lru_cache(maxsize=65536)
def similarity(a: str, b: str) -> float:
    """1 minus the edit distance (a swap of neighbours counts once) over the longer length: a typo or a
    transposition costs little, while a different suffix (Savchuk/Savchenko, Kravchuk/Kravchenko: different
    families) costs as many letters as it changes."""
    if a == b:
        return 1.0 if a else 0.0
    if not a or not b:
        return 0.0
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return 1 - row[len(b)] / max(len(a), len(b))


@dataclass(frozen=True)
class PersonName:
    """A person's name as compared: skeletons of the given name(s) and the family name."""

    first: str
    last: str
    middle: str = ""

    @property
    def empty(self) -> bool:
        return not (self.first or self.last)


def person_name(first: str = "", last: str = "", middle: str = "", whole: str = "") -> PersonName:
    """Name parts as typed (or a whole name in one box) to their compared form."""
    if not (first or last) and whole:
        parts = split_name(whole)
        first, middle, last = parts["first_name"], parts["middle_name"], parts["last_name"]
    return PersonName(_given_words(first), skeleton(last), _given_words(middle))


def _given_words(text: str) -> str:
    return " ".join(given(word) for word in _SPACES.split(search_key(text).replace(".", ". ")) if word.strip(". "))


def _is_initial(word: str) -> bool:
    return len(word.replace(".", "").replace(" ", "")) <= 2


@functools.lru_cache(maxsize=65536)
def _last_names_agree(a: str, b: str) -> float:
    """Family names alike; a double one (Коваленко-Шевчук, taken at marriage) agrees a little less with
    either of its halves."""
    if _is_initial(a) or _is_initial(b):
        return _initial_agrees(a, b)
    whole = similarity(a, b)
    if " " not in a and " " not in b:
        return whole
    halves = max(similarity(x, y) for x in a.split(" ") for y in b.split(" "))
    return max(whole, 0.9 * halves)


def _initial_agrees(a: str, b: str) -> float:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    short = short.replace(".", "").replace(" ", "")
    return 0.9 if short and long.startswith(short) else 0.0


def _first_names_agree(a: str, b: str) -> float:
    """How well two given names agree: an initial agrees with a name starting with it."""
    if not a or not b:
        return 0.6  # one side has no given name: neither for nor against
    a_head, b_head = a.split(" ")[0], b.split(" ")[0]
    if _is_initial(a_head) or _is_initial(b_head):
        return _initial_agrees(a_head, b_head)
    if a_head in _KNOWN and b_head in _KNOWN and a_head != b_head:
        return 0.0  # two names the table knows, and not spellings of one (Олександр and Олександра)
    return similarity(a_head, b_head)


def _ordered_score(a: PersonName, b: PersonName) -> float:
    if not a.last or not b.last:
        if a.last or b.last:  # one has only one word: compare it with both words of the other
            return 0.0
        return 0.9 * similarity(a.first, b.first)
    last = _last_names_agree(a.last, b.last)
    if last < LAST_MIN:
        return last * 0.5
    first = _first_names_agree(a.first, b.first)
    if first < 0.8:
        return min(last, first) * 0.7
    if all(_is_initial(w) for w in (a.first, a.last)) or all(_is_initial(w) for w in (b.first, b.last)):
        return 0.7  # "O. K.": too little to say on its own
    return 0.5 * last + 0.5 * first


HIGH = 0.7
"""Above this, a score needs the family names to agree: see :func:`may_score_high`."""


def may_score_high(a: PersonName, b: PersonName) -> bool:
    """False when ``person_score(a, b)`` is surely at most :data:`HIGH`: neither order of ``b``'s name has a
    family name agreeing with ``a``'s (:data:`LAST_MIN`), which any score above it needs (the one-word case
    tops out at 0.7). Two cached look-ups, so a check among hundreds of people at one organisation scores
    only the few that may match."""
    if not a.last or not b.last or not b.first:
        return True  # the one-word and no-family-name cases: score them
    return _last_names_agree(a.last, b.last) >= LAST_MIN or _last_names_agree(a.last, b.first) >= LAST_MIN


def person_score(a: PersonName, b: PersonName) -> float:
    """How likely two names name the same person, 0..1; the first/last order may be swapped."""
    if a.empty or b.empty:
        return 0.0
    straight = _ordered_score(a, b)
    swapped = _ordered_score(a, PersonName(first=b.last, last=b.first))
    one_word = 0.0
    if not b.last and a.last:  # "Шевченко" alone against "Олександр Шевченко"
        one_word = 0.7 * max(similarity(b.first, a.last), similarity(b.first, a.first))
    elif not a.last and b.last:
        one_word = 0.7 * max(similarity(a.first, b.last), similarity(a.first, b.first))
    return max(straight, swapped * 0.98, one_word)


LEGAL_WORDS = frozenset(
    [
        "tov",
        "tzov",
        "pp",
        "fop",
        "prat",
        "pat",
        "at",
        "dp",
        "kp",
        "ooo",
        "zao",
        "oao",
        "llc",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "plc",
        "gmbh",
        "ag",
        "kg",
        "sa",
        "sas",
        "bv",
        "oy",
        "ab",
        "co",
        "company",
        "sp",
        "z",
        "o",
        "oo",
        "s",
        "r",
        "sro",
        "spzoo",
    ]
)
"""Legal forms as words of a folded name, wherever they stand ("Bright Solutions Sp. z o.o.")."""


def organisation_key(name: str) -> str:
    """The compared form of an organisation's name: without legal form, quotes and punctuation."""
    words = _NON_LETTERS.sub(" ", search_key(bare_organisation_name(name or ""))).split()
    kept = [w for w in words if w not in LEGAL_WORDS]
    return skeleton(" ".join(kept or words))


def organisation_score(a: str, b: str) -> float:
    """How likely two organisation names (as keys) name the same organisation, 0..1: word by word, so an
    extra or a different word ("Ромашка" and "Ромашка Агро", "Steel Works" and "Steel Trading") tells
    two companies apart while a typo does not."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if a.replace(" ", "") == b.replace(" ", ""):
        return 0.97
    if min(len(a), len(b)) <= 3:  # short names and acronyms: only an exact match counts
        return 0.0
    short, long = sorted((a.split(), b.split()), key=len)
    best = [max(similarity(word, other) for other in long) for word in short]
    score = sum(best) / len(long)
    return score if min(best) >= 0.85 else score * 0.75


__all__ = [
    "PersonName",
    "given",
    "may_score_high",
    "organisation_key",
    "organisation_score",
    "person_name",
    "person_score",
    "similarity",
    "skeleton",
]
