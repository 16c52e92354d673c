"""A quote's or an order's totals always come from its lines.

The lines are priced and rounded by :mod:`.pricing`, and :mod:`.quotes` and :mod:`.orders` write the header
totals from them in the same transaction, inside :func:`priced_write`. Any other write of a total (core's
import, the API, a bulk update) would leave a header that disagrees with its lines, so ``before_save``
refuses it with a message saying where totals are changed. Refusing rather than recomputing: an import
that carries totals means something the lines do not say, and silently replacing the figure would hide it.
A new quote or order written without lines may carry zero totals (what its no lines add up to).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _

from .models import Order, Quote

TOTALS = ("subtotal_minor", "discount_minor", "tax_minor", "total_minor")
_KEY = "voronka.pipeline.priced_write"


@contextlib.contextmanager
def priced_write(session: Session) -> Iterator[None]:
    """Writes of totals computed from the lines (by this plugin's quote and order code) inside this block."""
    session.info[_KEY] = session.info.get(_KEY, 0) + 1
    try:
        yield
    finally:
        session.info[_KEY] -= 1


def before_save(session: Session, record: Any, changes: dict[str, Any]) -> None:
    """Refuse a change of a quote's or an order's totals made outside :func:`priced_write`."""
    if not isinstance(record, (Quote, Order)) or session.info.get(_KEY):
        return
    touched = [name for name in TOTALS if name in changes]
    if not touched:
        return
    if getattr(record, "id", None) is None and not any(changes[name][1] for name in touched):
        return  # a new header without lines: zero totals are what its lines add up to
    if isinstance(record, Quote):
        text = _("A quote's totals are worked out from its lines and cannot be written directly: leave them "
                 "out, and change the lines on the quote's page.")  # fmt: skip
    else:
        text = _("An order's totals come from the lines of its accepted quote and cannot be written directly: "
                 "leave them out.")  # fmt: skip
    raise ValidationError(dict.fromkeys(touched, text))
