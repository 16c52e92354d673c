"""Path parameters of Voronka's routes: ``{name:int}`` is a record id, bounded to what the database holds.

Starlette's own ``int`` convertor takes any number of digits; an id past the 32-bit ``integer`` columns of
PostgreSQL then fails inside the query (a 500) instead of meaning "no such record". Registered when
``voronka.core`` is imported, so every route built afterwards (core's, web's, plugins') gets it.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

ID_MAX = 2**31 - 1


class RecordIdConvertor(Convertor[int]):
    """Up to ten digits; a value past :data:`ID_MAX` becomes 0, an id no record has, so the page is a 404."""

    regex = "[0-9]{1,10}"

    def convert(self, value: str) -> int:
        number = int(value)
        return number if number <= ID_MAX else 0

    def to_string(self, value: int) -> str:
        number = int(value)
        if not 0 <= number <= ID_MAX:
            raise ValueError(f"{number} is not a record id")
        return str(number)


register_url_convertor("int", RecordIdConvertor())
