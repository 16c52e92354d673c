"""Search keys: names folded and transliterated so "олекс" and "oleks" both find "Олександр".

SQLite's ``lower()`` and ``LIKE`` fold ASCII only, so names are stored a second time as a key: casefolded,
Ukrainian (and Russian) Cyrillic transliterated to Latin, accents stripped. Prefix search is then a byte-wise
range on an indexed column, which both engines answer from a B-tree.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import ColumnElement, and_

# Ukrainian national transliteration (2010), in its position-independent form, plus the Russian letters
# Ukrainian lacks; users type Latin both ways, so one table serves both directions.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "’": "", "ʼ": "",
    "ё": "e", "ы": "y", "э": "e", "ъ": "",
}  # fmt: skip
_TABLE = str.maketrans(_CYRILLIC)
_SPACES = re.compile(r"\s+")


def search_key(text: str | None) -> str:
    """Fold ``text`` into its search key: lower case, Latin letters, no accents, single spaces."""
    if not text:
        return ""
    folded = text.casefold().translate(_TABLE)
    decomposed = unicodedata.normalize("NFKD", folded)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


def prefix_bounds(prefix: str) -> tuple[str, str] | None:
    """The half-open byte range [lo, hi) holding every key that starts with ``prefix``."""
    if not prefix:
        return None
    last = prefix[-1]
    return prefix, prefix[:-1] + chr(ord(last) + 1)


def prefix_filter(column: ColumnElement[str], query: str) -> ColumnElement[bool] | None:
    """A filter for keys starting with the folded ``query``; ``None`` when the query folds to nothing.

    The column must be a :class:`~voronka.core.types.SearchKey` so PostgreSQL compares bytes ("C").
    """
    bounds = prefix_bounds(search_key(query))
    if bounds is None:
        return None
    lo, hi = bounds
    return and_(column >= lo, column < hi)
