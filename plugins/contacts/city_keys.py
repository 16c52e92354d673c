"""The city key of a party: its city folded as names are ("Київ", "київ" and "Kyiv" all give "kyiv").

It is kept on the party row (``contacts_party.city_key``, index ``(kind, city_key, id)``) so a list searched
by city reads one index range in key order, as a name search does, instead of joining every address in the
city to find the few of the listed kind. The party's city is its primary address's city (``points`` keeps
them in step), which is what the list's City column shows.

:func:`city_key` is the one place the key is computed: the model keeps it in step on every ORM write (see
``models``), the seed writes it with its bulk rows and migration ``contacts_0003`` filled existing rows.
"""

from __future__ import annotations

from voronka.core.search_keys import search_key

CITY_KEY_MAX = 120
"""The column's length. A folded key can be longer than the city (щ → shch); a longer one is cut, which
only means a query longer than 120 folded characters does not find that city."""


def city_key(city: str | None) -> str:
    """The search key of ``city``: lower case, Latin letters, single spaces; "" for no city."""
    return search_key(city or "")[:CITY_KEY_MAX].rstrip()
